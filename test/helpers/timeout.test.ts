import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withTimeout } from './timeout.js';

describe('withTimeout (the tests\' hang guard)', () => {
  it('passes a settled promise through, value or error', async () => {
    assert.equal(await withTimeout(Promise.resolve(7), 1000, 'seven'), 7);
    await assert.rejects(withTimeout(Promise.reject(new Error('own')), 1000, 'x'), /^Error: own$/);
  });

  it('rejects a promise that never settles, saying what it waited for (a function is asked only then)', async () => {
    let asked = 0;
    const never = new Promise<never>(() => {});
    await assert.rejects(withTimeout(never, 1, () => `reports, have ${++asked}`), { message: 'timed out after 1 ms waiting for reports, have 1' });
    await assert.rejects(withTimeout(never, 1, 'the listener'), { message: 'timed out after 1 ms waiting for the listener' });
  });
});
