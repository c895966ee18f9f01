import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { type ConnectionRecord, TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { ManualClock, faultBackend } from '../../src/testing/index.js';
import {
  destroyClients, MiB, openPaced, report, rssMiB, runPool, settle, size, track, until, withLoopDelay,
} from './support.js';

const NEVER_READ = size(20, 100);
/** RSS may grow by this much while clients stall, plus PER_STALLED_MIB per stalled connection (its read buffer, one lent write). */
const RSS_BASE_BOUND_MIB = 64;
const PER_STALLED_MIB = 1;
/** The relay counts as stalled once its byte count has not moved for this long. */
const STALL_MS = 500;
const IDLE_CLIENTS = size(300, 2000);
const TIMEOUT_CLIENT_MS = 5000;
const MAXCONN = 10;
const MAXQUEUE = 100;
const FLOOD = size(1000, 5000);
const PROBES = size(100, 500);

function dial(port: number): net.Socket {
  const c = track(net.connect(port, '127.0.0.1'));
  c.on('error', () => {});
  return c;
}

describe('slow and hostile clients', () => {
  after(destroyClients);
  it(`caps the proxy's memory while ${NEVER_READ} clients never read a flooding backend`, { timeout: 120_000 }, async () => {
    const chunk = Buffer.alloc(64 * 1024, 1);
    await using flood = await faultBackend({
      handler: (socket) => {
        const pump = (): void => {
          while (!socket.destroyed && socket.write(chunk));
        };
        socket.on('drain', pump);
        pump();
      },
    });
    const balancer = new Balancer(new Pool('flood', { servers: [{ name: 'f', ...flood.address }] }));
    const proxy = new TcpProxy(balancer);
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    try {
      await settle();
      const baseline = rssMiB();
      const clients = Array.from({ length: NEVER_READ }, () => {
        const c = dial(port);
        c.pause();
        return c;
      });
      // Stalled: the bytes relayed stop growing for STALL_MS (a single poll apart is too short: the relay can
      // stand still for a few ms and then move one more read buffer into the kernel's socket buffers).
      let last = -1;
      let changedAt = performance.now();
      await until(() => {
        const now = proxy.stats().bytesOut;
        if (now !== last || proxy.connections !== NEVER_READ) changedAt = performance.now();
        last = now;
        return performance.now() - changedAt >= STALL_MS;
      }, () => `the relay to stall (${last} bytes)`);
      let peak = 0;
      const bound = baseline + RSS_BASE_BOUND_MIB + NEVER_READ * PER_STALLED_MIB;
      for (let i = 0; i < 20; i++) {
        peak = Math.max(peak, rssMiB());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const relayed = proxy.stats().bytesOut;
      assert.equal(relayed, last, 'nothing more relayed while the clients stall');
      assert.ok(peak <= bound, `RSS ${peak.toFixed(0)} MiB, bound ${bound.toFixed(0)} MiB`);
      for (const c of clients) c.destroy();
      await until(() => proxy.connections === 0, () => 'the stalled connections to close');
      report('never-read', { clients: NEVER_READ, baselineRssMiB: +baseline.toFixed(1), peakRssMiB: +peak.toFixed(1), boundMiB: +bound.toFixed(1), relayedMiB: +(relayed / MiB).toFixed(1), backendSentMiB: +(flood.bytesSent / MiB).toFixed(1) });
    } finally {
      proxy.destroy();
      balancer.destroy();
    }
  });

  it(`closes ${IDLE_CLIENTS} connections that send nothing after timeoutClientMs of the proxy's clock (cD)`, { timeout: 120_000 }, async () => {
    await using echo = await faultBackend();
    const clock = new ManualClock();
    const balancer = new Balancer(new Pool('idle', { servers: [{ name: 'e', ...echo.address }], clock }));
    const proxy = new TcpProxy(balancer, { timeoutClientMs: TIMEOUT_CLIENT_MS, clock });
    const records: ConnectionRecord[] = [];
    proxy.on('connection:close', (r) => records.push(r));
    let opened = 0;
    proxy.on('connection:open', () => opened++);
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    try {
      const clients = await openPaced(port, IDLE_CLIENTS);
      await until(() => opened === IDLE_CLIENTS, () => `${IDLE_CLIENTS} open, have ${opened}`);
      for (let t = 0; t < TIMEOUT_CLIENT_MS - 500; t += 250) clock.advance(250);
      await settle();
      assert.equal(records.length, 0, 'none closed before the timeout');
      for (let t = 0; t < 2000; t += 250) clock.advance(250);
      await until(() => records.length === IDLE_CLIENTS, () => `records ${records.length}`);
      assert.deepEqual([...new Set(records.map((r) => r.termination))], ['cD']);
      await until(() => clients.every((c) => c.closed), () => 'every client to see its close');
      report('idle-clients', { clients: IDLE_CLIENTS, timeoutClientMs: TIMEOUT_CLIENT_MS, closedCD: records.length });
    } finally {
      proxy.destroy();
      balancer.destroy();
    }
  });

  it(`queues a flood of ${FLOOD} past maxconn up to maxqueue, refuses the rest cleanly, and keeps serving another backend`, { timeout: 120_000 }, async () => {
    await using hold = await faultBackend({ behaviour: 'accept-no-read' });
    await using echo = await faultBackend();
    const pool = new Pool('full', { servers: [{ name: 'h', ...hold.address, maxconn: MAXCONN, maxqueue: MAXQUEUE }] });
    const balancer = new Balancer(pool, { strategy: 'source', timeoutQueueMs: 1000 });
    const proxy = new TcpProxy(balancer);
    const records: ConnectionRecord[] = [];
    proxy.on('connection:close', (r) => records.push(r));
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    const other = new TcpProxy(new Balancer(new Pool('other', { servers: [{ name: 'e', ...echo.address }] })));
    const { port: otherPort } = await other.listen({ host: '127.0.0.1' });
    try {
      const { result: probes, maxMs } = await withLoopDelay(async () => {
        const flood = openPaced(port, FLOOD);
        // The other backend answers while the flood is queued and refused.
        const answered = await runPool(PROBES, 4, () => new Promise<boolean>((resolve) => {
          const c = dial(otherPort);
          c.once('connect', () => c.write('ping'));
          c.once('data', (d: Buffer) => {
            c.end();
            resolve(d.toString() === 'ping');
          });
          c.once('close', () => resolve(false));
        }));
        await until(() => records.length === FLOOD - MAXCONN, () => `records ${records.length}`);
        assert.equal(pool.get('h').currentConnections, MAXCONN);
        for (const c of await flood) c.destroy();
        return answered;
      });
      const codes: Record<string, number> = {};
      for (const r of records) codes[r.termination] = (codes[r.termination] ?? 0) + 1;
      // Queued up to maxqueue (slots freed by queue timeouts take later arrivals), refused at once past it.
      assert.equal(pool.get('h').maxQueued, MAXQUEUE);
      assert.equal((codes['SQ'] ?? 0) + (codes['sQ'] ?? 0), FLOOD - MAXCONN, JSON.stringify(codes));
      assert.ok((codes['sQ'] ?? 0) >= MAXQUEUE && (codes['SQ'] ?? 0) > 0, JSON.stringify(codes));
      for (const r of records) assert.equal(r.bytesOut + r.bytesIn, 0);
      assert.ok(probes.every(Boolean), 'every probe of the other backend answered');
      report('maxconn-flood', { flood: FLOOD, maxconn: MAXCONN, maxqueue: MAXQUEUE, terminations: codes, otherBackendProbes: PROBES, loopDelayMaxMs: Math.round(maxMs) });
    } finally {
      proxy.destroy();
      other.destroy();
      balancer.destroy();
    }
  });
});
