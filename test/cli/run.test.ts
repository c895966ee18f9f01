import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { RunSignal } from '../../src/cli/run.js';
import { SAFETY_MS, waitFor } from '../proxy/helpers.js';

const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** True when something accepts connections on the port (checked by binding it: no connection is made). */
async function listening(port: number): Promise<boolean> {
  const s = net.createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

/** Waits until the port is taken (the run mode has started listening). */
async function untilListening(port: number): Promise<void> {
  const deadline = performance.now() + SAFETY_MS;
  while (!(await listening(port))) {
    if (performance.now() > deadline) throw new Error(`nothing listened on ${port}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const DEFAULTS = 'defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n';

describe('switchyard -f (run mode, in process through main())', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-run-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs main() with captured output and signals the test can send. */
  function run(args: readonly string[]): { done: Promise<number>; out: string[]; err: string[]; signal: (s: RunSignal) => void } {
    const handlers = new Map<RunSignal, () => void>();
    const out: string[] = [];
    const err: string[] = [];
    const done = main(args, {
      stdout: (l) => out.push(l),
      stderr: (l) => err.push(l),
      pid: 99,
      executable: 'switchyard',
      env: {},
      onSignal: (s, h) => {
        handlers.set(s, h);
        return () => handlers.delete(s);
      },
    });
    return { done, out, err, signal: (s) => handlers.get(s)?.() };
  }

  it('listens, logs state lines, and stops on SIGTERM with exit status 0', { timeout: SAFETY_MS }, async () => {
    const [fe, s1] = [await freePort(), await freePort()];
    const file = join(dir, 'a.cfg');
    await writeFile(file, `${DEFAULTS}listen web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:${s1} check inter 50\n`);
    const r = run(['-f', file]);
    await waitFor(() => r.err.some((l) => l.startsWith('[WARNING]  (99) : Server web/s1 is DOWN')), 'the DOWN line');
    assert.equal(await listening(fe), true);
    r.signal('SIGTERM');
    assert.equal(await r.done, 0);
    assert.equal(await listening(fe), false);
  });

  it('SIGUSR1 is HAProxy\'s soft stop: stop listening, let the live connection finish, then exit', { timeout: SAFETY_MS }, async () => {
    const [fe, s1] = [await freePort(), await freePort()];
    const backend = net.createServer((c) => c.on('data', (d) => c.end(d))).listen(s1, '127.0.0.1');
    await once(backend, 'listening');
    const file = join(dir, 'b.cfg');
    await writeFile(file, `global\n  log stderr format raw local0 info\n${DEFAULTS}  log global\nlisten web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:${s1}\n`);
    const r = run(['-f', file]);
    await untilListening(fe);
    const client = net.connect(fe, '127.0.0.1');
    await once(client, 'connect');
    let exited = false;
    void r.done.then(() => (exited = true));
    await waitFor(() => r.err.some((l) => l.startsWith('Connect from')), 'the accept');
    r.signal('SIGUSR1');
    await waitFor(() => r.err.some((l) => l.includes('Proxy web stopped (cumulated conns: FE: 1, BE: 1).')), 'the stop message');
    assert.equal(await listening(fe), false, 'no longer listening');
    assert.equal(exited, false, 'waits for the live connection');
    client.end('bye');
    assert.equal(await r.done, 0);
    backend.close();
  });

  it('prints HAProxy\'s -d trace of each connection on stdout', { timeout: SAFETY_MS }, async () => {
    const [fe, s1] = [await freePort(), await freePort()];
    const backend = net.createServer((c) => c.end('hi\n')).listen(s1, '127.0.0.1');
    await once(backend, 'listening');
    const file = join(dir, 'c.cfg');
    await writeFile(file, `${DEFAULTS}listen web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:${s1}\n`);
    const r = run(['-d', '-f', file]);
    await untilListening(fe);
    const client = net.connect(fe, '127.0.0.1');
    client.resume();
    await once(client, 'close');
    await waitFor(() => r.out.length >= 3, 'the trace');
    assert.match(r.out[0] ?? '', /^00000000:web\.accept\(ffff\)=[0-9a-f]{4} from \[127\.0\.0\.1:\d+\] ALPN=<none>$/);
    assert.match(r.out[1] ?? '', /^00000000:web\.(srvcls|clicls)\[ffff:ffff\]$/);
    assert.equal(r.out[2], '00000000:web.closed[ffff:ffff]');
    r.signal('SIGINT');
    assert.equal(await r.done, 0);
    backend.close();
  });

  it('exits 1 with HAProxy\'s alerts when a listener cannot be bound', async () => {
    // unref: a failed assertion below must not keep the test process alive.
    const taken = net.createServer().listen(0, '127.0.0.1').unref();
    await once(taken, 'listening');
    const file = join(dir, 'd.cfg');
    await writeFile(file, `${DEFAULTS}listen web\n  bind 127.0.0.1:${(taken.address() as net.AddressInfo).port}\n  server s1 127.0.0.1:1\n`);
    const r = run(['-f', file]);
    assert.equal(await r.done, 1);
    assert.match(r.err.join('\n'), /\[ALERT\] {4}\(99\) : Binding \[[^\]]*d\.cfg:7\] for proxy web: cannot bind socket \(Address already in use\) for \[127\.0\.0\.1:\d+\]\n\[ALERT\] {4}\(99\) : \[switchyard\.main\(\)\] Some protocols failed to start their listeners! Exiting\./);
    taken.close();
  });

  it('runs a configuration whose only listener is the stats socket: checks run, the runtime API drives the backend', { timeout: SAFETY_MS }, async () => {
    const [s1, s2] = [await freePort(), await freePort()];
    const alive = net.createServer((c) => c.destroy()).listen(s1, '127.0.0.1');
    await once(alive, 'listening');
    const sock = join(dir, 'only-api.sock');
    const file = join(dir, 'only-api.cfg');
    await writeFile(file, `global\n  stats socket ${sock} level admin\n${DEFAULTS}backend be\n` +
      `  server s1 127.0.0.1:${s1} check inter 100\n  server s2 127.0.0.1:${s2} check inter 100\n`);
    const r = run(['-f', file]);
    try {
      await Promise.race([
        waitFor(() => r.err.some((l) => l.startsWith('[WARNING]  (99) : Server be/s2 is DOWN, reason: Layer4 connection problem')), 'the DOWN line of s2'),
        r.done.then((code) => assert.fail(`exited ${code} at start:\n${r.err.join('\n')}`)),
      ]);
      const command = (text: string): Promise<string> => new Promise((resolve, reject) => {
        const c = net.connect(sock);
        let reply = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => (reply += d));
        c.on('error', reject);
        c.on('close', () => resolve(reply));
        c.write(`${text}\n`);
      });
      assert.match(await command('show info'), /\nListeners: 1\n/);
      assert.equal(await command('set server be/s1 state drain'), '\n');
      await waitFor(() => r.err.includes("[ALERT]    (99) : backend 'be' has no server available!"), 'the no-server alert');
      assert.ok(r.err.includes('[WARNING]  (99) : Server be/s1 enters drain state. 0 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.'));
    } finally {
      r.signal('SIGTERM');
      alive.close();
    }
    assert.equal(await r.done, 0);
  });

  it('exits 1 on a configuration error, like -c', async () => {
    const file = join(dir, 'e.cfg');
    await writeFile(file, `${DEFAULTS}listen web\n  bind 127.0.0.1:1\n  balanc roundrobin\n`);
    const r = run(['-f', file]);
    assert.equal(await r.done, 1);
    assert.match(r.err.join('\n'), /unknown keyword 'balanc'[\s\S]*Fatal errors found in configuration\./);
  });
});

describe('bin/switchyard.js -f (a real process)', () => {
  let child: ChildProcess | undefined;
  after(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('runs until SIGTERM and exits 0', { timeout: SAFETY_MS }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-bin-'));
    const fe = await freePort();
    const file = join(dir, 'x.cfg');
    await writeFile(file, `${DEFAULTS}listen web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:1\n`);
    child = spawn(process.execPath, [BIN, '-f', file], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    await untilListening(fe);
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    await rm(dir, { recursive: true, force: true });
  });
});
