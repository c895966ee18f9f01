import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { ProxyWorkers } from '../../src/workers/proxy-workers.js';
import { workerExecArgv } from '../../src/workers/worker-link.js';
import { waitFor } from '../proxy/helpers.js';
import { withTimeout } from '../helpers/timeout.js';

/** A backend that says its name on connect and keeps the connection open until the client closes. */
async function namedBackend(name: string): Promise<{ server: net.Server; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
    socket.write(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, sockets };
}

/** Connects through the proxy and resolves with the first bytes (the backend's name) and the open socket. */
function greet(port: number): Promise<{ name: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('data', (d: Buffer) => resolve({ name: d.toString(), socket }));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the greeting')));
  });
}

async function rig(names: string[], strategy: 'roundrobin' | 'leastconn', options: { onMarkedDown?: 'shutdown-sessions'; acceptOnMainThread?: boolean } = {}) {
  const backends = await Promise.all(names.map(namedBackend));
  const pool = new Pool('w', { servers: backends.map((b, i) => ({ name: names[i]!, host: '127.0.0.1', port: b.port })) });
  const proxy = new ProxyWorkers(new Balancer(pool, { strategy }), { workers: 2, ...options });
  const { port } = await proxy.listen({ host: '127.0.0.1' });
  const stop = async (): Promise<void> => {
    await withTimeout(proxy.close({ deadlineMs: 2_000 }), 10_000, 'the workers to close');
    for (const b of backends) {
      for (const s of b.sockets) s.destroy();
      b.server.close();
    }
  };
  return { pool, proxy, port, stop };
}

describe('ProxyWorkers', () => {
  it('starts its workers with the Node options of the process, less a string input (node --input-type=module -e …)', () => {
    assert.equal(workerExecArgv(['--import', 'tsx', '--max-old-space-size=512']), undefined, 'inherited as they are');
    assert.deepEqual(workerExecArgv(['--input-type=module', '-e', 'import("x")']), []);
    assert.deepEqual(workerExecArgv(['--import', 'tsx', '--input-type', 'module', '--eval', 'code', '--enable-source-maps']), ['--import', 'tsx', '--enable-source-maps']);
    assert.deepEqual(workerExecArgv(['--input-type=commonjs', '--print=1', '-p', '2']), []);
  });

  it('refuses a bad worker count or an option that cannot cross threads with ERR_LB_INVALID_ARG naming it', () => {
    const balancer = new Balancer(new Pool('p'));
    for (const workers of [0, 1.5, -1, '2']) {
      assert.throws(() => new ProxyWorkers(balancer, { workers: workers as number }), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && e.message.includes('workers'));
    }
    assert.throws(() => new ProxyWorkers(balancer, { key: () => 'k' } as never), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && e.message.startsWith('key'));
    assert.throws(() => new ProxyWorkers(balancer, { acceptOnMainThread: 'yes' as never }), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && e.message.includes('acceptOnMainThread') && e.message.includes('yes'));
    assert.throws(() => new ProxyWorkers(balancer, { timeoutConnectMs: -1 }), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && e.message.includes('timeoutConnectMs'));
  });

  for (const [mode, acceptOnMainThread] of [['main thread accepting', true], ['workers only', false]] as const) {
    it(`keeps roundrobin's one sequence whichever thread accepts (${mode})`, async () => {
      const { port, stop } = await rig(['a', 'b', 'c'], 'roundrobin', { acceptOnMainThread });
      try {
        const seen: string[] = [];
        for (let i = 0; i < 9; i++) {
          const { name, socket } = await withTimeout(greet(port), 10_000, `connection ${i}`);
          seen.push(name);
          socket.destroy();
        }
        assert.deepEqual(seen, ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
      } finally {
        await stop();
      }
    });

    it(`gives leastconn every thread's load: open connections spread evenly over the servers (${mode})`, async () => {
      const { pool, port, stop } = await rig(['a', 'b'], 'leastconn', { acceptOnMainThread });
      const sockets: net.Socket[] = [];
      try {
        for (let i = 0; i < 6; i++) sockets.push((await withTimeout(greet(port), 10_000, `connection ${i}`)).socket);
        assert.deepEqual(pool.servers.map((s) => s.currentConnections), [3, 3]);
      } finally {
        for (const s of sockets) s.destroy();
        await stop();
      }
    });

    it(`kills the sessions of a server that goes down in every thread (shutdown-sessions; ${mode})`, async () => {
      const { pool, proxy, port, stop } = await rig(['a', 'b'], 'roundrobin', { onMarkedDown: 'shutdown-sessions', acceptOnMainThread });
      try {
        const open = [];
        for (let i = 0; i < 8; i++) open.push(await withTimeout(greet(port), 10_000, `connection ${i}`));
        const closed = open.filter((o) => o.name === 'a').map((o) => new Promise<void>((resolve) => o.socket.once('close', () => resolve())));
        assert.equal(closed.length, 4);
        pool.setAdminState('a', 'maint');
        await withTimeout(Promise.all(closed), 10_000, "the sessions of server a to be killed");
        await waitFor(() => pool.get('a').currentConnections === 0, 'the leases of a to be given back');
        assert.equal(pool.get('b').currentConnections, 4);
        const stats = await proxy.stats();
        assert.equal(stats.terminations['D-'], 4, JSON.stringify(stats.terminations));
        for (const o of open) o.socket.destroy();
      } finally {
        await stop();
      }
    });
  }

  it('serves on the main thread too by default: every thread takes connections, the counters add up', async () => {
    const { proxy, port, stop } = await rig(['a', 'b'], 'roundrobin', { acceptOnMainThread: true });
    try {
      assert.equal(proxy.acceptOnMainThread, true);
      // Rounds of 20 concurrent connections until both threads have taken some (bounded: 25 rounds).
      let threads = await proxy.threadStats();
      let sent = 0;
      for (let round = 0; round < 25 && !threads.every((t) => t.stats.total > 0); round++) {
        const open = await Promise.all(Array.from({ length: 20 }, (_, i) => withTimeout(greet(port), 10_000, `connection ${round}.${i}`)));
        sent += open.length;
        for (const o of open) o.socket.destroy();
        threads = await proxy.threadStats();
      }
      assert.deepEqual(threads.map((t) => t.thread), ['main', 0, 1]);
      assert.ok(threads.every((t) => t.stats.total > 0), JSON.stringify(threads.map((t) => [t.thread, t.stats.total])));
      assert.equal(threads.reduce((n, t) => n + t.stats.total, 0), sent);
      assert.equal((await proxy.stats()).total, sent);
    } finally {
      await stop();
    }
  });

  it('with acceptOnMainThread: false, only the workers accept', async () => {
    const { proxy, port, stop } = await rig(['a'], 'roundrobin', { acceptOnMainThread: false });
    try {
      const open = await Promise.all(Array.from({ length: 10 }, (_, i) => withTimeout(greet(port), 10_000, `connection ${i}`)));
      for (const o of open) o.socket.destroy();
      const threads = await proxy.threadStats();
      assert.deepEqual(threads.map((t) => t.thread), [0, 1]);
      assert.equal(threads.reduce((n, t) => n + t.stats.total, 0), 10);
    } finally {
      await stop();
    }
  });
});
