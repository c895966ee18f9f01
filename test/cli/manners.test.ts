import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { type RunSignal, runConfigFiles } from '../../src/cli/run.js';
import { SAFETY_MS, waitFor } from '../proxy/helpers.js';

const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
const PKG_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const DEFAULTS = 'defaults\n  mode tcp\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real command (bin/switchyard.js) in a child process. */
function switchyard(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: SAFETY_MS }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Connects once something listens on `port` (the run mode has started). */
async function connectWhenListening(port: number): Promise<net.Socket> {
  const deadline = performance.now() + SAFETY_MS;
  for (;;) {
    const socket = net.connect(port, '127.0.0.1');
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (ok) return socket;
    if (performance.now() > deadline) throw new Error(`nothing listened on ${port}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs main() in this process with captured output and signals the test sends. */
function run(args: readonly string[]): { done: Promise<number>; err: string[]; signal: (s: RunSignal) => void } {
  const handlers = new Map<RunSignal, () => void>();
  const err: string[] = [];
  const done = main(args, {
    stdout: () => {},
    stderr: (l) => err.push(l),
    pid: 99,
    executable: 'switchyard',
    env: {},
    onSignal: (s, h) => {
      handlers.set(s, h);
      return () => handlers.delete(s);
    },
  });
  return { done, err, signal: (s) => handlers.get(s)?.() };
}

describe('switchyard -h, -v (what HAProxy users type first)', () => {
  it('prints the usage, the signals and the runtime API commands on stdout with -h and --help, exit 0', async () => {
    for (const flag of ['-h', '--help']) {
      const r = await switchyard([flag]);
      assert.equal(r.code, 0, flag);
      assert.equal(r.stderr, '', flag);
      const lines = r.stdout.split('\n');
      assert.match(lines[0] ?? '', /^switchyard version \d+\.\d+\.\d+ /);
      assert.equal(lines[1], 'Usage : switchyard [-f <cfgfile>]* [ -vdVcq ] [-- <cfgfile>*]');
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGHUP']) assert.match(r.stdout, new RegExp(`^ {8}${signal} +\\S`, 'm'), signal);
      for (const command of ['show stat [json|no-maint|typed|up]*', 'show info [float|json|typed]*', 'show servers state', 'set server <bk>/<srv>', 'add server', 'help [<command>]']) {
        assert.ok(r.stdout.includes(`        ${command}`), command);
      }
      assert.match(r.stdout, /node_modules\/\.bin\/switchyard, not npx/);
    }
  });

  it('prints the version on stdout with -v and --version, exit 0; -vv adds the runtime and what is supported', async () => {
    for (const flag of ['-v', '--version']) {
      const r = await switchyard([flag]);
      assert.deepEqual([r.code, r.stderr], [0, ''], flag);
      assert.deepEqual(r.stdout.split('\n'), [
        `switchyard version ${PKG_VERSION} - HAProxy 2.6 TCP configuration subset`,
        `Running on: Node.js ${process.version} ${process.platform} ${process.arch}`,
        '',
      ], flag);
    }
    const vv = await switchyard(['-vv']);
    assert.equal(vv.code, 0);
    assert.match(vv.stdout, /^Balance algorithms: roundrobin static-rr leastconn first source random; /m);
  });

  it('still refuses an unknown option on stderr with the usage, exit 1, as haproxy does', async () => {
    const r = await switchyard(['--bogus']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unknown option '--bogus'\.\nUsage : switchyard/);
  });
});

describe('switchyard -f: SIGHUP and the stats socket, as HAProxy 2.6 does', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-manners-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('SIGHUP dumps every server\'s state, HAProxy\'s lines on stderr and to the log, and keeps running', { timeout: SAFETY_MS }, async () => {
    const [web, fe, s1] = [await freePort(), await freePort(), await freePort()];
    const held: net.Socket[] = [];
    const backend = net.createServer((c) => held.push(c)).listen(s1, '127.0.0.1');
    await once(backend, 'listening');
    const file = join(dir, 'hup.cfg');
    await writeFile(file, `global\n  log stderr format raw local0 notice\n${DEFAULTS}`
      + `listen web\n  bind 127.0.0.1:${web}\n  server s1 127.0.0.1:${s1}\n  server s2 127.0.0.1:1 disabled\n  server s3 127.0.0.1:1 backup\n`
      + `frontend fe\n  bind 127.0.0.1:${fe}\n  default_backend other\nbackend other\n  server o1 127.0.0.1:1 disabled\nbackend empty\n`);
    const r = run(['-f', file]);
    let client: net.Socket | undefined;
    try {
      client = await connectWhenListening(web);
      await waitFor(() => held.length === 1, 'the connection to s1');
      r.signal('SIGHUP');
      const sighup = r.err.filter((l) => l.includes('SIGHUP'));
      // Recorded from haproxy 2.6.12 on the same configuration (its internal GLOBAL and <HTTPCLIENT> proxies aside).
      const both = (line: string): string[] => [`[WARNING]  (99) : ${line}`, line];
      assert.deepEqual(sighup, [
        '[WARNING]  (99) : SIGHUP received, dumping servers states.',
        'SIGHUP received, dumping servers states for proxy web.',
        ...both('SIGHUP: Server web/s1 is UP. Conn: 1 act, 0 pend, 1 tot.'),
        ...both('SIGHUP: Server web/s2 is DOWN. Conn: 0 act, 0 pend, 0 tot.'),
        ...both('SIGHUP: Server web/s3 is UP. Conn: 0 act, 0 pend, 0 tot.'),
        ...both('SIGHUP: Proxy web has 1 active servers and 1 backup servers available. Conn: act(FE+BE): 1+1, 0 pend (0 unass), tot(FE+BE): 1+1.'),
        'SIGHUP received, dumping servers states for proxy fe.',
        ...both('SIGHUP: Proxy fe has no servers. Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 0+0.'),
        'SIGHUP received, dumping servers states for proxy other.',
        ...both('SIGHUP: Server other/o1 is DOWN. Conn: 0 act, 0 pend, 0 tot.'),
        ...both('SIGHUP: Proxy other has no server available ! Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 0+0.'),
        'SIGHUP received, dumping servers states for proxy empty.',
        ...both('SIGHUP: Proxy empty has no servers. Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 0+0.'),
      ]);
      // Still serving: a second client gets through.
      const second = net.connect(web, '127.0.0.1');
      await once(second, 'connect');
      await waitFor(() => held.length === 2, 'the second connection');
      second.destroy();
    } finally {
      client?.destroy();
      for (const c of held) c.destroy();
      r.signal('SIGINT');
      r.signal('SIGINT');
    }
    assert.equal(await r.done, 0);
    backend.close();
  });

  it('has every signal handler in place by the time it listens (a SIGTERM as soon as the port answers is a graceful stop)', { timeout: SAFETY_MS }, async () => {
    const file = join(dir, 'early.cfg');
    await writeFile(file, `${DEFAULTS}listen web\n  bind 127.0.0.1:${await freePort()}\n  server s1 127.0.0.1:1\n`);
    const handlers = new Map<RunSignal, () => void>();
    let subscribedWhenListening: RunSignal[] = [];
    const io = {
      stdout: () => {}, stderr: () => {}, pid: 99, executable: 'switchyard', version: 'x', env: {},
      onSignal: (s: RunSignal, h: () => void) => {
        handlers.set(s, h);
        return () => handlers.delete(s);
      },
    };
    const status = await runConfigFiles([file], io, {
      quiet: true,
      debug: false,
      started: () => {
        subscribedWhenListening = [...handlers.keys()].sort();
        setImmediate(() => handlers.get('SIGTERM')?.());
      },
    });
    assert.equal(status, 0);
    assert.deepEqual(subscribedWhenListening, ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGUSR1']);
    assert.equal(handlers.size, 0, 'unsubscribed at the end');
  });

  it('a stats socket in a missing directory: "No such file or directory" with the config line, exit 1, nothing left listening', async () => {
    const fe = await freePort();
    const sock = join(dir, 'missing', 'admin.sock');
    const file = join(dir, 'nodir.cfg');
    await writeFile(file, `global\n  stats socket ${sock} level admin\n${DEFAULTS}listen web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:1\n`);
    const r = run(['-f', file]);
    assert.equal(await r.done, 1);
    // haproxy 2.6.12: `Binding [c.cfg:2] for frontend GLOBAL: cannot bind UNIX socket (No such file or directory) [/…/admin.sock]`.
    assert.deepEqual(r.err.slice(-2), [
      `[ALERT]    (99) : Binding [${file}:2] for frontend GLOBAL: cannot bind UNIX socket (No such file or directory) [${sock}]`,
      '[ALERT]    (99) : [switchyard.main()] Some protocols failed to start their listeners! Exiting.',
    ]);
    const probe = net.createServer().listen(fe, '127.0.0.1');
    await once(probe, 'listening');
    probe.close();
  });

  it('a stats socket on a taken TCP port: HAProxy\'s "Address already in use" alert with the config line', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1').unref();
    await once(taken, 'listening');
    const port = (taken.address() as net.AddressInfo).port;
    const file = join(dir, 'busy.cfg');
    await writeFile(file, `global\n  stats socket ipv4@127.0.0.1:${port} level admin\n${DEFAULTS}listen web\n  bind 127.0.0.1:${await freePort()}\n  server s1 127.0.0.1:1\n`);
    const r = run(['-f', file]);
    assert.equal(await r.done, 1);
    assert.equal(r.err.at(-2), `[ALERT]    (99) : Binding [${file}:2] for frontend GLOBAL: cannot bind socket (Address already in use) for [127.0.0.1:${port}]`);
    taken.close();
  });
});

describe('bin/switchyard.js -f and SIGHUP (a real process)', () => {
  let child: ChildProcess | undefined;
  let dir = '';
  after(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  // A real process compiles the CLI through tsx first: seconds on a loaded machine.
  it('survives SIGHUP with its stats socket in place, then stops on SIGTERM and removes it', { timeout: 6 * SAFETY_MS }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-hup-'));
    const sock = join(dir, 'admin.sock');
    const file = join(dir, 'x.cfg');
    await writeFile(file, `global\n  stats socket ${sock} level admin\n${DEFAULTS}listen web\n  bind 127.0.0.1:${await freePort()}\n  server s1 127.0.0.1:1\n`);
    child = spawn(process.execPath, [BIN, '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const startDeadline = performance.now() + 5 * SAFETY_MS;
    while (!existsSync(sock)) {
      if (performance.now() > startDeadline || child.exitCode !== null) throw new Error(`the stats socket did not appear: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGHUP');
    await waitFor(() => stderr.includes('SIGHUP: Proxy web '), 'the dump');
    assert.match(stderr, /\[WARNING\] {2}\(\d+\) : SIGHUP: Server web\/s1 is UP\. Conn: 0 act, 0 pend, 0 tot\.\n/);
    // Alive and answering on its socket.
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect(sock);
      let text = '';
      c.on('data', (d) => (text += d.toString()));
      c.on('end', () => resolve(text));
      c.on('error', reject);
      c.end('show cli level\n');
    });
    assert.equal(reply, 'admin\n\n');
    assert.deepEqual([child.exitCode, child.signalCode], [null, null]);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
    assert.equal(existsSync(sock), false, 'the socket file is removed');
  });
});
