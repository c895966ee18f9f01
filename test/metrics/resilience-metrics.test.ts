import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { toPrometheus } from '../../src/metrics/prometheus.js';
import { showStatRecords } from '../../src/metrics/show-stat.js';
import { Pool } from '../../src/pool.js';
import { OutlierDetector } from '../../src/resilience/outlier-detector.js';
import { parsePrometheus } from '../helpers/prometheus-parser.js';

function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const family = parsePrometheus(text).get(name);
  return family?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('metrics of tiers, panic and outlier ejections', () => {
  it('exposes ejections per server and per pool when the detector is joined', () => {
    const clock = new ManualClock();
    const pool = new Pool('db', { clock, servers: [1, 2, 3].map((i) => ({ name: `s${i}`, host: '127.0.0.1', port: 23000 + i })) });
    const detector = new OutlierDetector(pool);
    for (let i = 0; i < 5; i++) detector.reportOutcome(pool.get('s2'), { kind: 'refused', durationMs: 0 });
    const text = toPrometheus({ pool, outlier: detector });
    assert.equal(value(text, 'switchyard_server_outlier_ejected', { server: 's2' }), 1);
    assert.equal(value(text, 'switchyard_server_outlier_ejected', { server: 's1' }), 0);
    assert.equal(value(text, 'switchyard_server_outlier_ejections_total', { server: 's2' }), 1);
    assert.equal(value(text, 'switchyard_pool_outlier_ejected', { pool: 'db' }), 1);
    assert.equal(value(text, 'switchyard_server_usable', { server: 's2' }), 0);
    clock.advance(30_000);
    const after = toPrometheus({ pool, outlier: detector.stats() });
    assert.equal(value(after, 'switchyard_server_outlier_ejected', { server: 's2' }), 0);
    assert.equal(value(after, 'switchyard_pool_outlier_ejections_total', { pool: 'db' }), 1);
    assert.equal(parsePrometheus(toPrometheus(pool)).has('switchyard_server_outlier_ejected'), false, 'nothing without a detector');
  });

  it('exposes each tier\'s load and panic, and the picks made in panic', () => {
    const pool = new Pool('web', {
      panicThresholdPercent: 50,
      servers: [
        ...[1, 2, 3, 4].map((i) => ({ name: `a${i}`, host: '127.0.0.1', port: 23100 + i })),
        ...[1, 2].map((i) => ({ name: `b${i}`, host: '127.0.0.1', port: 23200 + i, priority: 1 })),
      ],
    });
    const balancer = new Balancer(pool);
    for (const n of ['a1', 'a2', 'a3', 'b1', 'b2']) pool.setHealth(n, 'down');
    balancer.tryAcquire()?.release();
    const text = toPrometheus(balancer);
    assert.equal(value(text, 'switchyard_pool_tier_panic', { tier: '0' }), 1);
    assert.equal(value(text, 'switchyard_pool_tier_panic', { tier: '1' }), 1);
    assert.equal(value(text, 'switchyard_pool_tier_load_percent', { tier: '0' }), 67, 'total panic: by number of servers, 4 of 6');
    assert.equal(value(text, 'switchyard_pool_tier_load_percent', { tier: '1' }), 33);
    assert.equal(value(text, 'switchyard_pool_tier_usable_servers', { tier: '0' }), 1);
    assert.equal(value(text, 'switchyard_pool_panic_picks_total', { pool: 'web' }), 1);
  });

  it('leaves show stat as HAProxy prints it: the ejection shows in usable, not in a new column or the status', () => {
    const pool = new Pool('db', { servers: [1, 2].map((i) => ({ name: `s${i}`, host: '127.0.0.1', port: 23300 + i })) });
    const detector = new OutlierDetector(pool);
    const before = showStatRecords({ pool, outlier: detector });
    for (let i = 0; i < 5; i++) detector.reportOutcome(pool.get('s1'), { kind: 'refused', durationMs: 0 });
    const after = showStatRecords({ pool, outlier: detector });
    assert.deepEqual(Object.keys(after[0]!), Object.keys(before[0]!));
    assert.equal(after[0]!.status, before[0]!.status);
  });
});
