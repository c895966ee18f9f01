import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  healthAfterFailure,
  healthAfterSuccess,
  healthBeforeOnError,
  healthDisplay,
  intervalKind,
  slowstartFactor,
  slowstartStepMs,
} from '../../src/state/health-counter.js';

/** Applies results ('+' pass, '-' fail) from `health` and returns every intermediate counter. */
function walk(health: number, results: string, rise: number, fall: number): number[] {
  const seen: number[] = [];
  for (const r of results) {
    health = r === '+' ? healthAfterSuccess(health, rise, fall) : healthAfterFailure(health, rise);
    seen.push(health);
  }
  return seen;
}

describe('the health counter (rise 2, fall 3: range 0..4)', () => {
  it('takes exactly fall consecutive failures to go from full to 0', () => {
    assert.deepEqual(walk(4, '---', 2, 3), [3, 2, 0]);
  });

  it('drops to 0 as soon as a failure takes it below rise', () => {
    assert.equal(healthAfterFailure(2, 2), 0);
    assert.equal(healthAfterFailure(5, 5), 0);
  });

  it('stays at 0 on further failures', () => {
    assert.deepEqual(walk(0, '---', 2, 3), [0, 0, 0]);
  });

  it('takes exactly rise consecutive successes to go from 0 to full, jumping to full on reaching rise', () => {
    assert.deepEqual(walk(0, '++', 2, 3), [1, 4]);
    assert.deepEqual(walk(0, '+++', 3, 2), [1, 2, 4]);
  });

  it('moves one step per result when results interleave', () => {
    assert.deepEqual(walk(4, '-+-', 2, 3), [3, 4, 3]);
    assert.deepEqual(walk(0, '+-+', 2, 3), [1, 0, 1]);
  });

  it('makes one failed first check fatal from the 2.6 initial state (health = rise)', () => {
    assert.equal(healthAfterFailure(2, 2), 0);
    assert.equal(healthAfterSuccess(2, 2, 3), 4);
  });

  it('works with rise 1 and fall 1 (range 0..1)', () => {
    assert.deepEqual(walk(1, '-+-', 1, 1), [0, 1, 0]);
  });
});

describe('health display', () => {
  it('shows n/fall while up and n/rise while down, as HAProxy does', () => {
    assert.deepEqual(healthDisplay(4, 2, 3), { value: 3, of: 3, up: true });
    assert.deepEqual(healthDisplay(3, 2, 3), { value: 2, of: 3, up: true });
    assert.deepEqual(healthDisplay(2, 2, 3), { value: 1, of: 3, up: true });
    assert.deepEqual(healthDisplay(1, 2, 3), { value: 1, of: 2, up: false });
    assert.deepEqual(healthDisplay(0, 2, 3), { value: 0, of: 2, up: false });
  });
});

describe('on-error adjustments before the simulated failed check', () => {
  it('sudden-death caps the counter at rise + 1 so one failure leaves UP 1/fall', () => {
    const h = healthBeforeOnError(4, 2, 'sudden-death');
    assert.equal(h, 3);
    assert.equal(healthAfterFailure(h, 2), 2);
  });

  it('sudden-death leaves a counter at or below rise + 1 alone', () => {
    assert.equal(healthBeforeOnError(2, 2, 'sudden-death'), 2);
    assert.equal(healthBeforeOnError(3, 2, 'sudden-death'), 3);
  });

  it('mark-down sets the counter to rise so the failure takes the server down', () => {
    assert.equal(healthAfterFailure(healthBeforeOnError(4, 2, 'mark-down'), 2), 0);
  });

  it('fail-check and fastinter leave the counter alone', () => {
    assert.equal(healthBeforeOnError(4, 2, 'fail-check'), 4);
    assert.equal(healthBeforeOnError(4, 2, 'fastinter'), 4);
  });
});

describe('interval selection (srv_getinter)', () => {
  it('uses inter when full, fastinter in transition, downinter when fully down', () => {
    assert.equal(intervalKind(4, 2, 3, false), 'inter');
    assert.equal(intervalKind(3, 2, 3, false), 'fast');
    assert.equal(intervalKind(2, 2, 3, false), 'fast');
    assert.equal(intervalKind(1, 2, 3, true), 'fast');
    assert.equal(intervalKind(0, 2, 3, true), 'down');
  });
});

describe('slow-start weight factor', () => {
  it('follows floor((16 × elapsed + ss) / ss) in whole seconds, 16 at the end', () => {
    const factors = Array.from({ length: 12 }, (_, s) => slowstartFactor(s * 1000, 10_000));
    assert.deepEqual(factors, [1, 2, 4, 5, 7, 9, 10, 12, 13, 15, 16, 16]);
  });

  it('gives the weights HAProxy showed for weight 100, slowstart 10s (CSV weight rounds eweight/16 up)', () => {
    const csv = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((s) => Math.ceil((100 * slowstartFactor(s * 1000, 10_000)) / 16));
    assert.deepEqual(csv, [7, 13, 25, 32, 44, 57, 63, 75, 82]);
  });

  it('counts only whole seconds', () => {
    assert.equal(slowstartFactor(999, 10_000), 1);
    assert.equal(slowstartFactor(1999, 10_000), 2);
  });

  it('is recomputed every max(1 s, slowstart / 20)', () => {
    assert.equal(slowstartStepMs(10_000), 1000);
    assert.equal(slowstartStepMs(60_000), 3000);
  });
});
