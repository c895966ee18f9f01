import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import type { Lease } from '../../src/lease.js';
import { Pool } from '../../src/pool.js';
import { CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { RetryBudget } from '../../src/resilience/retry-budget.js';
import { servers } from '../helpers/picks.js';
import { toPrometheus } from '../../src/metrics/prometheus.js';

const isOpen = (limit: string) => (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_CIRCUIT_OPEN' && e.details['limit'] === limit;

function rig(breaker: CircuitBreaker, maxconn = 0) {
  const clock = new ManualClock();
  const pool = new Pool('db', { clock, servers: servers([1, 1], maxconn > 0 ? { maxconn } : {}) });
  return { clock, pool, balancer: new Balancer(pool, { circuitBreaker: breaker, timeoutQueueMs: 1000 }) };
}

describe('CircuitBreaker (Envoy circuit_breakers thresholds)', () => {
  it('has no limit by default: maxConnections, maxPending and maxRetries are Infinity', () => {
    const b = new CircuitBreaker();
    assert.deepEqual([b.maxConnections, b.maxPending, b.maxRetries], [Infinity, Infinity, Infinity]);
    const { balancer } = rig(b);
    for (let i = 0; i < 2000; i++) assert.ok(balancer.tryAcquire());
    assert.deepEqual(b.stats().overflows, { connections: 0, pending: 0, retries: 0 });
  });

  it('refuses the connection over maxConnections at once with ERR_LB_CIRCUIT_OPEN, counts it, and admits again after a release', () => {
    const breaker = new CircuitBreaker({ maxConnections: 3 });
    const overflows: string[] = [];
    breaker.on('circuit:overflow', (limit) => overflows.push(limit));
    const { balancer } = rig(breaker);
    const leases = [balancer.tryAcquire()!, balancer.tryAcquire()!, balancer.tryAcquire()!];
    assert.throws(() => balancer.tryAcquire(), (e: unknown) => isOpen('connections')(e) && (e as LbError).details['max'] === 3 && (e as LbError).details['current'] === 3);
    assert.throws(() => balancer.tryAcquire(), isOpen('connections'));
    assert.deepEqual(overflows, ['connections', 'connections']);
    assert.equal(breaker.stats().overflows.connections, 2);
    leases[0]!.release();
    assert.ok(balancer.tryAcquire());
    assert.equal(balancer.activeLeases, 3);
  });

  it('rejects acquire() over maxConnections without queueing it', async () => {
    const breaker = new CircuitBreaker({ maxConnections: 1 });
    const { balancer } = rig(breaker);
    await balancer.acquire();
    await assert.rejects(balancer.acquire(), isOpen('connections'));
    assert.equal(balancer.queued, 0);
  });

  it('lets at most maxPending callers wait when every server is full; the next is refused, the waiting ones are served', async () => {
    const breaker = new CircuitBreaker({ maxPending: 2 });
    const { balancer } = rig(breaker, 1);
    const held = [await balancer.acquire(), await balancer.acquire()];
    const waiting = [balancer.acquire(), balancer.acquire()];
    assert.equal(balancer.queued, 2);
    await assert.rejects(balancer.acquire(), (e: unknown) => isOpen('pending')(e) && (e as LbError).details['current'] === 2);
    assert.equal(breaker.stats().overflows.pending, 1);
    held[0]!.release();
    held[1]!.release();
    const served = await Promise.all(waiting);
    assert.deepEqual(served.map((l) => l.server.name).sort(), ['s1', 's2']);
  });

  it('keeps waiters waiting while a lowered maxConnections is reached, and serves them as connections close', async () => {
    const breaker = new CircuitBreaker({ maxConnections: 10 });
    const { balancer } = rig(breaker, 1);
    const held: Lease[] = [await balancer.acquire(), await balancer.acquire()];
    const waiter = balancer.acquire();
    breaker.update({ maxConnections: 1 });
    held[0]!.release(); // 1 held, limit 1: the waiter keeps waiting
    assert.equal(balancer.queued, 1);
    held[1]!.release();
    const lease = await waiter;
    assert.equal(balancer.activeLeases, 1);
    lease.release();
    assert.equal(breaker.maxConnections, 1);
    assert.equal(breaker.maxPending, Infinity, 'update keeps the limits not given');
  });

  it('admits at most maxRetries retries at once and counts the refusals', () => {
    const breaker = new CircuitBreaker({ maxRetries: 2 });
    assert.deepEqual([breaker.tryRetry(), breaker.tryRetry(), breaker.tryRetry()], [true, true, false]);
    assert.equal(breaker.activeRetries, 2);
    breaker.retryEnded();
    assert.equal(breaker.tryRetry(), true);
    assert.deepEqual(breaker.stats(), { maxConnections: Infinity, maxPending: Infinity, maxRetries: 2, activeRetries: 2, overflows: { connections: 0, pending: 0, retries: 1 } });
  });

  it('rejects bad limits, naming the option and the value', () => {
    for (const [k, v] of [['maxConnections', -1], ['maxPending', 1.5], ['maxRetries', '3']] as const) {
      assert.throws(() => new CircuitBreaker({ [k]: v }), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && e.message.startsWith(`${k} must be`));
    }
    assert.throws(() => new CircuitBreaker({ maxConnection: 3 } as never), /maxConnection/);
    const pool = new Pool('p', { servers: servers([1]) });
    assert.throws(() => new Balancer(pool, { circuitBreaker: {} as CircuitBreaker }), /circuitBreaker must be a CircuitBreaker/);
  });
});

describe('RetryBudget (Envoy retry_budget)', () => {
  const load = { activeLeases: 0, queued: 0 };

  it('allows max(⌊budgetPercent % of leases + queued⌋, minRetryConcurrency) retries at once: 20 % and 3 by default', () => {
    const budget = new RetryBudget(load);
    const limitAt = (active: number, queued: number): number => {
      load.activeLeases = active;
      load.queued = queued;
      return budget.limit;
    };
    assert.deepEqual([limitAt(0, 0), limitAt(10, 0), limitAt(19, 0), limitAt(20, 0), limitAt(100, 0), limitAt(100, 50), limitAt(1001, 0)], [3, 3, 3, 4, 20, 30, 200]);
    const quarter = new RetryBudget(load, { budgetPercent: 25, minRetryConcurrency: 1 });
    assert.deepEqual([limitAt(0, 0) && quarter.limit, (load.activeLeases = 10, quarter.limit)], [1, 2]);
  });

  it('refuses a retry past the limit, announces and counts it; a retry that ends frees its place', () => {
    load.activeLeases = 0;
    load.queued = 0;
    const budget = new RetryBudget(load, { minRetryConcurrency: 2 });
    const refused: [number, number][] = [];
    budget.on('retry:refused', (active, limit) => refused.push([active, limit]));
    assert.deepEqual([budget.tryRetry(), budget.tryRetry(), budget.tryRetry()], [true, true, false]);
    assert.deepEqual(refused, [[2, 2]]);
    budget.retryEnded();
    load.activeLeases = 20; // 20 % of 20 = 4
    assert.deepEqual([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()], [true, true, true, false]);
    assert.deepEqual(budget.stats(), { budgetPercent: 20, minRetryConcurrency: 2, activeRetries: 4, limit: 4, admitted: 5, refused: 2 });
    budget.update({ budgetPercent: 50 });
    assert.equal(budget.limit, 10);
  });

  it('rejects a budget out of 0–100, a negative floor, or a load without counts', () => {
    assert.throws(() => new RetryBudget(load, { budgetPercent: 120 }), /budgetPercent must be a number from 0 to 100, got 120/);
    assert.throws(() => new RetryBudget(load, { minRetryConcurrency: -1 }), /minRetryConcurrency/);
    assert.throws(() => new RetryBudget({} as never), /load must be a Balancer/);
  });
});

describe('circuit breaker and retry budget in the metrics', () => {
  it("renders a balancer's breaker overflows by limit, and a joined budget's limit, active retries and refusals", () => {
    const breaker = new CircuitBreaker({ maxConnections: 1 });
    const { balancer } = rig(breaker);
    balancer.tryAcquire();
    assert.throws(() => balancer.tryAcquire(), isOpen('connections'));
    const budget = new RetryBudget(balancer, { minRetryConcurrency: 1 });
    assert.equal(budget.tryRetry(), true);
    assert.equal(budget.tryRetry(), false);
    const text = toPrometheus({ pool: balancer, retryBudget: budget }, { prefix: 'lb_' });
    assert.match(text, /^lb_pool_circuit_overflow_total\{pool="db",limit="connections"\} 1$/m);
    assert.match(text, /^lb_pool_circuit_overflow_total\{pool="db",limit="pending"\} 0$/m);
    assert.match(text, /^lb_pool_retries_active\{pool="db",gate="retry-budget"\} 1$/m);
    assert.match(text, /^lb_pool_retry_budget_limit\{pool="db"\} 1$/m);
    assert.match(text, /^lb_pool_retry_budget_refused_total\{pool="db"\} 1$/m);
    assert.throws(() => toPrometheus({ pool: balancer, retryBudget: {} as never }), /retryBudget must be a RetryBudget or its stats\(\)/);
  });
});
