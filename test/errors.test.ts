import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CODES, LbError } from '../src/errors.js';

describe('LbError', () => {
  it('documents every error code in docs/errors.md, and documents no other', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `(ERR_LB_[A-Z_]+)` \|/gm)].map((m) => m[1]));
    assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
  });

  it('is recognised by its brand, even from another copy of the package', () => {
    const err = new LbError('ERR_LB_NO_SERVER', 'none');
    assert.equal(LbError.is(err), true);
    const foreign = Object.assign(new Error('x'), { [Symbol.for('switchyard.LbError')]: true });
    assert.equal(LbError.is(foreign), true);
    assert.equal(LbError.is(new Error('x')), false);
    assert.equal(LbError.is(null), false);
    assert.equal(err.name, 'LbError');
    assert.ok(err instanceof Error);
  });

  it('keeps the wrapped cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new LbError('ERR_LB_ABORTED', 'stopped', { cause });
    assert.equal(err.cause, cause);
  });
});
