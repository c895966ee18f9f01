import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../src/errors.js';
import { Pool } from '../src/pool.js';

function pool(check = false) {
  const p = new Pool('fe', { servers: [
    { name: 's1', host: '127.0.0.1', port: 1, weight: 10, agent: true, check },
    { name: 's2', host: '127.0.0.1', port: 2, weight: 10 },
  ] });
  const events: string[] = [];
  p.on('agent:check', (s, r, previousHealth) => events.push(`agent ${s.name} ${r.status} ${r.info ?? ''} ${previousHealth}->${s.agentHealth ?? ''}`));
  p.on('server:state', (s, previous, cause) => events.push(`state ${s.name} ${previous}->${s.status} (${cause.source})`));
  return { p, s1: p.get('s1'), events };
}

describe('Pool.reportAgent: an agent check through the one writer (issue 12 item 12)', () => {
  it('starts with agent health 1 and status INI; a server without check shows no check', () => {
    const { s1 } = pool();
    assert.deepEqual([s1.agentEnabled, s1.agentHealth, s1.agentCheck?.status, s1.status], [true, 1, 'INI', 'no check']);
  });

  it('down takes the server down as DOWN (agent), up brings it back', () => {
    const { p, s1, events } = pool();
    assert.equal(p.reportAgent(s1, { line: 'down #going away', durationMs: 0 }), true);
    assert.deepEqual([s1.status, s1.operationalState, s1.usable, s1.agentHealth], ['DOWN (agent)', 'down', false, 0]);
    p.reportAgent(s1, { line: 'up' });
    assert.deepEqual([s1.status, s1.usable, s1.agentHealth], ['no check', true, 1]);
    assert.deepEqual(events, [
      'agent s1 L7STS via agent : down (going away) 1->0',
      'state s1 no check->DOWN (agent) (agent)',
      'agent s1 L7OK via agent : up 0->1',
      'state s1 DOWN (agent)->no check (agent)',
    ]);
  });

  it('applies weight, maxconn and admin words through the pool; drain shows DRAIN (agent)', () => {
    const { p, s1 } = pool();
    p.reportAgent(s1, { line: '50%' });
    p.reportAgent(s1, { line: 'maxconn:7' });
    assert.deepEqual([s1.weight, s1.maxconn, s1.agentCheck?.status], [5, 7, 'CHECKED']);
    p.reportAgent(s1, { line: 'drain' });
    assert.deepEqual([s1.adminState, s1.status], ['drain', 'DRAIN (agent)']);
    p.reportAgent(s1, { line: 'maint' });
    assert.equal(s1.status, 'MAINT');
    p.reportAgent(s1, { line: 'ready' });
    assert.deepEqual([s1.adminState, s1.status], ['ready', 'no check']);
  });

  it('a failure to reach the agent records its status and changes nothing else', () => {
    const { p, s1 } = pool();
    p.reportAgent(s1, { result: { status: 'L4CON', info: 'Connection refused', durationMs: 0 } });
    assert.deepEqual([s1.agentCheck?.status, s1.agentHealth, s1.status], ['L4CON', 1, 'no check']);
  });

  it('with a health check: down empties its counter, a passing health check cannot bring the server back, agent up can', () => {
    const { p, s1 } = pool(true);
    p.reportAgent(s1, { line: 'down' });
    assert.deepEqual([s1.status, s1.health], ['DOWN (agent)', 0]);
    for (let i = 0; i < 3; i++) p.reportCheck(s1, { status: 'L4OK' });
    assert.deepEqual([s1.operationalState, s1.status], ['down', 'DOWN (agent)']);
    p.reportAgent(s1, { line: 'up' });
    assert.deepEqual([s1.operationalState, s1.status, s1.health], ['up', 'UP', 4]);
  });

  it('{ force } sets the agent health (the CLI\'s set server agent up|down), changed from CLI; a server without agent is left alone', () => {
    const { p, s1, events } = pool();
    assert.equal(p.reportAgent(s1, { force: 'down' }), true);
    assert.deepEqual([s1.status, s1.agentCheck?.status], ['DOWN (agent)', 'INI']);
    p.reportAgent(s1, { force: 'up' });
    assert.equal(s1.status, 'no check');
    assert.deepEqual(events.filter((e) => e.startsWith('state')), ['state s1 no check->DOWN (agent) (admin)', 'state s1 DOWN (agent)->no check (admin)']);
    assert.equal(p.reportAgent(p.get('s2'), { force: 'down' }), false);
    assert.equal(p.reportAgent(p.get('s2'), { line: 'down' }), false);
    assert.throws(() => p.reportAgent(s1, { force: 'sideways' } as never), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG');
  });

  it('rejects a malformed report naming the field', () => {
    const { p, s1 } = pool();
    assert.throws(() => p.reportAgent(s1, { line: 5 } as never), /agent report\.line must be a string, got 5/);
  });
});
