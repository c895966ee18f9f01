/**
 * The HAProxy TCP load-balancing walk-through, on loopback, with nothing but Node:
 *
 *   1. three small web servers titled backend1, backend2, backend3;
 *   2. `switchyard -f haproxy.cfg`, the walk-through's configuration (examples/haproxy.cfg) with loopback
 *      ports and a short check interval, run by the real command in a child process;
 *   3. three page fetches through the frontend → backend1, backend2, backend3 (round robin);
 *   4. backend1 is powered off → the health check marks it DOWN (HAProxy's own log line);
 *   5. fetches go to backend2 and backend3 only;
 *   6. backend1 comes back → it is marked UP and rejoins the rotation.
 *
 * Run: npm run demo
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/switchyard.js', import.meta.url));
const WALKTHROUGH = fileURLToPath(new URL('./haproxy.cfg', import.meta.url));
/** Check interval of the demo: fast enough to see a server go down in about a second. */
const CHECK_INTER_MS = 300;
/** Every wait of the demo gives up after this long. */
const WAIT_MS = 8000;

const colour = process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined;
const paint = (code: string) => (text: string): string => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const red = paint('31');
const green = paint('32');
const yellow = paint('33');
const cyan = paint('36');
const BACKEND_COLOUR: Record<string, (t: string) => string> = { backend1: cyan, backend2: paint('35'), backend3: paint('34') };

const started = performance.now();
const say = (text = ''): void => console.log(text);
const step = (n: number, text: string): void => say(`\n${bold(`${n}.`)} ${bold(text)}`);

/** A web server whose page is titled `name`; it can be powered off and on again on the same port. */
class WebServer {
  readonly name: string;
  port = 0;
  #server: http.Server | undefined;

  constructor(name: string) {
    this.name = name;
  }

