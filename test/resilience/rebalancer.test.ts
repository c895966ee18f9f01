import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import type { Lease, RecycleReason } from '../../src/lease.js';
import { Pool } from '../../src/pool.js';
import { Rebalancer, type RebalancerOptions } from '../../src/resilience/rebalancer.js';
import { faultBackend } from '../../src/testing/index.js';
import { servers } from '../helpers/picks.js';
import { toPrometheus } from '../../src/metrics/prometheus.js';
import { waitFor } from '../proxy/helpers.js';

/**
 * A client pool as pg's or mysql2's: it keeps `size` connections and, when one is asked to go, closes it (releases
 * the lease) and opens another at once, which the balancer places again.
 */
function clientPool(balancer: Balancer, size: number, honour = true) {
  const leases = new Set<Lease>();
  const open = (): void => {
    const lease = balancer.tryAcquire()!;
    leases.add(lease);
    if (honour) {
      lease.onRecycle(() => {
        leases.delete(lease);
        lease.release();
        open();
      });
    }
  };
  for (let i = 0; i < size; i++) open();
  return leases;
}

function rig(weights: readonly number[], options: RebalancerOptions = {}) {
  const clock = new ManualClock();
  const pool = new Pool('db', { clock, servers: servers(weights) });
  const balancer = new Balancer(pool, { strategy: 'leastconn' });
  const rebalancer = new Rebalancer(balancer, { intervalMs: 1000, sustainMs: 5000, spreadMs: 4000, ...options });
  const recycles: [at: number, server: string, reason: RecycleReason][] = [];
  rebalancer.on('lease:recycle', (lease, reason) => recycles.push([clock.now(), lease.server.name, reason]));
  const spread = (): Record<string, number> => Object.fromEntries(pool.servers.map((s) => [s.name, s.currentConnections]));
  return { clock, pool, balancer, rebalancer, recycles, spread };
}

