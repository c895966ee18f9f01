import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import type { CheckResult } from '../../src/state/check-result.js';
import { Pool } from '../../src/pool.js';
import type { ServerOptions } from '../../src/server.js';
import { PASSED, REFUSED } from '../health/support.js';

function pool(extra: Partial<ServerOptions> = {}, clock = new ManualClock()): Pool {
  return new Pool('fe', {
    clock,
    servers: [
      { name: 's1', host: '127.0.0.1', port: 19001, check: true, ...extra },
      { name: 's2', host: '127.0.0.1', port: 19002, check: true },
    ],
  });
}

function results(p: Pool, name: string, list: readonly CheckResult[]): string[] {
  const s = p.get(name);
  return list.map((r) => {
    p.reportCheck(s, r);
    return s.status;
  });
}

describe('initial state of a checked server', () => {
  it('starts UP 1/fall with check status INI and health = rise, and takes traffic (HAProxy 2.6)', () => {
    const s = pool().get('s1');
    assert.equal(s.status, 'UP 1/3');
    assert.equal(s.checkStatus, 'INI');
    assert.equal(s.health, 2);
    assert.equal(s.usable, true);
  });

  it('honours initState fully-up, down and fully-down', () => {
    assert.equal(pool({ initState: 'fully-up' }).get('s1').status, 'UP');
    assert.equal(pool({ initState: 'down' }).get('s1').status, 'DOWN 1/2');
    assert.equal(pool({ initState: 'fully-down' }).get('s1').status, 'DOWN');
    assert.equal(pool({ initState: 'fully-down' }).get('s1').usable, false);
  });

  it('shows "no check" for a server without checks and ignores results for it', () => {
    const p = new Pool('fe', { servers: [{ name: 'n', host: '127.0.0.1', port: 1 }] });
    const n = p.get('n');
    assert.equal(n.status, 'no check');
    assert.equal(n.checkStatus, undefined);
    assert.equal(p.reportCheck(n, REFUSED), false);
    assert.equal(n.status, 'no check');
  });
});

