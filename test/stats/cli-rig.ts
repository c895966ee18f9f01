/**
 * A real `switchyard -f` child process serving a stats page on 127.0.0.1, with echo backends, its runtime API on
 * a TCP stats socket, and the headless Chromium that looks at the page. Shared by the browser suite and the
 * script that takes the screenshots of docs/observability.md. Everything it starts it stops, by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { withTimeout } from '../helpers/timeout.js';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await withTimeout(new Promise((r) => s.once('listening', r)), 5000, 'a free port');
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Sends one runtime API command and returns the whole reply. */
export async function runtime(port: number, command: string): Promise<string> {
  return withTimeout(new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let out = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.end(`${command}\n`);
  }), 10_000, `runtime command ${command}`);
}

/** HAProxy's CSV (fields quoted only when needed, quotes doubled) into records keyed by column. */
export function parseShowStat(csv: string): Record<string, string>[] {
  const lines = csv.split('\n').filter((l) => l !== '');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  return lines.slice(1).map((line) => {
    const fields: string[] = [];
    let i = 0;
    while (i < line.length) {
      if (line[i] === '"') {
        let v = '';
        i++;
        while (i < line.length) {
          if (line[i] === '"') {
            if (line[i + 1] !== '"') break;
            i++;
          }
          v += line[i];
          i++;
        }
        fields.push(v);
        i += 2; // the closing quote and the comma
      } else {
        const end = line.indexOf(',', i);
        fields.push(line.slice(i, end < 0 ? line.length : end));
        i = end < 0 ? line.length : end + 1;
      }
    }
    return Object.fromEntries(header.map((h, k) => [h, fields[k] ?? '']));
  });
}

export interface CliRig {
  readonly statsPort: number;
  readonly apiPort: number;
  readonly frontendPort: number;
  readonly pageUrl: string;
  readonly stderr: string[];
  /** `show stat` of the running process. */
  showStat(): Promise<Record<string, string>[]>;
  /** Opens and closes `n` connections through the frontend, each echoing `payload`. */
  traffic(n: number, payload: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts echo backends and `switchyard -f` with a stats section (refresh 2s, auth admin:pw, admin). */
export async function startCliRig(extraServers = ''): Promise<CliRig> {
  const echo = net.createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await withTimeout(new Promise((r) => echo.once('listening', r)), 5000, 'the echo backend');
  const echoPort = (echo.address() as net.AddressInfo).port;
  const [statsPort, apiPort, frontendPort, refused] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-stats-'));
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, [
    'global', `  stats socket 127.0.0.1:${apiPort} level admin`,
    'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 30s', '  timeout server 30s',
    'listen stats', '  mode http', `  bind 127.0.0.1:${statsPort}`, '  stats enable', '  stats uri /stats', '  stats refresh 2s',
    '  stats auth admin:pw', '  stats admin if TRUE', '  stats show-legends',
    'listen web', `  bind 127.0.0.1:${frontendPort}`, '  balance roundrobin',
    `  server s1 127.0.0.1:${echoPort} check inter 500`,
    `  server s2 127.0.0.1:${refused} check inter 500`,
    `  server s3 127.0.0.1:${echoPort}`,
    `  server b1 127.0.0.1:${echoPort} backup`,
    `  server m1 127.0.0.1:${echoPort} disabled`,
    extraServers,
    '',
  ].join('\n'));
  const stderr: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [BIN, '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => stderr.push(...d.split('\n').filter((l) => l !== '')));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await withTimeout(exited, 10_000, 'switchyard to exit').catch(() => child.kill('SIGKILL'));
    await new Promise<void>((r) => echo.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Ready when the runtime API answers and s2's first check has marked it DOWN (the page is then stable).
    const deadline = performance.now() + 15_000;
    for (;;) {
      const reply = await runtime(apiPort, 'show stat').catch(() => '');
      const s2 = parseShowStat(reply).find((r) => r['svname'] === 's2');
      if (s2?.['status'] === 'DOWN') break;
      if (performance.now() > deadline || child.exitCode !== null) throw new Error(`switchyard did not become ready: ${stderr.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    statsPort,
    apiPort,
    frontendPort,
    pageUrl: `http://127.0.0.1:${statsPort}/stats`,
    stderr,
    showStat: async () => parseShowStat(await runtime(apiPort, 'show stat')),
    traffic: async (n, payload) => {
      for (let i = 0; i < n; i++) {
        await withTimeout(new Promise<void>((resolve, reject) => {
          const c = net.connect(frontendPort, '127.0.0.1');
          let got = '';
          c.setEncoding('utf8');
          c.on('data', (d: string) => {
            got += d;
            if (got.length >= payload.length) c.end();
          });
          c.on('close', () => resolve());
          c.on('error', reject);
          c.write(payload);
        }), 10_000, 'a connection through the frontend');
      }
    },
    stop,
  };
}

/** Chromium with the flags of the brief and a fresh profile; one per suite. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'switchyard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1280, height: 720 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
