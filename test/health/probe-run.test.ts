import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { Probe } from '../../src/health/probe.js';
import { runProbe } from '../../src/health/probe-run.js';
import { Pool } from '../../src/pool.js';
import { flush } from './support.js';

const server = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: 1, check: true }] }).get('s1');

/** A probe that passes at once and leaves work that ends only when its signal aborts; records the abort reason. */
function lingeringProbe(seen: { aborted?: string }): Probe {
  return async (_s, _signal, ctx) => {
    ctx.linger?.((signal) => new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => {
        seen.aborted = (signal.reason as Error).name;
        resolve();
      });
    }));
    return { status: 'L4OK' };
  };
}

describe('runProbe: work that lingers after the result', () => {
  it('reports the result at once and finishes when the deadline aborts the lingering work', async () => {
    const clock = new ManualClock();
    const seen: { aborted?: string } = {};
    const run = runProbe({ probe: lingeringProbe(seen), server, host: '127.0.0.1', port: 1, clock, connectBudgetMs: 100, exchangeBudgetMs: undefined });
    assert.deepEqual(await run.result, { status: 'L4OK', durationMs: 0 });
    let finished = false;
    void run.finished.then(() => (finished = true));
    clock.advance(99);
    await flush();
    assert.equal(finished, false);
    clock.advance(1);
    await flush();
    assert.equal(seen.aborted, 'TimeoutError');
    assert.equal(finished, true);
  });

  it('cancel() after the result aborts the lingering work', async () => {
    const clock = new ManualClock();
    const seen: { aborted?: string } = {};
    const run = runProbe({ probe: lingeringProbe(seen), server, host: '127.0.0.1', port: 1, clock, connectBudgetMs: 100, exchangeBudgetMs: undefined });
    await run.result;
    run.cancel();
    await run.finished;
    assert.equal(seen.aborted, 'LbError');
  });

  it('finishes with the result when nothing lingers', async () => {
    const clock = new ManualClock();
    const run = runProbe({ probe: async () => ({ status: 'L4OK' }), server, host: '127.0.0.1', port: 1, clock, connectBudgetMs: 100, exchangeBudgetMs: undefined });
    await run.result;
    await run.finished;
  });
});