  async powerOn(): Promise<void> {
    const server = http.createServer((_req, res) => {
      res.setHeader('connection', 'close');
      res.end(`<!doctype html><title>${this.name}</title><h1>${this.name}</h1>\n`);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async powerOff(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port nothing listens on right now (for the frontend's `bind`). */
async function freePort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** GET / through the frontend on a new connection; the page title. */
function fetchTitle(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: WAIT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(/<title>([^<]*)<\/title>/.exec(body)?.[1] ?? `(HTTP ${res.statusCode ?? '?'})`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', reject);
  });
}

/** The child's stderr, line by line, with a way to wait for a line that matches. */
class LineWatch {
  readonly lines: string[] = [];
  #waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];

  constructor(stream: NodeJS.ReadableStream) {
    createInterface({ input: stream }).on('line', (line) => {
      this.lines.push(line);
      for (const w of [...this.#waiters]) {
        if (w.test(line)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
  }

  waitFor(test: (l: string) => boolean, what: string): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
      this.#waiters.push({ test, resolve: (l) => { clearTimeout(timer); resolve(l); } });
    });
  }
}

/**
 * Waits until something listens on the port. It never connects: any connection to the frontend would take a
 * turn of the round robin. A port we cannot bind ourselves is taken.
 */
async function waitUntilListening(port: number): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    const probe = http.createServer();
    const taken = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (taken) return;
    if (performance.now() > deadline) throw new Error(`switchyard did not start listening on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const showTitle = (title: string): string => (BACKEND_COLOUR[title] ?? ((t: string) => t))(title);

async function fetchSeveral(port: number, count: number): Promise<string[]> {
  const titles: string[] = [];
  for (let i = 0; i < count; i++) {
    const title = await fetchTitle(port);
    titles.push(title);
    say(`   ${dim(`GET http://127.0.0.1:${port}/ →`)} ${showTitle(title)}`);
  }
  return titles;
}

const backends = [new WebServer('backend1'), new WebServer('backend2'), new WebServer('backend3')];
let child: ChildProcess | undefined;
let dir: string | undefined;

async function cleanUp(): Promise<void> {
  const c = child;
  child = undefined;
  if (c !== undefined && c.exitCode === null && c.signalCode === null) {
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  await Promise.all(backends.map((b) => b.powerOff()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

async function demo(): Promise<void> {
  say(bold('switchyard — the HAProxy TCP load-balancing walk-through, on 127.0.0.1'));

  step(1, 'Three web servers, each page titled with its name');
  for (const b of backends) {
    await b.powerOn();
    say(`   ${showTitle(b.name)} listens on 127.0.0.1:${b.port}`);
  }

  step(2, 'switchyard -f haproxy.cfg — the walk-through\'s configuration');
  const frontendPort = await freePort();
  const ports: Record<string, number> = { '18080': frontendPort, '18081': backends[0]!.port, '18082': backends[1]!.port, '18083': backends[2]!.port };
  const text = (await readFile(WALKTHROUGH, 'utf8'))
    .replace(/127\.0\.0\.1:(1808[0-3])\b/g, (_m, p: string) => `127.0.0.1:${ports[p] ?? p}`)
    .replace(/^(\s*server\s.*\scheck)\s*$/gm, `$1 inter ${CHECK_INTER_MS}`);
  dir = await mkdtemp(join(tmpdir(), 'switchyard-demo-'));
  const cfg = join(dir, 'haproxy.cfg');
  await writeFile(cfg, text);
  for (const line of text.split('\n').filter((l) => /^[a-z]|^\s+(bind|balance|server|default_backend)\b/.test(l))) say(dim(`   ${line}`));
  say(dim(`   (examples/haproxy.cfg with loopback ports and 'inter ${CHECK_INTER_MS}' on the checks so the demo is quick)`));
  child = spawn(process.execPath, [BIN, '-f', cfg], { stdio: ['ignore', 'inherit', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  child.on('exit', (code, signal) => {
    if (child !== undefined) process.stderr.write(red(`switchyard exited unexpectedly (${signal ?? code})\n`));
  });
  const log = new LineWatch(child.stderr!);
  await waitUntilListening(frontendPort);
  say(`   switchyard (pid ${child.pid}) listens on 127.0.0.1:${frontendPort}, frontend ${bold('web-test')}, balance roundrobin`);

  step(3, 'Fetch the page three times: round robin visits every backend');
  const first = await fetchSeveral(frontendPort, 3);
  if (first.join(' ') !== 'backend1 backend2 backend3') throw new Error(`expected backend1 backend2 backend3, got ${first.join(' ')}`);

  step(4, 'Power off backend1');
  await backends[0]!.powerOff();
  say(`   ${red('backend1 is off')}; the health check notices:`);
  const down = await log.waitFor((l) => l.startsWith('[WARNING]') && l.includes('Server web-test/server1 is DOWN'), 'the DOWN line');
  say(`   ${yellow(down)}`);

  step(5, 'Fetch again: only backend2 and backend3 answer');
  const during = await fetchSeveral(frontendPort, 4);
  if (during.includes('backend1')) throw new Error('backend1 answered while it was off');

  step(6, 'Power backend1 back on');
  await backends[0]!.powerOn();
  const up = await log.waitFor((l) => l.startsWith('[WARNING]') && l.includes('Server web-test/server1 is UP'), 'the UP line');
  say(`   ${green(up)}`);
  say('   Fetch until backend1 answers again:');
  let rejoined = false;
  for (let i = 0; i < 9 && !rejoined; i++) rejoined = (await fetchSeveral(frontendPort, 1))[0] === 'backend1';
  if (!rejoined) throw new Error('backend1 did not rejoin the rotation');

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(`\n${green('✔')} ${bold('Done')} in ${seconds} s: the same configuration, the same log lines, one Node process (switchyard -f).`);
  say(dim('   Try it yourself: npx switchyard -f examples/haproxy.cfg   (and: npx switchyard -c -f examples/haproxy.cfg)'));
}

process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
try {
  await demo();
  await cleanUp();
} catch (err) {
  process.stderr.write(`${red('demo failed:')} ${(err as Error).message}\n`);
  await cleanUp();
  process.exitCode = 1;
}
