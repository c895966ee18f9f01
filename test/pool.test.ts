import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../src/errors.js';
import { Pool } from '../src/pool.js';
import { servers } from './helpers/picks.js';

function invalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(LbError.is(err), `expected an LbError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_LB_INVALID_ARG');
    assert.match(err.message, message);
    return true;
  });
}

describe('Pool', () => {
  it('keeps servers in declaration order with ids from 1', () => {
    const pool = new Pool('be', { servers: servers([1, 2, 3]) });
    assert.deepEqual(pool.servers.map((s) => [s.name, s.id]), [['s1', 1], ['s2', 2], ['s3', 3]]);
    assert.deepEqual(pool.activeUsable.map((s) => s.name), ['s1', 's2', 's3']);
  });

  it('rejects bad server options naming the field and the value', () => {
    const pool = new Pool('be');
    const base = { name: 'x', host: '127.0.0.1', port: 80 };
    invalid(() => pool.add({ ...base, weight: -1 }), /weight must be an integer from 0 to 256, got -1/);
    invalid(() => pool.add({ ...base, weight: 300 }), /weight must be an integer from 0 to 256, got 300/);
    invalid(() => pool.add({ ...base, weight: Number.NaN }), /weight .*got NaN/);
    invalid(() => pool.add({ ...base, weight: 1.5 }), /weight .*got 1.5/);
    invalid(() => pool.add({ ...base, port: 70000 }), /port must be an integer from 1 to 65535, got 70000/);
    invalid(() => pool.add({ ...base, port: 0 }), /port .*got 0/);
    invalid(() => pool.add({ ...base, host: '' }), /host must be a non-empty string, got ""/);
    invalid(() => pool.add({ ...base, maxconn: -3 }), /maxconn must be a non-negative integer, got -3/);
    invalid(() => pool.add({ ...base, rise: 0 }), /rise must be an integer from 1/);
    invalid(() => pool.add({ ...base, initState: 'half' as never }), /initState must be one of 'up', 'fully-up', 'down', 'fully-down', got "half"/);
    invalid(() => pool.add({ ...base, wieght: 2 } as never), /server.wieght is not a known option/);
    invalid(() => pool.add(null as never), /server must be an object, got null/);
    invalid(() => new Pool(''), /pool name must be a non-empty string/);
    invalid(() => new Pool('be', { servers: 'a' as never }), /servers must be an array/);
    assert.equal(pool.size, 0, 'a rejected server is not added');
  });

  it('rejects a duplicate server name with ERR_LB_DUPLICATE_SERVER', () => {
    const pool = new Pool('be', { servers: servers([1]) });
    assert.throws(
      () => pool.add({ name: 's1', host: '127.0.0.1', port: 1 }),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_DUPLICATE_SERVER' && /"s1"/.test(err.message),
    );
    invalid(() => pool.add({ name: 'sx', host: '127.0.0.1', port: 1, id: 1 }), /id must be unique in the pool, got 1/);
  });

  it('throws ERR_LB_UNKNOWN_SERVER for a name it does not have', () => {
    const pool = new Pool('be', { servers: servers([1]) });
    assert.throws(() => pool.setWeight('nope', 1), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_UNKNOWN_SERVER');
    assert.equal(pool.find('nope'), undefined);
  });

  it('sets weights absolutely or as a percentage of the initial weight, as HAProxy set weight', () => {
    const pool = new Pool('be', { servers: servers([1, 10]) });
    pool.setWeight('s1', 3);
    assert.equal(pool.get('s1').weight, 3);
    pool.setWeight('s1', '50%'); // 50% of the initial weight 1, integer division: 0
    assert.equal(pool.get('s1').weight, 0);
    assert.equal(pool.get('s1').usable, false);
    pool.setWeight('s2', '250%');
    assert.equal(pool.get('s2').weight, 25);
    invalid(() => pool.setWeight('s2', 257), /weight of s2 must be an integer from 0 to 256, got 257/);
    invalid(() => pool.setWeight('s2', '3000%'), /gives 300, above the maximum weight 256/);
    invalid(() => pool.setWeight('s2', 'half' as never), /weight of s2 must be an integer 0–256 or a percentage/);
  });

  it('shows HAProxy status strings through the health and admin changes', () => {
    const pool = new Pool('be', { servers: [...servers([1], { check: true }), { name: 'u', host: '127.0.0.1', port: 1 }] });
    const s1 = pool.get('s1');
    assert.equal(s1.status, 'UP 1/3', 'a checked server starts UP 1/fall');
    assert.equal(pool.get('u').status, 'no check');
    pool.setHealth('s1', 'up');
    assert.equal(s1.status, 'UP');
    pool.setAdminState('s1', 'drain');
    assert.equal(s1.status, 'DRAIN');
    pool.setAdminState('s1', 'ready');
    pool.setHealth('s1', 'stopping');
    assert.equal(s1.status, 'NOLB');
    assert.equal(s1.usable, false);
    pool.setHealth('s1', 'down');
    assert.equal(s1.status, 'DOWN');
    pool.setAdminState('s1', 'maint');
    assert.equal(s1.status, 'MAINT');
    pool.setAdminState('s1', 'ready');
    assert.equal(s1.status, 'UP 1/3', 'leaving maintenance restarts at UP 1/fall');
  });

  it('starts a disabled server in maintenance', () => {
    const pool = new Pool('be', { servers: servers([1, 1], { disabled: true }) });
    assert.equal(pool.get('s1').adminState, 'maint');
    assert.equal(pool.available, false);
  });

  it('emits events after updating state, in a fixed order', () => {
    const pool = new Pool('be', { servers: servers([1, 1], { check: true }) });
    const seen: string[] = [];
    pool.on('server:lb', (s, prev) => seen.push(`lb ${s.name} ${prev.usable}->${s.usable}`));
    pool.on('server:down', (s, cause) => seen.push(`down ${s.name} ${cause.source} ${s.status}`));
    pool.on('server:up', (s) => seen.push(`up ${s.name} ${s.status}`));
    pool.on('server:state', (s, prev) => seen.push(`state ${s.name} ${prev}->${s.status}`));
    pool.on('server:admin', (s, prev) => seen.push(`admin ${s.name} ${prev}->${s.adminState}`));
    pool.on('server:weight', (s, prev) => seen.push(`weight ${s.name} ${prev}->${s.weight}`));
    pool.on('pool:empty', () => seen.push('empty'));
    pool.on('pool:recovered', () => seen.push('recovered'));
    pool.setHealth('s1', 'down');
    pool.setAdminState('s2', 'maint');
    pool.setAdminState('s2', 'ready');
    pool.setWeight('s2', 4);
    assert.deepEqual(seen, [
      'lb s1 true->false',
      'down s1 admin DOWN',
      'state s1 UP 1/3->DOWN',
      'lb s2 true->false',
      'down s2 admin MAINT',
      'state s2 UP 1/3->MAINT',
      'empty',
      'admin s2 ready->maint',
      'lb s2 false->true',
      'up s2 UP 1/3',
      'state s2 MAINT->UP 1/3',
      'recovered',
      'admin s2 maint->ready',
      'weight s2 1->4',
      'lb s2 true->true',
    ]);
  });

  it('announces pool:empty only when the last usable server goes, and recovered only after it', () => {
    const pool = new Pool('be');
    let recovered = 0;
    let empty = 0;
    pool.on('pool:recovered', () => recovered++);
    pool.on('pool:empty', () => empty++);
    pool.add({ name: 'a', host: '127.0.0.1', port: 1 });
    assert.equal(recovered, 0, 'filling a new pool is not a recovery');
    pool.remove('a');
    assert.equal(empty, 1);
    pool.add({ name: 'b', host: '127.0.0.1', port: 1 });
    assert.equal(recovered, 1);
  });

  it('keeps backups out of the active group', () => {
    const pool = new Pool('be', { servers: [...servers([1]), { name: 'b', host: '127.0.0.1', port: 2, backup: true }] });
    assert.deepEqual(pool.activeUsable.map((s) => s.name), ['s1']);
    assert.deepEqual(pool.backupUsable.map((s) => s.name), ['b']);
  });

  it('validates every change of update() before applying any', () => {
    const pool = new Pool('be', { servers: servers([1]) });
    invalid(() => pool.update('s1', { weight: 2, maxconn: -1 }), /maxconn of s1/);
    assert.equal(pool.get('s1').weight, 1);
    pool.update('s1', { weight: 2, maxconn: 5, maxqueue: 1, adminState: 'drain' });
    const snap = pool.get('s1').snapshot();
    assert.deepEqual([snap.weight, snap.maxconn, snap.maxqueue, snap.adminState], [2, 5, 1, 'drain']);
  });

  it('turns a server\'s checks off and on through the pool: results are ignored while off, the counter is kept', () => {
    const pool = new Pool('be', { servers: [{ name: 'c', host: '127.0.0.1', port: 1, check: true }, { name: 'n', host: '127.0.0.1', port: 2 }] });
    const c = pool.get('c');
    const seen: [string, boolean][] = [];
    pool.on('server:checks', (server, enabled) => seen.push([server.name, enabled]));
    pool.setChecksEnabled('c', false);
    assert.equal(c.checksEnabled, false);
    assert.equal(c.status, 'no check');
    assert.equal(pool.reportCheck(c, { status: 'L4CON', info: 'Connection refused' }), false, 'a result while off is not applied');
    assert.equal(c.health, c.rise);
    pool.setChecksEnabled('c', false);
    pool.setChecksEnabled('c', true);
    assert.equal(c.status, 'UP 1/3');
    assert.equal(pool.reportCheck(c, { status: 'L4CON', info: 'Connection refused' }), true);
    assert.equal(c.status, 'DOWN');
    assert.deepEqual(seen, [['c', false], ['c', true]], 'one event per change, none for a repeat');
    assert.throws(() => pool.setChecksEnabled('n', false), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_STATE' && /"n".*no check/.test(err.message));
    invalid(() => pool.setChecksEnabled('c', 'yes' as never), /checksEnabled of c must be a boolean, got "yes"/);
  });

  it('keeps the configuration\'s maintenance flag until an admin command, and counts the times it emptied', () => {
    const pool = new Pool('be', { servers: [{ name: 'a', host: '127.0.0.1', port: 1, disabled: true }, { name: 'b', host: '127.0.0.1', port: 2 }] });
    const a = pool.get('a');
    assert.equal(a.maintFromConfig, true);
    pool.setAdminState('a', 'maint');
    assert.deepEqual([a.adminState, a.maintFromConfig], ['maint', false], 'an admin command that changes nothing still ends the flag');
    assert.equal(pool.emptyTransitions, 0);
    pool.setAdminState('b', 'maint');
    pool.setAdminState('b', 'ready');
    pool.setAdminState('b', 'maint');
    assert.equal(pool.emptyTransitions, 2);
    assert.equal(pool.get('b').health, 0, 'an unchecked server entering maintenance has its counter zeroed, as HAProxy does');
  });

  it('takes a held server out of the picks until every holder has lifted its hold, apart from admin state and health', () => {
    const pool = new Pool('be', { servers: servers([1, 1]) });
    const s1 = pool.get('s1');
    const seen: unknown[] = [];
    pool.on('server:hold', (server, holder, hold, previous) => seen.push([server.name, holder, hold, previous]));
    pool.on('server:lb', (server, previous) => seen.push(['lb', server.name, previous.usable, server.usable]));
    pool.setHold('s1', 'outlier', 'out');
    assert.deepEqual([s1.usable, s1.hold, s1.status, s1.adminState], [false, 'out', 'no check', 'ready']);
    assert.deepEqual(pool.activeUsable.map((s) => s.name), ['s2']);
    pool.setHold('s1', 'xds', 'drain');
    pool.setHold('s1', 'outlier', undefined);
    assert.deepEqual([s1.usable, s1.hold], [false, 'drain'], 'still held by the other holder');
    assert.deepEqual(s1.snapshot().holds, { xds: 'drain' });
    pool.setHold('s1', 'xds', undefined);
    assert.deepEqual([s1.usable, s1.hold, s1.snapshot().holds], [true, undefined, undefined]);
    assert.deepEqual(pool.activeUsable.map((s) => s.name), ['s1', 's2'], 'back at its declaration rank');
    assert.deepEqual(seen, [
      ['lb', 's1', true, false], ['s1', 'outlier', 'out', undefined], ['s1', 'xds', 'drain', undefined],
      ['s1', 'outlier', undefined, 'out'], ['lb', 's1', false, true], ['s1', 'xds', undefined, 'drain'],
    ]);
    invalid(() => pool.setHold('s1', '', 'out'), /holder must be a non-empty string/);
    invalid(() => pool.setHold('s1', 'x', 'gone' as never), /hold of s1 must be one of 'out', 'drain', got "gone"/);
  });

  it('keeps a server\'s tags as given, frozen, and rejects a tag that is not a string', () => {
    const pool = new Pool('be', { servers: [{ name: 'a', host: '127.0.0.1', port: 1, tags: { zone: 'eu-1', role: 'replica' } }] });
    const a = pool.get('a');
    assert.deepEqual(a.tags, { zone: 'eu-1', role: 'replica' });
    assert.ok(Object.isFrozen(a.tags));
    assert.deepEqual(a.snapshot().tags, { zone: 'eu-1', role: 'replica' });
    assert.deepEqual(pool.add({ name: 'b', host: '127.0.0.1', port: 2 }).tags, {});
    invalid(() => pool.add({ name: 'c', host: '127.0.0.1', port: 3, tags: { zone: 1 } as never }), /server "c": tags.zone must be a string, got 1/);
    invalid(() => pool.add({ name: 'd', host: '127.0.0.1', port: 4, tags: 'eu' as never }), /server "d": tags must be an object, got "eu"/);
  });

  it('keeps a server\'s own proxy settings (sendProxy, onMarkedDown, onMarkedUp), leaves them unset by default and rejects bad ones', () => {
    const pool = new Pool('be', { servers: [
      { name: 'a', host: '127.0.0.1', port: 1, sendProxy: 'v2', onMarkedDown: 'shutdown-sessions', onMarkedUp: 'shutdown-backup-sessions' },
      { name: 'b', host: '127.0.0.1', port: 2, sendProxy: false, onMarkedDown: 'none' },
      { name: 'c', host: '127.0.0.1', port: 3 },
    ] });
    const [a, b, c] = pool.servers;
    assert.deepEqual([a!.sendProxy, a!.onMarkedDown, a!.onMarkedUp], ['v2', 'shutdown-sessions', 'shutdown-backup-sessions']);
    assert.deepEqual([b!.sendProxy, b!.onMarkedDown, b!.onMarkedUp], [false, 'none', undefined]);
    assert.deepEqual([c!.sendProxy, c!.onMarkedDown, c!.onMarkedUp], [undefined, undefined, undefined]);
    assert.deepEqual([a!.snapshot().sendProxy, b!.snapshot().sendProxy, 'sendProxy' in c!.snapshot()], ['v2', false, false]);
    invalid(() => pool.add({ name: 'd', host: '127.0.0.1', port: 4, sendProxy: true as never }), /server "d": sendProxy must be 'v1', 'v2' or false, got true/);
    invalid(() => pool.add({ name: 'e', host: '127.0.0.1', port: 5, onMarkedDown: 'kill' as never }), /server "e": onMarkedDown must be one of 'none', 'shutdown-sessions', got "kill"/);
    invalid(() => pool.add({ name: 'f', host: '127.0.0.1', port: 6, onMarkedUp: 'shutdown-sessions' as never }), /server "f": onMarkedUp must be one of 'none', 'shutdown-backup-sessions', got "shutdown-sessions"/);
  });

  it('snapshots as plain JSON', () => {
    const pool = new Pool('be', { servers: servers([2]) });
    const json = JSON.parse(JSON.stringify(pool.snapshot()));
    assert.equal(json.name, 'be');
    assert.equal(json.servers[0].name, 's1');
    assert.equal(json.servers[0].effectiveWeight, 32);
    assert.equal(json.servers[0].status, 'no check');
  });

  it("writes only the state of its own servers: another pool's server or a look-alike object is refused", () => {
    const a = new Pool('a', { servers: servers([1, 1]) });
    const b = new Pool('b', { servers: servers([1, 1]) });
    const foreign = b.get('s1');
    const lookAlike = { ...foreign, name: 's1' };
    for (const server of [foreign, lookAlike]) {
      assert.throws(
        () => a._counters.leaseGranted(server as typeof foreign, true),
        (e: unknown) => e instanceof LbError && e.code === 'ERR_LB_INVALID_ARG' && /must be a server of pool "a"/.test(e.message),
      );
    }
    assert.equal(foreign.currentConnections, 0, "the other pool's server is untouched");
    a._counters.leaseGranted(a.get('s1'), true);
    assert.equal(a.get('s1').currentConnections, 1, 'its own server is counted');
  });
});
