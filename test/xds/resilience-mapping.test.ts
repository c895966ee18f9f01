/**
 * The issue-16 features a control plane drives through a followed cluster: EDS priorities as priority tiers with the
 * EDS overprovisioning factor, locality weights as the pool's, CDS healthy_panic_threshold as the panic threshold,
 * and CDS outlier_detection as an OutlierDetector on the pool, fed through the follower.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { Pool } from '../../src/pool.js';
import type { OutlierDetector } from '../../src/resilience/outlier-detector.js';
import { Balancer } from '../../src/balancer.js';
import { RetryBudget } from '../../src/resilience/retry-budget.js';
import { retryBudgetOptionsOf } from '../../src/xds/breaker-mapping.js';
import { followXdsCluster } from '../../src/xds/cluster-follower.js';
import { XdsClient } from '../../src/xds/xds-client.js';
import { nextEvent } from '../helpers/list-source.js';
import { withTimeout } from '../helpers/timeout.js';
import { ManagementServer } from './helpers/management-server.js';
import { type TestLocality, assignment, bootstrapFor, edsCluster } from './helpers/resources.js';

const guard = <T>(p: Promise<T>, what: string): Promise<T> => withTimeout(p, 15_000, what);
const REFUSED = { kind: 'refused', durationMs: 1 } as const;

describe('a followed cluster drives tiers, panic, locality weights and outlier detection', () => {
  let cp: ManagementServer;
  before(async () => {
    cp = await ManagementServer.start();
  });
  after(() => cp.stop());

  it('maps EDS priorities, overprovisioning factor and locality weights, and CDS healthy_panic_threshold onto the pool', async () => {
    const eds = (localities: TestLocality[], factor?: number): void => {
      const cla = assignment('tiers', localities);
      cp.set('endpoints', [factor === undefined ? cla : { ...cla, policy: { overprovisioning_factor: { value: factor } } }]);
    };
    cp.set('cluster', [edsCluster('tiers', { extra: { common_lb_config: { healthy_panic_threshold: { value: 30 } } } })]);
    const twoTiers: TestLocality[] = [
      { zone: 'a', weight: 3, endpoints: [{ port: 9001 }, { port: 9002, health: 'UNHEALTHY' }] },
      { zone: 'b', weight: 1, endpoints: [{ port: 9003 }] },
      { zone: 'c', priority: 1, endpoints: [{ port: 9004 }] },
    ];
    eds(twoTiers);
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address) });
    const pool = new Pool('tiers', { clock: new ManualClock() });
    const follower = followXdsCluster(pool, client, 'tiers');
    try {
      await guard(follower.ready, 'the first endpoints');
      assert.deepEqual(pool.servers.map((s) => [s.name, s.priority]), [['127.0.0.1:9001', 0], ['127.0.0.1:9002', 0], ['127.0.0.1:9003', 0], ['127.0.0.1:9004', 1]]);
      // Priority 0: 2 of 3 usable (9002 held out, counted): ⌊1.4 × 2/3⌋ = 93 %, 7 % spill to priority 1.
      assert.deepEqual(pool.tiers.map((t) => [t.priority, t.loadPercent]), [[0, 93], [1, 7]]);
      const snapshot = pool.snapshot().tiers!;
      assert.deepEqual(snapshot[0]!.localities!.map((l) => [l.name, l.weight, Math.round(l.effectiveWeight * 100) / 100]), [
        ['test/a/', 3, 2.1], // 3 × min(1, 1.4 × 1/2)
        ['test/b/', 1, 1],
      ]);

      // The EDS overprovisioning factor 200: half of priority 0 is enough for all of its load.
      let applied = nextEvent(follower, 'xds:endpoints');
      eds(twoTiers, 200);
      await guard(applied, 'the factor');
      assert.deepEqual(pool.tiers.map((t) => [t.priority, t.loadPercent]), [[0, 100], [1, 0]]);

      // One tier, 1 of 4 usable (25 %): threshold 30 → panic; the threshold 0 from CDS turns it off.
      applied = nextEvent(follower, 'xds:endpoints');
      eds([{ zone: 'a', endpoints: [{ port: 9001 }, { port: 9002, health: 'UNHEALTHY' }, { port: 9003, health: 'TIMEOUT' }, { port: 9005, health: 'UNHEALTHY' }] }]);
      await guard(applied, 'the single tier');
      assert.equal(pool.find('127.0.0.1:9004'), undefined);
      assert.deepEqual(pool.tiers.map((t) => [t.priority, t.panic]), [[0, true]]);
      const panicOff = nextEvent(pool, 'tier:panic');
      cp.set('cluster', [edsCluster('tiers', { extra: { common_lb_config: { healthy_panic_threshold: { value: 0 } } } })]);
      await guard(panicOff, 'panic off');
      assert.deepEqual(pool.tiers.map((t) => [t.priority, t.panic]), [[0, false]]);
    } finally {
      await follower.close();
      await client.close();
    }
  });

  it('runs the OutlierDetector outlier_detection asks for, fed through the follower, and replaces or closes it as CDS changes', async () => {
    const outlier = { consecutive_5xx: { value: 3 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: { value: 50 } };
    cp.set('cluster', [edsCluster('od', { extra: { outlier_detection: outlier } })]);
    cp.set('endpoints', [assignment('od', [{ endpoints: [{ port: 9101 }, { port: 9102 }, { port: 9103 }, { port: 9104 }] }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address) });
    const clock = new ManualClock();
    const pool = new Pool('od', { clock });
    const follower = followXdsCluster(pool, client, 'od');
    try {
      await guard(follower.ready, 'the endpoints');
      const detector = follower.outlierDetector!;
      assert.ok(detector !== undefined, 'a detector runs');
      assert.equal(detector.pool, pool);
      assert.equal(detector.options.consecutiveFailures, 3);
      assert.equal(detector.options.maxEjectionPercent, 50);
      assert.equal(detector.options.alwaysEjectOneHost, false);
      assert.equal(detector.options.splitLocalOriginErrors, false);
      const a = pool.get('127.0.0.1:9101');
      for (let i = 0; i < 3; i++) follower.reportOutcome(a, REFUSED);
      assert.equal(a.holds.get('outlier'), 'out', 'three refused connections in a row eject (split off: they count as failures)');
      assert.equal(a.usable, false);
      clock.advance(30_000);
      assert.equal(a.holds.get('outlier'), undefined, 'back after base_ejection_time');

      // The same outlier_detection again keeps the detector; another one replaces it.
      let changed = nextEvent<[OutlierDetector | undefined, OutlierDetector | undefined]>(follower, 'xds:outlier');
      cp.set('cluster', [edsCluster('od', { extra: { outlier_detection: { ...outlier, consecutive_5xx: { value: 2 } } } })]);
      const [next, previous] = await guard(changed, 'the new detector');
      assert.equal(previous, detector);
      assert.equal(next, follower.outlierDetector);
      assert.equal(next!.options.consecutiveFailures, 2);
      const b = pool.get('127.0.0.1:9102');
      follower.reportOutcome(b, REFUSED);
      follower.reportResult(b, 'failure');
      assert.equal(b.holds.get('outlier'), 'out');

      // outlier_detection removed: the detector is closed and its ejection lifted.
      changed = nextEvent(follower, 'xds:outlier');
      cp.set('cluster', [edsCluster('od')]);
      const [none] = await guard(changed, 'no detector');
      assert.equal(none, undefined);
      assert.equal(follower.outlierDetector, undefined);
      assert.equal(b.holds.get('outlier'), undefined);
      follower.reportOutcome(b, REFUSED); // nothing runs: a no-op
    } finally {
      await follower.close();
      await client.close();
    }
  });

  it('leaves outlier detection to the program with outlierDetection: false', async () => {
    cp.set('cluster', [edsCluster('od-off', { extra: { outlier_detection: { consecutive_5xx: { value: 3 } } } })]);
    cp.set('endpoints', [assignment('od-off', [{ endpoints: [{ port: 9201 }] }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address) });
    const pool = new Pool('od-off', { clock: new ManualClock() });
    const follower = followXdsCluster(pool, client, 'od-off', { outlierDetection: false });
    try {
      await guard(follower.ready, 'the endpoints');
      assert.equal(follower.cluster!.outlierDetection!.consecutive5xx, 3, 'parsed and reported');
      assert.equal(follower.outlierDetector, undefined);
    } finally {
      await follower.close();
      await client.close();
    }
  });

  it('keeps the follower\'s circuit breaker at the cluster\'s DEFAULT thresholds (Envoy\'s 1024/1024/3 when unset) and reads retry_budget', async () => {
    cp.set('cluster', [edsCluster('cb', { extra: { circuit_breakers: { thresholds: [
      { priority: 'HIGH', max_connections: { value: 7 } },
      { priority: 'DEFAULT', max_connections: { value: 2 }, max_retries: { value: 1 }, retry_budget: { budget_percent: { value: 50 } } },
    ] } } })]);
    cp.set('endpoints', [assignment('cb', [{ endpoints: [{ port: 9301 }] }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address) });
    const pool = new Pool('cb', { clock: new ManualClock() });
    const follower = followXdsCluster(pool, client, 'cb');
    const breaker = follower.circuitBreaker;
    assert.deepEqual([breaker.maxConnections, breaker.maxPending, breaker.maxRetries], [1024, 1024, 3], 'Envoy\'s defaults before the first CDS');
    try {
      await guard(follower.ready, 'the endpoints');
      assert.deepEqual([breaker.maxConnections, breaker.maxPending, breaker.maxRetries], [2, 1024, 1]);
      const balancer = new Balancer(pool, { circuitBreaker: breaker });
      const budget = new RetryBudget(balancer, retryBudgetOptionsOf(follower.cluster!.circuitBreakers));
      assert.equal(budget.stats().budgetPercent, 50);
      assert.equal(budget.stats().minRetryConcurrency, 3);
      // The control plane drops the thresholds: the same breaker goes back to Envoy's defaults.
      const changed = nextEvent(follower, 'xds:cluster');
      cp.set('cluster', [edsCluster('cb')]);
      await guard(changed, 'the new cluster');
      assert.equal(follower.circuitBreaker, breaker);
      assert.deepEqual([breaker.maxConnections, breaker.maxPending, breaker.maxRetries], [1024, 1024, 3]);
      assert.equal(retryBudgetOptionsOf(follower.cluster!.circuitBreakers), undefined);
      balancer.close();
    } finally {
      await follower.close();
      await client.close();
    }
  });
});
