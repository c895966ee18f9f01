import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { type ConnectionRecord, TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { faultBackend } from '../../src/testing/index.js';
import {
  type BackendResult, destroyClients, expectedHash, proxyUnderTest, WORKERS, fdLimit, fds, handles, heapMiB, integrityClient, integrityHandler, makePlans, MiB, report, runPool, SEED, settle, size, track, until,
} from './support.js';

const SHORT = size(20_000, 200_000);
const IN_FLIGHT = 200;
const IDLE = size(2_000, 10_000);
/** Descriptors one idle proxied connection holds in this process: client, accepted, upstream, backend. */
const FDS_PER_IDLE = 4;
const DRAIN = size(200, 1000);
/** Heap after a full GC may exceed its baseline by this much (JIT code, caches, the records kept by the test). */
const HEAP_TOLERANCE_MIB = 32;

type Kind = 'ok' | 'client-reset' | 'server-reset' | 'client-gone' | 'no-server';
const KINDS: readonly Kind[] = ['ok', 'ok', 'ok', 'client-reset', 'ok', 'server-reset', 'ok', 'client-gone', 'ok', 'no-server'];

/** One short connection: sends, waits for the echo or the close, and ends as `kind` says. Resolves on close. */
function shortClient(port: number, kind: Kind): Promise<void> {
  return new Promise((resolve) => {
    const c = track(net.connect(port, '127.0.0.1'));
    c.on('error', () => {});
    c.on('close', () => resolve());
    if (kind === 'client-gone') {
      c.once('connect', () => c.resetAndDestroy());
      return;
    }
    c.once('connect', () => c.write(kind === 'server-reset' ? 'R' : 'hello'));
    c.on('data', () => (kind === 'client-reset' ? c.resetAndDestroy() : c.end()));
    c.on('end', () => c.end());
  });
}

function echoOrReset(socket: net.Socket): void {
  socket.on('data', (d: Buffer) => (d[0] === 0x52 /* R */ ? socket.resetAndDestroy() : socket.write(d)));
  socket.on('end', () => socket.end());
}

describe('soak and leaks', () => {
  after(destroyClients);
  it(`opens ${SHORT} short connections (some failing) and up to ${IDLE} idle ones (as many as the open-file limit allows in one process), then returns to its baseline of handles, fds and heap`, { timeout: size(240_000, 1_800_000) }, async (t) => {
    const live = await faultBackend({ handler: echoOrReset });
    const dead = await faultBackend({ behaviour: 'refuse' });
    const pool = new Pool('soak', { servers: [{ name: 'dead', ...dead.address }, { name: 'live', ...live.address }] });
    const balancer = new Balancer(pool, { strategy: 'roundrobin' });
    const proxy = proxyUnderTest(balancer, { redispatch: true, timeoutConnectMs: 2000 });
    const current = async (): Promise<number> => (await proxy.stats()).current;
    const records: ConnectionRecord['termination'][] = [];
    proxy.on('connection:close', (r) => records.push(r.termination));
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    const empty = new TcpProxy(new Balancer(new Pool('empty', { servers: [{ name: 'off', ...live.address, disabled: true }] })));
    const { port: emptyPort } = await empty.listen({ host: '127.0.0.1' });
    try {
      // Warm up (JIT, buffers), then take the baseline.
      await runPool(500, 50, (i) => shortClient(port, KINDS[i % KINDS.length] === 'no-server' ? 'ok' : KINDS[i % KINDS.length]!));
      await until(async () => (await current()) === 0, () => 'the warm-up to finish');
      await settle();
      const baseline = { handles: handles(), fds: fds(), heapMiB: heapMiB() };

      await runPool(SHORT, IN_FLIGHT, (i) => {
        const kind = KINDS[i % KINDS.length]!;
        return shortClient(kind === 'no-server' ? emptyPort : port, kind);
      });
      await until(async () => (await current()) === 0 && empty.connections === 0, () => 'live connections to end');

      // Idle connections: all open at once, each proven connected by one echoed byte, then closed.
      const limit = fdLimit();
      const idle = Math.min(IDLE, Math.floor((limit - fds() - 1000) / FDS_PER_IDLE));
      if (idle < IDLE) t.diagnostic(`open-file limit ${limit}: ${idle} idle connections instead of ${IDLE}`);
      const sockets: net.Socket[] = [];
      await runPool(idle, 500, () => new Promise<void>((resolve, reject) => {
        const c = track(net.connect(port, '127.0.0.1'));
        c.on('error', reject);
        sockets.push(c);
        c.once('connect', () => c.write('i'));
        c.once('data', () => resolve());
      }));
      const peak = { fds: fds(), handles: handles(), connections: await current() };
      assert.equal(peak.connections, idle);
      for (const c of sockets) c.end();
      await until(async () => (await current()) === 0, () => 'idle connections to close');
      sockets.length = 0;

      await settle();
      await until(
        () => handles() === baseline.handles && fds() === baseline.fds,
        () => `handles and fds back to ${JSON.stringify(baseline)}: ${handles()} handles, ${fds()} fds`,
      );
      const heapAfter = heapMiB();
      assert.ok(heapAfter <= baseline.heapMiB + HEAP_TOLERANCE_MIB, `heap ${heapAfter.toFixed(1)} MiB, baseline ${baseline.heapMiB.toFixed(1)} MiB`);
      assert.equal(balancer.activeLeases, 0);
      assert.equal(pool.get('live').currentConnections, 0);
      const stats = await proxy.stats();
      assert.equal(stats.total, 500 + SHORT * 0.9 + idle);
      assert.ok(stats.redispatches > 0 && (stats.terminations.SD ?? 0) > 0 && (stats.terminations.CD ?? 0) > 0, JSON.stringify(stats.terminations));
      assert.equal(empty.stats().noServer, SHORT / 10);
      report('soak-leaks', {
        workers: WORKERS, short: SHORT, idle, terminations: stats.terminations, noServer: empty.stats().noServer, redispatches: stats.redispatches,
        baseline: { handles: baseline.handles, fds: baseline.fds, heapMiB: +baseline.heapMiB.toFixed(1) },
        peak, after: { handles: handles(), fds: fds(), heapMiB: +heapAfter.toFixed(1) }, heapToleranceMiB: HEAP_TOLERANCE_MIB,
      });
    } finally {
      await proxy.destroy();
      empty.destroy();
      balancer.destroy();
      await live.close();
      await dead.close();
    }
  });

  it(`drains ${DRAIN} busy connections on close() without losing a byte, and refuses new ones`, { timeout: size(120_000, 600_000) }, async () => {
    const plans = makePlans(DRAIN, size(1 * MiB, 4 * MiB), SEED + 3).map((p, i) => ({ ...p, startDelayMs: i % 500 }));
    const atBackends = new Map<number, BackendResult>();
    await using backend = await faultBackend({ handler: integrityHandler(plans, (r) => atBackends.set(r.id, r), SEED + 3) });
    const pool = new Pool('drain', { servers: [{ name: 'b', ...backend.address }] });
    const balancer = new Balancer(pool);
    const proxy = new TcpProxy(balancer);
    const terminations: string[] = [];
    proxy.on('connection:close', (r) => terminations.push(r.termination));
    let opened = 0;
    proxy.on('connection:open', () => opened++);
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    const clients = Promise.all(plans.map((p) => integrityClient(port, p, SEED + 3)));
    await until(() => opened === DRAIN, () => `${DRAIN} open, have ${opened}`);
    const closed = proxy.close();
    // Refused at once: the listener is gone.
    const refused = await new Promise<string | undefined>((resolve) => {
      const c = track(net.connect(port, '127.0.0.1'));
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      c.on('connect', () => {
        c.destroy();
        resolve(undefined);
      });
    });
    assert.equal(refused, 'ECONNREFUSED');
    const results = await clients;
    await closed;
    assert.equal(proxy.connections, 0);
    await until(() => atBackends.size === DRAIN, () => `backend reports ${atBackends.size}`);
    for (const c of results) {
      const p = c.plan;
      const at = atBackends.get(p.id)!;
      assert.equal(c.error, undefined);
      assert.ok(c.ended && at.clean, `connection ${p.id} ended cleanly`);
      assert.equal(at.receivedHash, expectedHash(p.upOffset, p.up), `connection ${p.id} upload`);
      assert.equal(c.receivedHash, expectedHash(p.downOffset, p.down), `connection ${p.id} download`);
    }
    assert.deepEqual([...new Set(terminations)], ['--']);
    balancer.destroy();
    report('close-drain', { connections: DRAIN, bytes: plans.reduce((n, p) => n + p.up + p.down, 0), lost: 0 });
  });
});
