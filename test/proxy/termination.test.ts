import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError, type LbErrorCode } from '../../src/errors.js';
import { describeTermination, dialFailureCode } from '../../src/proxy/termination.js';

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

  it("name a connection that never reached a server after the dialer's error code", () => {
    const code = (c: LbErrorCode): string => dialFailureCode(new LbError(c, 'test'));
    assert.equal(code('ERR_LB_QUEUE_TIMEOUT'), 'sQ');
    assert.equal(code('ERR_LB_QUEUE_FULL'), 'SQ');
    assert.equal(code('ERR_LB_CLOSED'), 'KQ');
    assert.equal(code('ERR_LB_CONNECT_TIMEOUT'), 'sC');
    assert.equal(code('ERR_LB_CONNECT_FAILED'), 'SC');
    assert.equal(code('ERR_LB_NO_SERVER'), 'SC');
  });
});
