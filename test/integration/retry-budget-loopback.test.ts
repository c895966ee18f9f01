import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { RetryBudget } from '../../src/resilience/retry-budget.js';
import { TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { faultBackend } from '../../src/testing/index.js';
import { RecordingSink, backend, closedByPeer, echo, proxyRig, refusedPort, s, waitFor } from '../proxy/helpers.js';

/**
 * A brown-out over real sockets: two `FaultBackend`s (switchyard-lb/testing) that served start refusing, 20 callers dial at once with `retries: 3` on the manual clock
 * (the turn-around pauses wait for it). Without a budget that is 80 attempts; with one, each caller past the budget
 * ends at its first failure, as its last attempt did.
 */
describe('retry budget and circuit breaker on the dial path (loopback, manual clock)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function brownOut(retryBudget?: (b: Balancer) => RetryBudget, breaker?: CircuitBreaker) {
    const clock = new ManualClock();
    const backends = [await faultBackend(), await faultBackend()];
    cleanup.push(() => Promise.all(backends.map((b) => b.close())).then(() => {}));
    await Promise.all(backends.map((b) => b.kill('refuse')));
    const pool = new Pool('db', { clock, servers: backends.map((b, i) => s(`s${i + 1}`, b.port)) });
    const balancer = new Balancer(pool, breaker ? { circuitBreaker: breaker } : {});
    const sink = new RecordingSink();
    const budget = retryBudget?.(balancer);
    let unsettled = 20;
    const dials = Array.from({ length: 20 }, () =>
      balancer
        .connect({ retries: 3, observer: sink, timeoutConnectMs: Infinity, ...(budget ? { retryBudget: budget } : {}) })
        .then(
          () => assert.fail('connected to a refusing server'),
          (e: unknown) => e as LbError,
        )
        .finally(() => unsettled--),
    );
    // With no connect timeout, the clock's only timers are the turn-around pauses: once every dial still going is
    // in one, the next second of manual time starts their next attempts.
    while (unsettled > 0) {
      await waitFor(() => unsettled === 0 || clock.pending === unsettled, 'every dial to fail or pause');
      clock.advance(1000);
    }
    const errors = await Promise.all(dials);
    return { errors, sink, budget, balancer, backends };
  }

  it('without a budget, 20 dials to refusing servers make 80 attempts', async () => {
    const { errors, sink } = await brownOut();
    assert.equal(sink.reports.length, 80);
    assert.ok(errors.every((e) => e.code === 'ERR_LB_CONNECT_FAILED' && e.details['retryRefused'] === undefined));
  });

  it('with a RetryBudget (20 %, at least 3) the retries stay within the budget; refused dials end as their last attempt did', async () => {
    const { errors, sink, budget } = await brownOut((b) => new RetryBudget(b));
    const stats = budget!.stats();
    const refused = errors.filter((e) => e.details['retryRefused'] === 'retry-budget');
    assert.equal(refused.length, stats.refused, JSON.stringify(stats));
    // 20 leases held at the first failures: 20 % = 4 retries at once, the 16 others end after one attempt. As
    // they end, the load and so the budget shrink (4 leases: the floor of 3), so one more is refused later.
    const afterOne = refused.filter((e) => (e.details['attempts'] as unknown[]).length === 1);
    assert.equal(afterOne.length, 16);
    for (const e of refused) assert.equal(e.code, 'ERR_LB_CONNECT_FAILED');
    assert.match(afterOne[0]!.message, /\(1 attempt; the retry budget refused a retry\)/);
    assert.ok(sink.reports.length <= 20 + 4 * 3, `${sink.reports.length} attempts`);
    assert.equal(stats.activeRetries, 0, 'every admitted retry ended');
  });

  it('once the backends serve again, dials through the same budget connect and nothing more is refused', async () => {
    const { budget, balancer, backends } = await brownOut((b) => new RetryBudget(b));
    const refusedBefore = budget!.stats().refused;
    await Promise.all(backends.map((b) => b.set('serve')));
    const sockets = await Promise.all(Array.from({ length: 10 }, () => balancer.connect({ retries: 3, retryBudget: budget! })));
    for (const socket of sockets) socket.on('error', () => {});
    assert.equal(balancer.activeLeases, 10);
    assert.equal(budget!.stats().refused, refusedBefore);
    await waitFor(() => backends[0]!.connections + backends[1]!.connections === 10, 'the backends to hold the 10 connections');
    for (const socket of sockets) socket.end();
    await waitFor(() => backends[0]!.connections + backends[1]!.connections === 0, 'the connections to close');
  });

  it("a CircuitBreaker's maxRetries bounds the retries of every dial of its balancer", async () => {
    const breaker = new CircuitBreaker({ maxRetries: 2 });
    const { errors, sink } = await brownOut(undefined, breaker);
    const refused = errors.filter((e) => e.details['retryRefused'] === 'max-retries');
    assert.equal(refused.length, 18);
    assert.equal(breaker.stats().overflows.retries, 18);
    assert.equal(breaker.activeRetries, 0);
    assert.ok(sink.reports.length <= 20 + 2 * 3, `${sink.reports.length} attempts`);
  });

  it('TcpProxy: a refused retry closes the client with the termination of its last attempt (SC), the budget counts it', async () => {
    const clock = new ManualClock();
    const dead = await refusedPort();
    const sink = new RecordingSink();
    const pool = new Pool('fe', { clock, servers: [s('s1', dead)] });
    const balancer = new Balancer(pool);
    cleanup.push(() => balancer.destroy());
    const budget = new RetryBudget(balancer, { budgetPercent: 0, minRetryConcurrency: 1 });
    const proxy = new TcpProxy(balancer, { clock, observer: sink, retries: 3, timeoutConnectMs: Infinity, retryBudget: budget });
    const records: { termination: string; error?: Error | undefined; retries: number }[] = [];
    proxy.on('connection:close', (c) => records.push(c));
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    cleanup.push(async () => {
      proxy.destroy();
      await proxy.close();
    });
    const clients = [0, 1, 2].map(() => net.connect({ port, host: '127.0.0.1' }).on('error', () => {}));
    await waitFor(() => records.length >= 2, 'two connections refused a retry');
    for (const rec of records) {
      assert.equal(rec.termination, 'SC');
      assert.ok(LbError.is(rec.error) && rec.error.details['retryRefused'] === 'retry-budget');
      assert.equal(rec.retries, 0);
    }
    // The one admitted goes on retrying through its pauses, then ends SC after 4 attempts.
    for (let i = 0; i < 3; i++) {
      await sink.waitForReports(3 + i);
      clock.advance(1000);
    }
    await waitFor(() => records.length === 3, 'the third connection to end');
    assert.deepEqual([records[2]!.termination, records[2]!.retries], ['SC', 3]);
    assert.equal(budget.stats().refused, 2);
    for (const c of clients) await closedByPeer(c);
  });

  it('TcpProxy: a connection over maxConnections is closed SC with ERR_LB_CIRCUIT_OPEN; one over maxPending SQ', async () => {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const breaker = new CircuitBreaker({ maxConnections: 2 });
    const r = await proxyRig([s('s1', b.port, { maxconn: 1 })], {}, { circuitBreaker: breaker });
    cleanup.push(() => r.shutdown());
    const c1 = r.connect();
    await waitFor(() => r.balancer.activeLeases === 1, 'the first connection');
    const c2 = r.connect(); // s1 is full: waits in the queue (1 pending)
    await waitFor(() => r.balancer.queued === 1, 'the second to queue');
    breaker.update({ maxPending: 1 });
    const c3 = r.connect(); // pending limit reached
    const rec3 = await r.closed(1);
    assert.equal(rec3.termination, 'SQ');
    assert.ok(LbError.is(rec3.error) && rec3.error.code === 'ERR_LB_CIRCUIT_OPEN' && rec3.error.details['limit'] === 'pending');
    breaker.update({ maxConnections: 1, maxPending: 5 });
    const c4 = r.connect(); // 1 held, limit 1
    const rec4 = await r.closed(2);
    assert.equal(rec4.termination, 'SC');
    assert.ok(LbError.is(rec4.error) && rec4.error.details['limit'] === 'connections');
    assert.deepEqual(breaker.stats().overflows, { connections: 1, pending: 1, retries: 0 });
    for (const c of [c1, c2, c3, c4]) c.destroy();
  });
});
