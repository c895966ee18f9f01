import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { CheckSettings } from '../../src/health/active-checker-options.js';
import { checkInterval, firstCheckDelays, spreadInterval } from '../../src/health/check-schedule.js';
import { Pool } from '../../src/pool.js';
import { PASSED, REFUSED } from './support.js';

const settings = (interMs: number, more: Partial<CheckSettings> = {}): CheckSettings => ({
  interMs, fastinterMs: undefined, downinterMs: undefined, port: undefined, addr: undefined, ...more,
});

function checkedPool(n: number): Pool {
  const servers = Array.from({ length: n }, (_, i) => ({ name: `s${i}`, host: '127.0.0.1', port: 20_000 + i, check: true, rise: 2, fall: 3 }));
  return new Pool('be', { clock: new ManualClock(), servers });
}

describe("the check schedule (HAProxy's srv_getinter and start_checks)", () => {
  it('uses inter when fully up, fastinter in transition, downinter when fully down, each falling back to inter', () => {
    const pool = checkedPool(1);
    const s = pool.get('s0');
    const st = settings(2000, { fastinterMs: 500, downinterMs: 10_000 });
    assert.equal(checkInterval(s, st), 500, 'starts UP 1/3: in transition');
    pool.reportCheck(s, PASSED);
    assert.equal(checkInterval(s, st), 2000, 'fully up');
    for (let i = 0; i < 3; i++) pool.reportCheck(s, REFUSED);
    assert.equal(s.operationalState, 'down');
    assert.equal(checkInterval(s, st), 10_000, 'fully down');
    assert.equal(checkInterval(s, settings(2000)), 2000, 'no downinter: inter');
  });

  it('spreads the first checks of n servers over the interval in declaration order', () => {
    const pool = checkedPool(4);
    pool.servers.forEach((s) => pool.reportCheck(s, PASSED));
    assert.deepEqual(firstCheckDelays(pool.servers, () => settings(2000), 0), [0, 500, 1000, 1500]);
  });

  it('spreads over the smallest interval of at least one second, or the server’s own when larger, capped by max-spread-checks', () => {
    const pool = checkedPool(4);
    pool.servers.forEach((s) => pool.reportCheck(s, PASSED));
    const inter = [4000, 300, 8000, 4000];
    const of = (s: { name: string }): CheckSettings => settings(inter[Number(s.name.slice(1))]!);
    // m = max(4000, own): 4000, 4000 (300 ms is under the threshold), 8000, 4000; delay = floor(m × i / 4).
    assert.deepEqual(firstCheckDelays(pool.servers, of, 0), [0, 1000, 4000, 3000]);
    assert.deepEqual(firstCheckDelays(pool.servers, of, 2000), [0, 500, 1000, 1500]);
    assert.deepEqual(firstCheckDelays([], of, 0), []);
  });

  it('jitters each interval by ± spread-checks percent, never below zero', () => {
    assert.equal(spreadInterval(2000, 0, () => 0.5), 2000);
    assert.equal(spreadInterval(2000, 10, () => 0), 2200);
    assert.equal(spreadInterval(2000, 10, () => 0.5), 2000);
    assert.equal(spreadInterval(2000, 10, () => 0.9999), 1801);
    assert.equal(spreadInterval(1, 50, () => 0.9999), 1);
  });
});
