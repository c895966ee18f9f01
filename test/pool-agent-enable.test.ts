import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { LbError } from '../src/errors.js';
import { Pool } from '../src/pool.js';

describe('pool.reportAgent({ enabled }) (HAProxy enable/disable agent)', () => {
  it('a disabled agent ignores replies, no longer keeps its server down, and can be enabled again', () => {
    const clock = new ManualClock();
    const pool = new Pool('be', { clock, servers: [{ name: 's1', host: '127.0.0.1', port: 1, agent: true }] });
    const s1 = pool.get('s1');
    assert.equal(pool.reportAgent(s1, { line: 'down' }), true);
    assert.equal(s1.status, 'DOWN (agent)');
    assert.equal(pool.reportAgent(s1, { enabled: false }), true);
    assert.equal(s1.agentEnabled, false);
    assert.equal(s1.status, 'DOWN');
    assert.equal(pool.reportAgent(s1, { line: 'up' }), false, 'a disabled agent takes no reply');
    assert.equal(s1.snapshot().agentEnabled, false);
    assert.equal(pool.reportAgent(s1, { enabled: true }), true);
    assert.equal(s1.agentEnabled, true);
    assert.equal(s1.status, 'DOWN (agent)');
    assert.equal(pool.reportAgent(s1, { line: 'up' }), true);
    assert.equal(s1.status, 'no check');
  });

  it('refuses a server without an agent and a bad value', () => {
    const pool = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: 1, agent: true }, { name: 's2', host: '127.0.0.1', port: 2 }] });
    assert.equal(pool.reportAgent(pool.get('s2'), { enabled: true }), false);
    assert.throws(() => pool.reportAgent(pool.get('s1'), { enabled: 'yes' as unknown as boolean }), (e) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG');
  });
});