describe('Pool.reportCheck: the rise/fall state machine', () => {
  it('marks a server down after one failed first check (UP 1/3 → DOWN), counting chkfail and chkdown once', () => {
    const p = pool();
    const s = p.get('s1');
    assert.deepEqual(results(p, 's1', [REFUSED]), ['DOWN']);
    assert.equal(s.checkFailures, 1);
    assert.equal(s.downTransitions, 1);
    assert.equal(s.checkStatus, 'L4CON');
  });

  it('makes the server fully up after one passed first check', () => {
    assert.deepEqual(results(pool(), 's1', [PASSED]), ['UP']);
  });

  it('marks a fully-up server down after exactly fall consecutive failures', () => {
    const p = pool({ initState: 'fully-up' });
    assert.deepEqual(results(p, 's1', [REFUSED, REFUSED, REFUSED]), ['UP 2/3', 'UP 1/3', 'DOWN']);
  });

  it('brings a down server up after exactly rise consecutive successes', () => {
    const p = pool({ initState: 'fully-down' });
    assert.deepEqual(results(p, 's1', [PASSED, PASSED]), ['DOWN 1/2', 'UP']);
  });

  it('does not count failures while the counter is already 0', () => {
    const p = pool({ initState: 'fully-down' });
    results(p, 's1', [REFUSED, REFUSED, REFUSED]);
    assert.equal(p.get('s1').checkFailures, 0);
    assert.equal(p.get('s1').downTransitions, 0);
  });

  it('keeps a conditionally passed (L7OKC) server out of rotation as NOLB', () => {
    const p = pool({ initState: 'fully-up' });
    assert.deepEqual(results(p, 's1', [{ status: 'L7OKC', code: 404 }]), ['NOLB']);
    assert.equal(p.get('s1').usable, false);
    assert.deepEqual(results(p, 's1', [PASSED]), ['UP']);
  });

  it('updates the state before check:fail, and emits check:fail before server:down and pool changes', () => {
    const p = new Pool('fe', { clock: new ManualClock(), servers: [{ name: 's1', host: '127.0.0.1', port: 1, check: true }] });
    const s = p.get('s1');
    const seen: string[] = [];
    p.on('check:fail', (server, cause, previousHealth, previousStatus) => {
      seen.push(`check:fail ${server.status} ${cause.source} ${cause.result.status} from ${previousHealth} ${previousStatus}`);
    });
    p.on('server:down', (_s, cause) => seen.push(`server:down ${cause.source}`));
    p.on('server:state', (_s, previous) => seen.push(`server:state ${previous} -> ${s.status}`));
    p.on('pool:empty', () => seen.push('pool:empty'));
    p.reportCheck(s, REFUSED);
    assert.deepEqual(seen, ['check:fail DOWN check L4CON from 2 INI', 'server:down check', 'server:state UP 1/3 -> DOWN', 'pool:empty']);
  });

  it('emits check:pass for every passed check, even one that changes nothing', () => {
    const p = pool({ initState: 'fully-up' });
    let passes = 0;
    p.on('check:pass', () => passes++);
    results(p, 's1', [PASSED, PASSED]);
    assert.equal(passes, 2);
  });

  it('carries the check result, with duration, in the server:down cause', () => {
    const p = pool();
    let cause: unknown;
    p.on('server:down', (_s, c) => (cause = c));
    p.reportCheck(p.get('s1'), { ...REFUSED, durationMs: 0 });
    assert.deepEqual(cause, { source: 'check', result: { status: 'L4CON', info: 'Connection refused', durationMs: 0 } });
  });

  it('carries who ran a check applied from elsewhere (by) in the cause, and rejects an empty one', () => {
    const p = pool();
    let cause: unknown;
    p.on('server:down', (_s, c) => (cause = c));
    p.reportCheck(p.get('s1'), { ...REFUSED, by: 'web-2#7587' });
    assert.deepEqual(cause, { source: 'check', result: { status: 'L4CON', info: 'Connection refused', by: 'web-2#7587' } });
    assert.throws(() => p.reportCheck(p.get('s1'), { ...REFUSED, by: '' }), (err: unknown) => LbError.is(err) && /check result\.by/.test(err.message));
  });

  it('ignores results while the server is in maintenance (checks are paused)', () => {
    const p = pool();
    p.setAdminState('s1', 'maint');
    assert.equal(p.reportCheck(p.get('s1'), PASSED), false);
    assert.equal(p.get('s1').status, 'MAINT');
  });

  it('restarts a checked server at UP 1/fall when it leaves maintenance', () => {
    const p = pool({ initState: 'fully-up' });
    p.setAdminState('s1', 'maint');
    p.setAdminState('s1', 'ready');
    assert.equal(p.get('s1').status, 'UP 1/3');
    assert.deepEqual(results(p, 's1', [REFUSED]), ['DOWN']);
  });

  it('ignores results for a server that left the pool', () => {
    const p = pool();
    const s = p.remove('s1');
    assert.equal(p.reportCheck(s, REFUSED), false);
  });

  it('rejects an unknown status, naming the field and the value', () => {
    const p = pool();
    assert.throws(
      () => p.reportCheck(p.get('s1'), { status: 'L9OK' } as unknown as CheckResult),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && /check result\.status .*"L9OK"/.test(err.message),
    );
  });

  it('keeps the operator methods working alongside checks (setHealth down/up)', () => {
    const p = pool();
    p.setHealth('s1', 'down');
    assert.equal(p.get('s1').status, 'DOWN');
    p.setHealth('s1', 'up');
    assert.equal(p.get('s1').status, 'UP');
  });
});

describe('server counters', () => {
  it('accumulates downtime across down spells, the current one included', () => {
    const clock = new ManualClock();
    const p = pool({ initState: 'fully-up' }, clock);
    const s = p.get('s1');
    clock.advance(1000);
    p.setHealth('s1', 'down');
    clock.advance(500);
    assert.equal(s.downtimeMs, 500);
    p.setHealth('s1', 'up');
    clock.advance(1000);
    p.setHealth('s1', 'down');
    clock.advance(250);
    assert.equal(s.downtimeMs, 750);
    assert.equal(s.downTransitions, 2);
    assert.equal(s.snapshot().downtimeMs, 750);
  });

  it('puts the last check in the snapshot', () => {
    const p = pool();
    p.reportCheck(p.get('s1'), { status: 'L7STS', code: 503, info: 'Service Unavailable', durationMs: 3 });
    const snap = p.get('s1').snapshot();
    assert.equal(snap.checkStatus, 'L7STS');
    assert.equal(snap.checkCode, 503);
    assert.equal(snap.checkInfo, 'Service Unavailable');
    assert.equal(snap.checkDurationMs, 3);
    assert.equal(snap.checkFailures, 1);
  });
});

