/**
 * `bind fd@N`, `unix@`, `ipv4@`, `ipv6@` through the real command: a parent pre-binds a listening socket and
 * hands it to a child `switchyard -f` as its fd 3 (what systemd socket activation or a supervisor does), the
 * child proxies on it, and the tcplog lines name the clients as HAProxy does (`unix:<listener id>` for a
 * unix-socket client).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SAFETY_MS, waitFor } from '../proxy/helpers.js';

const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
const DEFAULTS = 'defaults\n  mode tcp\n  log global\n  option tcplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n';

async function listening(server: net.Server, ...args: unknown[]): Promise<net.Server> {
  server.listen(...(args as [number, string]));
  await once(server, 'listening');
  return server;
}

/** Reads everything a connection gets until the proxy closes it. */
function read(options: net.NetConnectOpts): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

/** `switchyard -c` with `fds` as the child's fd 3, 4…; its exit code and output. */
function check(file: string, fds: number[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, '-c', '-f', file], { stdio: ['ignore', 'pipe', 'pipe', ...fds] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('switchyard -f with bind fd@3 (an inherited listening socket), unix@, ipv4@ and ipv6@', () => {
  let dir = '';
  let backend: net.Server | undefined;
  let child: ChildProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-bind-'));
    backend = await listening(net.createServer((c) => c.end('s1\n')), 0, '127.0.0.1');
  });
  after(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('proxies on a pre-bound socket handed over as fd 3, and on unix, ipv4@ and ipv6@ listeners', { timeout: SAFETY_MS * 2 }, async () => {
    const inherited = await listening(net.createServer(), 0, '127.0.0.1');
    const inheritedPort = (inherited.address() as net.AddressInfo).port;
    const free = await listening(net.createServer(), 0, '127.0.0.1');
    const port = (free.address() as net.AddressInfo).port;
    free.close();
    const backendPort = (backend!.address() as net.AddressInfo).port;
    const sock = join(dir, 'fe.sock');
    const file = join(dir, 'bind.cfg');
    await writeFile(file, `global\n  log stderr format raw local0 info\n${DEFAULTS}` +
      `listen fefd\n  bind fd@3\n  server s1 127.0.0.1:${backendPort}\n` +
      `listen feu\n  bind ipv4@127.0.0.1:${port}\n  bind unix@${sock}\n  server s1 127.0.0.1:${backendPort}\n` +
      `listen fe6\n  bind ipv6@[::1]:${port}\n  server s1 127.0.0.1:${backendPort}\n`);
    const fd = (inherited as unknown as { _handle: { fd: number } })._handle.fd;
    child = spawn(process.execPath, [BIN, '-f', file], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    // The child has its own copy of the listening socket: the parent's must not take connections any more.
    inherited.close();
    const lines: string[] = [];
    child.stderr!.setEncoding('utf8');
    let pending = '';
    child.stderr!.on('data', (d: string) => {
      pending += d;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts);
    });
    const exited = once(child, 'exit');
    const deadline = performance.now() + SAFETY_MS;
    let first = '';
    while (first === '' && performance.now() < deadline) {
      first = await read({ port: inheritedPort, host: '127.0.0.1' }).catch(() => '');
      if (first === '') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(first, 's1\n', `through fd@3:\n${lines.join('\n')}`);
    assert.equal(await read({ path: sock }), 's1\n');
    assert.equal(await read({ port, host: '127.0.0.1' }), 's1\n');
    assert.equal(await read({ port, host: '::1' }), 's1\n');
    await waitFor(() => lines.filter((l) => / -- /.test(l)).length === 4, `4 tcplog lines, have:\n${lines.join('\n')}`);
    // Dates, timers, client ports and the session counters (issue 12 item 1 moves them) are masked.
    const logged = lines.filter((l) => / -- /.test(l))
      .map((l) => l.replace(/:\d+ \[[^\]]+\] /, ':PORT [DATE] ').replace(/ \d+\/\d+\/\d+ 3 -- .*$/, ' T/T/T 3 -- COUNTERS'));
    assert.deepEqual(logged, [
      '127.0.0.1:PORT [DATE] fefd fefd/s1 T/T/T 3 -- COUNTERS',
      'unix:PORT [DATE] feu feu/s1 T/T/T 3 -- COUNTERS',
      '127.0.0.1:PORT [DATE] feu feu/s1 T/T/T 3 -- COUNTERS',
      '::1:PORT [DATE] fe6 fe6/s1 T/T/T 3 -- COUNTERS',
    ]);
    // A unix-socket client is named by the id of the listener that accepted it: feu's second bind.
    assert.ok(lines.some((l) => l.startsWith('unix:2 [')), lines.join('\n'));
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  });

  it('-c accepts fd@3 when fd 3 is a socket and refuses it as HAProxy does when it is a file', { timeout: SAFETY_MS * 2 }, async () => {
    const file = join(dir, 'check.cfg');
    await writeFile(file, `${DEFAULTS}listen fefd\n  bind fd@3\n  server s1 127.0.0.1:1\n`);
    const socket = await listening(net.createServer(), 0, '127.0.0.1');
    try {
      const ok = await check(file, [(socket as unknown as { _handle: { fd: number } })._handle.fd]);
      // `option tcplog` without a log target: HAProxy 2.6.12 warns 'log format ignored for proxy …' too.
      assert.deepEqual([ok.code, ok.stdout], [0, 'Warnings were found.\nConfiguration file is valid\n']);
    } finally {
      socket.close();
    }
    const plain = openSync(file, 'r');
    try {
      const bad = await check(file, [plain]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /\[ALERT\] {4}\(\d+\) : config : parsing \[[^\]]*check\.cfg:9\] : 'bind' : cannot use file descriptor '3' : Socket operation on non-socket\./);
      assert.match(bad.stderr, /Fatal errors found in configuration\./);
    } finally {
      closeSync(plain);
    }
  });
});
