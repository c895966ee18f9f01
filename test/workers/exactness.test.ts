import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { ProxyWorkers } from '../../src/workers/proxy-workers.js';
import { withTimeout } from '../helpers/timeout.js';

const CLIENTS = 500;
const MAXCONN = 5;

/**
 * A backend that counts its sessions: from accept until it reads the proxy's FIN (the proxy's session is over then).
 * A new session is counted once the events that were ready with it have been handled (in a `setImmediate`, after
 * the poll phase): the proxy closes a session (its FIN is in this backend's kernel queue at once, on loopback)
 * before it gives the slot to the next one, but libuv may hand this process the new connection before the old
 * one's end of stream in the same poll phase, and counting then would see a session the proxy already closed.
 */
async function countingBackend(): Promise<{ server: net.Server; port: number; max: () => number; now: () => number }> {
  let current = 0;
  let max = 0;
  const server = net.createServer((socket) => {
    let state: 'accepted' | 'counted' | 'done' = 'accepted';
    setImmediate(() => {
      if (state !== 'accepted') return;
      state = 'counted';
      current++;
      if (current > max) max = current;
    });
    const done = (): void => {
      if (state === 'counted') current--;
      state = 'done';
    };
    socket.on('data', () => socket.end('ok'));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, max: () => max, now: () => current };
}

/** One client: says hi, waits for the answer; 'served' when it came, 'closed' when the proxy closed first. */
function client(port: number): Promise<'served' | 'closed'> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answered = false;
    socket.on('connect', () => socket.write('hi'));
    socket.on('data', () => {
      answered = true;
      socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answered ? 'served' : 'closed'));
  });
}

describe('ProxyWorkers: limits shared exactly across worker threads', () => {
  // The main thread accepting too (the default: 3 threads) and the 2 workers alone (the main thread only granting).
  for (const acceptOnMainThread of [true, false]) it(`never lets a server see more than maxconn ${MAXCONN} sessions across 2 workers${acceptOnMainThread ? ' and the main thread' : ''}, with ${CLIENTS} concurrent clients served or timed out in the queue`, async () => {
    const backends = [await countingBackend(), await countingBackend()];
    const pool = new Pool('exact', {
      servers: backends.map((b, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port: b.port, maxconn: MAXCONN })),
    });
    // HAProxy's `timeout queue`: a client waits at most this long for a slot, then is closed (sQ).
    const balancer = new Balancer(pool, { strategy: 'roundrobin', timeoutQueueMs: 20_000 });
    const proxy = new ProxyWorkers(balancer, { workers: 2, acceptOnMainThread, timeoutConnectMs: 5_000 });
    try {
      const { port } = await proxy.listen({ host: '127.0.0.1' });
      const results = await withTimeout(Promise.all(Array.from({ length: CLIENTS }, () => client(port))), 60_000, () =>
        `${CLIENTS} clients (backends now at ${backends.map((b) => b.now()).join(', ')})`,
      );
      const stats = await proxy.stats();
      const served = results.filter((r) => r === 'served').length;
      const queueTimeouts = stats.terminations.sQ ?? 0;
      assert.equal(served + queueTimeouts, CLIENTS, `served ${served}, queue timeouts ${queueTimeouts}, terminations ${JSON.stringify(stats.terminations)}`);
      for (const [i, b] of backends.entries()) assert.ok(b.max() <= MAXCONN, `server s${i + 1} saw ${b.max()} sessions at once`);
      // The limit was reached, so the test did test it.
      assert.ok(backends.some((b) => b.max() === MAXCONN), `maxima ${backends.map((b) => b.max()).join(', ')}`);
      assert.equal(stats.total, CLIENTS);
      for (const s of pool.servers) assert.ok(s.maxConnections <= MAXCONN, `${s.name} maxConnections ${s.maxConnections}`);
    } finally {
      await withTimeout(proxy.close({ deadlineMs: 5_000 }), 15_000, 'the workers to close');
      for (const b of backends) b.server.close();
    }
    assert.equal(pool.servers.reduce((n, s) => n + s.currentConnections, 0), 0, 'every lease was given back');
  });
});
