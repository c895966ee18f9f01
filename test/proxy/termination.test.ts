import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeTermination } from '../../src/proxy/termination.js';

describe('termination codes', () => {
  it('describe the cause and the phase in words', () => {
    assert.equal(describeTermination('--'), 'normal end');
    assert.equal(describeTermination('sC'), 'server timeout while connecting');
    assert.equal(describeTermination('sQ'), 'server timeout while queued');
    assert.equal(describeTermination('SD'), 'server aborted, refused, or unavailable during the transfer');
    assert.equal(describeTermination('CD'), 'client aborted during the transfer');
    assert.equal(describeTermination('D-'), 'server went down (shutdown-sessions)');
    assert.equal(describeTermination('DC'), 'server went down (shutdown-sessions) while connecting');
  });
});
