import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { StateCause } from '../../src/state/check-result.js';
import { SlowStartRamps } from '../../src/state/slowstart.js';

const CAUSE: StateCause = { source: 'admin' };

function ramps(clock: ManualClock): { ramps: SlowStartRamps<{ slowstartMs: number }>; steps: [number, number][] } {
  const steps: [number, number][] = [];
  const r = new SlowStartRamps<{ slowstartMs: number }>(clock, (_server, factor) => steps.push([clock.now(), factor]));
  return { ramps: r, steps };
}

describe('slow-start ramps', () => {
  it('start at factor 1 of 16 and step every second of a 10 s ramp up to 16, which ends the ramp', () => {
    const clock = new ManualClock();
    const { ramps: r, steps } = ramps(clock);
    const server = { slowstartMs: 10_000 };
    assert.equal(r.begin(server, CAUSE), 1);
    clock.advance(12_000);
    // floor((16 × elapsed_s + 10) / 10) at 1..9 s, then 16 at 10 s.
    assert.deepEqual(steps, [
      [1000, 2], [2000, 4], [3000, 5], [4000, 7], [5000, 9], [6000, 10], [7000, 12], [8000, 13], [9000, 15], [10_000, 16],
    ]);
    assert.equal(clock.pending, 0, 'no timer left once the factor reached 16');
    assert.equal(r.end(server), false, 'the ramp already ended by itself');
  });

  it('step every slowstart / 20 when that is longer than a second', () => {
    const clock = new ManualClock();
    const { ramps: r, steps } = ramps(clock);
    r.begin({ slowstartMs: 60_000 }, CAUSE);
    clock.advance(9000);
    assert.deepEqual(steps.map(([at]) => at), [3000, 6000, 9000]);
  });

  it('end() stops a ramp in progress, and begin() restarts one from factor 1', () => {
    const clock = new ManualClock();
    const { ramps: r, steps } = ramps(clock);
    const server = { slowstartMs: 10_000 };
    r.begin(server, CAUSE);
    clock.advance(2000);
    assert.equal(r.end(server), true);
    clock.advance(5000);
    assert.equal(steps.length, 2, 'no step after end()');
    assert.equal(r.begin(server, CAUSE), 1);
    clock.advance(1000);
    assert.deepEqual(steps.at(-1), [8000, 2], 'the new ramp counts from its own start');
  });

  it('hands the cause of the recovery to every step', () => {
    const clock = new ManualClock();
    const causes: StateCause[] = [];
    const r = new SlowStartRamps<{ slowstartMs: number }>(clock, (_s, _f, cause) => causes.push(cause));
    const cause: StateCause = { source: 'admin' };
    r.begin({ slowstartMs: 2000 }, cause);
    clock.advance(2000);
    assert.equal(causes.length, 2);
    assert.ok(causes.every((c) => c === cause));
  });
});