describe('Rebalancer (long-lived connections back to a returned server)', () => {
  it('recycles the excess of a server over its share for sustainMs, spread over spreadMs; the new connections land on the server that came back', () => {
    const { clock, pool, balancer, rebalancer, recycles, spread } = rig([1, 1]);
    const starts: [string, number][] = [];
    rebalancer.on('rebalance:start', (server, count) => starts.push([server.name, count]));
    pool.setAdminState('s2', 'maint');
    clientPool(balancer, 8);
    assert.deepEqual(spread(), { s1: 8, s2: 0 });
    pool.setAdminState('s2', 'ready'); // restarted: the client pool keeps its 8 connections to s1
    clock.advance(5999); // over its share from the first comparison (t=1000), not yet for 5 s
    assert.equal(recycles.length, 0);
    clock.advance(1);
    assert.deepEqual(starts, [['s1', 4]]);
    clock.advance(10_000);
    assert.deepEqual(recycles.map(([at, server]) => [at, server]), [[6000, 's1'], [7000, 's1'], [8000, 's1'], [9000, 's1']]);
    assert.deepEqual(recycles[0]![2], { kind: 'imbalance', sharePercent: 100, weightSharePercent: 50 });
    assert.deepEqual(spread(), { s1: 4, s2: 4 });
    clock.advance(60_000);
    assert.equal(rebalancer.stats().rounds, 1, 'balanced: no second round');
    assert.deepEqual(rebalancer.stats().servers['s1'], { overSince: undefined, recycled: 4 });
    assert.equal(rebalancer.stats().recycled, 4);
    const text = toPrometheus({ pool: balancer, rebalancer }, { prefix: 'lb_' });
    assert.match(text, /^lb_pool_rebalance_rounds_total\{pool="db"\} 1$/m);
    assert.match(text, /^lb_pool_rebalance_recycled_total\{pool="db",server="s1"\} 4$/m);
    assert.match(text, /^lb_pool_rebalance_recycled_total\{pool="db",server="s2"\} 0$/m);
  });

  it('follows the weights, leaves a spread within thresholdPercent alone, and recycles only the excess past it', () => {
    const weighted = rig([3, 1]);
    clientPool(weighted.balancer, 8); // leastconn by weight: 6 and 2, the weight shares (75 %, 25 %)
    assert.deepEqual(weighted.spread(), { s1: 6, s2: 2 });
    weighted.clock.advance(60_000);
    assert.deepEqual(weighted.recycles, []);

    // 5 of 8 on s1 at weights 1:1 is 62.5 %, exactly 25 % over its 50 %: not over.
    const { clock, pool, balancer, rebalancer, recycles, spread } = rig([1, 1]);
    pool.setAdminState('s2', 'maint');
    clientPool(balancer, 5);
    pool.setAdminState('s2', 'ready');
    clientPool(balancer, 3);
    assert.deepEqual(spread(), { s1: 5, s2: 3 });
    clock.advance(60_000);
    assert.equal(recycles.length, 0);
    // 6 of 9 (66.7 %) is over: one lease goes (6 - ⌈4.5⌉), then 5 and 4 are within the threshold.
    pool.setAdminState('s2', 'maint');
    clientPool(balancer, 1);
    pool.setAdminState('s2', 'ready');
    assert.deepEqual(spread(), { s1: 6, s2: 3 });
    clock.advance(60_000);
    assert.equal(recycles.length, 1);
    assert.deepEqual(recycles[0]![2], { kind: 'imbalance', sharePercent: 66.67, weightSharePercent: 50 });
    assert.deepEqual(spread(), { s1: 5, s2: 4 });
    assert.equal(rebalancer.stats().rounds, 1);
  });

  it('restarts the sustain window when the server stops being over its share (here: the other one leaves)', () => {
    const { clock, pool, balancer, recycles } = rig([1, 1]);
    pool.setAdminState('s2', 'maint');
    clientPool(balancer, 8);
    pool.setAdminState('s2', 'ready');
    clock.advance(3000);
    pool.setAdminState('s2', 'maint'); // one eligible server: nothing to compare
    clock.advance(1000);
    pool.setAdminState('s2', 'ready');
    clock.advance(5999); // over again from t=5000: due at t=10000
    assert.equal(recycles.length, 0);
    clock.advance(1);
    assert.deepEqual(recycles.map(([at]) => at), [10_000]);
  });

  it('recycles only leases a holder honours, never below minLeases, and stops on close()', async () => {
    const a = rig([1, 1]);
    a.pool.setAdminState('s2', 'maint');
    clientPool(a.balancer, 8, false);
    a.pool.setAdminState('s2', 'ready');
    a.clock.advance(20_000);
    assert.deepEqual(a.recycles, []);
    assert.equal(a.rebalancer.stats().recycled, 0);

    const b = rig([1, 1], { minLeases: 4 });
    b.pool.setAdminState('s2', 'maint');
    clientPool(b.balancer, 3);
    b.pool.setAdminState('s2', 'ready');
    b.clock.advance(20_000);
    assert.deepEqual(b.recycles, [], '3 leases: under minLeases');
    await b.rebalancer.close();
    await a.rebalancer.close();
    assert.equal(b.clock.pending, 0, 'no timer left');
  });

  it('a lease is asked to go once; a holder that registers late hears it at once; a released lease cannot be asked', () => {
    const pool = new Pool('p', { servers: servers([1]) });
    const balancer = new Balancer(pool);
    const lease = balancer.tryAcquire()!;
    assert.equal(lease.recyclable, false);
    assert.equal(lease.recycle({ kind: 'manual' }), true);
    const heard: RecycleReason[] = [];
    lease.onRecycle((reason) => heard.push(reason));
    assert.deepEqual(heard, [{ kind: 'manual' }]);
    assert.equal(lease.recyclable, true);
    assert.equal(lease.recycle({ kind: 'manual', info: 'again' }), false);
    assert.equal(lease.released, false, 'asking does not release: the connection does when it closes');
    const other = balancer.tryAcquire()!;
    other.release();
    assert.equal(other.recycle({ kind: 'manual' }), false);
    assert.equal(other.recycleReason, undefined);
  });

  it('rejects bad options, naming the option and the value', () => {
    const pool = new Pool('p', { servers: servers([1]) });
    const balancer = new Balancer(pool);
    assert.throws(() => new Rebalancer(balancer, { thresholdPercent: -1 }), /thresholdPercent must be a number of 0 or more, got -1/);
    assert.throws(() => new Rebalancer(balancer, { intervalMs: 0 }), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && /intervalMs/.test(e.message));
    assert.throws(() => new Rebalancer(balancer, { sustain: 1 } as never), /sustain/);
    assert.throws(() => new Rebalancer({} as never), /balancer must be a Balancer/);
  });
});

describe('a recycled connection of balancer.connect() closes at its first quiet period (real socket, manual clock)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it('keeps a busy connection, ends it once recycleQuietMs passes with no byte either way, and releases its lease', async () => {
    const backend = await faultBackend();
    cleanup.push(() => backend.close());
    const clock = new ManualClock();
    const pool = new Pool('echo', { clock, servers: [{ name: 'e1', host: '127.0.0.1', port: backend.port }] });
    const balancer = new Balancer(pool);
    let lease: Lease | undefined;
    balancer.on('lease:acquire', (l) => (lease = l));
    const socket = await balancer.connect({ recycleQuietMs: 1000, timeoutConnectMs: Infinity });
    let ended = false;
    socket.on('end', () => (ended = true)).on('error', () => {});
    const echoed = (n: number): Promise<void> => waitFor(() => socket.bytesRead >= n, `${n} bytes echoed`);
    socket.on('data', () => {});
    assert.equal(lease!.recyclable, true, 'connect() honours recycle');
    assert.equal(lease!.recycle({ kind: 'manual', info: 'test' }), true);
    assert.equal(lease!.recycle({ kind: 'manual' }), false, 'asked once');
    socket.write('a');
    await echoed(1);
    clock.advance(1000); // bytes moved in this window: busy
    socket.write('b');
    await echoed(2);
    clock.advance(1000); // busy again
    await new Promise((r) => setImmediate(r));
    assert.equal(ended || socket.destroyed, false);
    clock.advance(1000); // a whole quiet window: FIN
    await waitFor(() => lease!.released, 'the lease to be released');
    assert.equal(balancer.activeLeases, 0);
    assert.deepEqual(lease!.recycleReason, { kind: 'manual', info: 'test' });
  });
});
