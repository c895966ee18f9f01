import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { LbError } from '../src/errors.js';
import { Pool } from '../src/pool.js';
import type { PoolState, ServerStateRecord } from '../src/pool-state.js';
import type { ServerOptions } from '../src/server.js';
import type { StateCause } from '../src/state/check-result.js';

const checked = (name: string, port: number, extra: Partial<ServerOptions> = {}): ServerOptions => ({
  name, host: '127.0.0.1', port, check: true, weight: 10, ...extra,
});

function pool(servers: readonly ServerOptions[], clock = new ManualClock()): Pool {
  return new Pool('web', { servers, clock });
}

function invalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(LbError.is(err), `expected an LbError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_LB_INVALID_ARG');
    assert.match(err.message, message);
    return true;
  });
}

/** What a restart must keep, per server. */
const kept = (p: Pool) => p.servers.map((s) => [s.name, s.status, s.weight, s.adminState, s.health, s.checksEnabled, s.lastCheck?.status]);

describe('Pool.exportState / restoreState', () => {
  it('round-trips weights, admin states, health, disabled checks and the last check through plain JSON', () => {
    const options = [checked('s1', 1), checked('s2', 2), checked('s3', 3), checked('s4', 4), checked('s5', 5)];
    const clock = new ManualClock();
    const before = pool(options, clock);
    before.reportCheck(before.get('s1'), { status: 'L4OK', durationMs: 0 });
    before.reportCheck(before.get('s1'), { status: 'L4OK', durationMs: 0 });
    before.setWeight('s1', 3);
    before.setAdminState('s2', 'drain');
    before.setAdminState('s3', 'maint');
    before.setHealth('s4', 'down');
    before.setChecksEnabled('s5', false);
    clock.advance(7000);
    const json = JSON.parse(JSON.stringify(before.exportState())) as PoolState;
    assert.equal(json.version, 1);
    assert.deepEqual(json.servers.map((r) => r.sinceLastChangeMs), [7000, 7000, 7000, 7000, 7000]);

    const later = new ManualClock(100_000);
    const after = pool(options, later);
    const report = after.restoreState(json);
    assert.deepEqual(report, { restored: ['s1', 's2', 's3', 's4', 's5'], skipped: [] });
    assert.deepEqual(kept(after), [
      ['s1', 'UP', 3, 'ready', 4, true, 'L4OK'],
      ['s2', 'DRAIN', 10, 'drain', 4, true, 'INI'], // a running server comes back with a full health counter
      ['s3', 'MAINT', 10, 'maint', 0, true, 'INI'],
      ['s4', 'DOWN', 10, 'ready', 0, true, 'INI'],
      ['s5', 'no check', 10, 'ready', 4, false, 'INI'],
    ]);
    assert.deepEqual(after.servers.map((s) => s.lastChangeMs), [93_000, 93_000, 93_000, 93_000, 93_000]);
    assert.equal(after.get('s4').downtimeMs, 7000, 'down since the saved change');
    // What was restored exports as it was saved (the health of s2 aside: running servers come back full).
    const again = after.exportState();
    assert.deepEqual(again.servers.map((r) => [r.adminState, r.operationalState, r.weight, r.checksEnabled]), json.servers.map((r) => [r.adminState, r.operationalState, r.weight, r.checksEnabled]));
  });

  it('goes through the pool: events carry the restore cause and the usable lists follow', () => {
    const p = pool([checked('s1', 1), checked('s2', 2)]);
    const state = p.exportState();
    const causes: [string, StateCause][] = [];
    p.on('server:down', (s, cause) => causes.push([`down ${s.name}`, cause]));
    p.on('server:admin', (s, _previous, cause) => causes.push([`admin ${s.name}`, cause]));
    let empty = 0;
    p.on('pool:empty', () => empty++);
    const down = (r: ServerStateRecord): ServerStateRecord => ({ ...r, operationalState: 'down', health: 0 });
    p.restoreState({ ...state, servers: [down(state.servers[0]!), { ...state.servers[1]!, adminState: 'drain' }] });
    const cause = { source: 'admin', via: 'state' };
    assert.deepEqual(causes, [['down s1', cause], ['admin s2', cause]]);
    assert.deepEqual([p.activeUsable.length, empty], [0, 1]);
  });

  it("applies HAProxy's rules: the configuration wins over a saved weight, drain or maintenance when it changed", () => {
    const p = pool([checked('s1', 1, { weight: 20 }), checked('s2', 2), checked('s3', 3, { disabled: true }), checked('s4', 4), checked('s5', 5)]);
    const saved = pool([checked('s1', 1), checked('s2', 2, { weight: 0 }), checked('s3', 3), checked('s4', 4, { disabled: true }), checked('s5', 5, { weight: 0 })]);
    saved.setWeight('s1', 7);
    saved.setAdminState('s2', 'drain');
    saved.setAdminState('s3', 'maint');
    saved.setAdminState('s5', 'drain');
    const state = saved.exportState();
    p.restoreState(state);
    assert.deepEqual(p.servers.map((s) => [s.name, s.weight, s.adminState, s.maintFromConfig]), [
      ['s1', 20, 'ready', false], // configured weight 10 → 20: the saved runtime weight 7 is dropped
      ['s2', 10, 'ready', false], // drained while its configured weight was 0: the new weight ends the drain
      ['s3', 10, 'maint', true], // disabled in the configuration now: stays in its configured maintenance
      ['s4', 10, 'ready', false], // was disabled by the configuration, is not any more
      ['s5', 10, 'ready', false], // same as s2
    ]);
    const keepsDrain = pool([checked('s1', 1, { weight: 0 })]);
    keepsDrain.restoreState({ ...keepsDrain.exportState(), servers: [{ ...keepsDrain.exportState().servers[0]!, adminState: 'drain' }] });
    assert.equal(keepsDrain.get('s1').adminState, 'drain', 'a drain saved with weight 0 stays while the weight is still 0');
  });

  it('clamps the health of a stopping or starting server as HAProxy does', () => {
    const p = pool([checked('s1', 1), checked('s2', 2), checked('s3', 3, { fall: 1 }), checked('s4', 4, { rise: 1 })]);
    const s = p.exportState().servers;
    p.restoreState({ ...p.exportState(), servers: [
      { ...s[0]!, operationalState: 'stopping', health: 3 },
      { ...s[1]!, operationalState: 'starting', health: 4 },
      { ...s[2]!, operationalState: 'stopping', health: 2 },
      { ...s[3]!, operationalState: 'starting', health: 0 },
    ] });
    assert.deepEqual(p.servers.map((x) => [x.operationalState, x.health, x.status]), [
      ['stopping', 3, 'NOLB 2/3'], // rise 2, fall 3: health kept in [rise, rise + fall - 2]
      ['up', 1, 'UP 0/3'], // just below rise, as HAProxy loads a server that was warming up
      ['down', 0, 'DOWN'], // fall 1 has no stopping state
      ['up', 3, 'UP'], // rise 1 has no starting state
    ]);
  });

  it('skips and reports a record of an unknown server or of a server whose address changed', () => {
    const p = pool([checked('s1', 1), checked('s2', 2)]);
    const state = p.exportState();
    const down = { operationalState: 'down', health: 0 } as const;
    const report = p.restoreState({ ...state, servers: [
      { ...state.servers[0]!, ...down, port: 9 },
      { ...state.servers[1]!, ...down, host: '127.0.0.2' },
      { ...state.servers[1]!, ...down, name: 'gone' },
    ] });
    assert.deepEqual(report, { restored: [], skipped: [
      { name: 's1', reason: 'address-changed' }, { name: 's2', reason: 'address-changed' }, { name: 'gone', reason: 'unknown-server' },
    ] });
    assert.deepEqual(p.servers.map((x) => x.operationalState), ['up', 'up']);
  });

  it('refuses bad input with ERR_LB_INVALID_ARG naming the field, and changes nothing', () => {
    const p = pool([checked('s1', 1), checked('s2', 2)]);
    const state = p.exportState();
    const [r1, r2] = state.servers as [ServerStateRecord, ServerStateRecord];
    const bad = (servers: unknown[]): PoolState => ({ ...state, servers }) as PoolState;
    invalid(() => p.restoreState(bad([{ ...r1, operationalState: 'down', health: 0 }, { ...r2, health: -1 }])), /state\.servers\[1\]\.health must be a non-negative integer, got -1/);
    assert.equal(p.get('s1').operationalState, 'up', 'the valid first record was not applied');
    invalid(() => p.restoreState(bad([{ ...r1, weight: 300 }])), /state\.servers\[0\]\.weight must be an integer from 0 to 256, got 300/);
    invalid(() => p.restoreState(bad([{ ...r1, adminState: 'off' }])), /state\.servers\[0\]\.adminState must be one of 'ready', 'drain', 'maint', got "off"/);
    invalid(() => p.restoreState(bad([{ ...r1, lastCheck: { status: 'OK' } }])), /check result\.status must be a HAProxy check status/);
    invalid(() => p.restoreState(bad([{ ...r1, extra: 1 }])), /state\.servers\[0\]\.extra is not a known option/);
    invalid(() => p.restoreState(bad([r1, r1])), /state\.servers\[1\]\.name must be unique in the state, got "s1"/);
    invalid(() => p.restoreState({ ...state, version: 2 as never }), /state\.version must be 1, got 2/);
    invalid(() => p.restoreState({ ...state, pool: 'db' }), /state\.pool must be "web", the name of the pool it is restored to, got "db"/);
    invalid(() => p.restoreState(null as never), /state must be an object, got null/);
    assert.deepEqual(p.servers.map((x) => [x.status, x.weight]), [['UP 1/3', 10], ['UP 1/3', 10]]);
  });
});