describe('slow start', () => {
  function slowPool(clock: ManualClock): Pool {
    return new Pool('fe', {
      clock,
      servers: [{ name: 's1', host: '127.0.0.1', port: 1, check: true, weight: 100, slowstartMs: 10_000, initState: 'fully-up' }],
    });
  }

  it('does not apply at creation', () => {
    const s = slowPool(new ManualClock()).get('s1');
    assert.equal(s.operationalState, 'up');
    assert.equal(s.effectiveWeight, 1600);
  });

  it('ramps the effective weight each second after DOWN→UP, as HAProxy (weight 100, slowstart 10s)', () => {
    const clock = new ManualClock();
    const p = slowPool(clock);
    const s = p.get('s1');
    p.setHealth('s1', 'down');
    results(p, 's1', [PASSED, PASSED]);
    assert.equal(s.status, 'UP');
    assert.equal(s.operationalState, 'starting');
    const weights: number[] = [s.effectiveWeight];
    for (let second = 1; second <= 10; second++) {
      clock.advance(1000);
      weights.push(s.effectiveWeight);
    }
    assert.deepEqual(weights, [100, 200, 400, 500, 700, 900, 1000, 1200, 1300, 1500, 1600]);
    assert.equal(s.operationalState, 'up');
    assert.equal(clock.pending, 0);
  });

  it('tells the balancers about each step through server:lb', () => {
    const clock = new ManualClock();
    const p = slowPool(clock);
    p.setHealth('s1', 'down');
    const seen: number[] = [];
    p.on('server:lb', (server) => seen.push(server.effectiveWeight));
    p.setHealth('s1', 'up');
    clock.advance(3000);
    assert.deepEqual(seen, [100, 200, 400, 500]);
  });

  it('steps every slowstart/20 when that is above one second', () => {
    const clock = new ManualClock();
    const p = new Pool('fe', { clock, servers: [{ name: 's1', host: 'h', port: 1, weight: 10, slowstartMs: 60_000 }] });
    const s = p.get('s1');
    p.setHealth('s1', 'down');
    p.setHealth('s1', 'up');
    clock.advance(2999);
    assert.equal(s.effectiveWeight, 10);
    clock.advance(1);
    assert.equal(s.effectiveWeight, 10 * Math.floor((16 * 3 + 60) / 60));
    clock.advance(3000);
    assert.equal(s.effectiveWeight, 10 * Math.floor((16 * 6 + 60) / 60));
  });

  it('stops the ramp when the server goes down again, and starts over on the next recovery', () => {
    const clock = new ManualClock();
    const p = slowPool(clock);
    const s = p.get('s1');
    p.setHealth('s1', 'down');
    p.setHealth('s1', 'up');
    clock.advance(3000);
    p.setHealth('s1', 'down');
    assert.equal(clock.pending, 0);
    p.setHealth('s1', 'up');
    assert.equal(s.effectiveWeight, 100);
  });

  it('applies when leaving maintenance', () => {
    const clock = new ManualClock();
    const p = slowPool(clock);
    p.setAdminState('s1', 'maint');
    p.setAdminState('s1', 'ready');
    assert.equal(p.get('s1').operationalState, 'starting');
    assert.equal(p.get('s1').effectiveWeight, 100);
  });

  it('is cancelled when the server is removed', () => {
    const clock = new ManualClock();
    const p = slowPool(clock);
    p.setHealth('s1', 'down');
    p.setHealth('s1', 'up');
    p.remove('s1');
    assert.equal(clock.pending, 0);
  });
});

describe('diagnostics', () => {
  it('publishes each applied check result on switchyard:check:result', async () => {
    const dc = await import('node:diagnostics_channel');
    const seen: unknown[] = [];
    const listener = (message: unknown): void => void seen.push(message);
    dc.subscribe('switchyard:check:result', listener);
    try {
      const p = pool();
      p.reportCheck(p.get('s1'), REFUSED);
      const m = seen[0] as { server: { name: string }; result: CheckResult; passed: boolean };
      assert.equal(seen.length, 1);
      assert.deepEqual([m.server.name, m.result.status, m.passed], ['s1', 'L4CON', false]);
    } finally {
      dc.unsubscribe('switchyard:check:result', listener);
    }
  });
});
