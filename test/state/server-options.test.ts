import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { SERVER_DEFAULTS, addResolved, resolveServerOptions, sameTags } from '../../src/state/server-options.js';

function invalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message));
}

describe('server options, checked without a server', () => {
  it('completes the options with the defaults, slowstartMs in whole seconds', () => {
    const r = resolveServerOptions({ name: 'a', host: '10.0.0.1', port: 80, slowstartMs: 1500 });
    assert.deepEqual(r, {
      name: 'a', host: '10.0.0.1', port: 80, weight: SERVER_DEFAULTS.weight, backup: false, priority: 0, maxconn: 0, maxqueue: 0, disabled: false,
      check: false, rise: 2, fall: 3, initState: 'up', slowstartMs: 2000, tags: {}, agent: false,
    });
  });

  it('takes a field the options leave undefined from the fallback, then from the defaults', () => {
    const r = resolveServerOptions({ name: 'a', host: 'h', port: 1, weight: undefined, rise: 5 }, { weight: 7, rise: 9, check: true });
    assert.equal(r.weight, 7);
    assert.equal(r.rise, 5, 'the options win');
    assert.equal(r.check, true);
    assert.equal(r.fall, 3);
  });

  it('rejects what pool.add() rejects, with the same messages', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', host: 'h', port: 70000 }, /server "x": port must be an integer from 1 to 65535, got 70000/],
      [{ name: 'x', host: 'h', port: 1, weight: -1 }, /server "x": weight must be an integer from 0 to 256, got -1/],
      [{ name: 'x', host: 'h', port: 1, tags: { zone: 1 } }, /server "x": tags.zone must be a string, got 1/],
      [{ name: 'x', host: 'h', port: 1, wieght: 2 }, /server.wieght is not a known option/],
      [{ name: '', host: 'h', port: 1 }, /server.name must be a non-empty string/],
    ];
    for (const [options, message] of cases) {
      invalid(() => resolveServerOptions(options), message);
      invalid(() => new Pool('p').add(options as never), message);
    }
    invalid(() => resolveServerOptions({ name: 'x', host: 'h', port: 1 }, { weight: 300 }), /server "x": weight .*got 300/);
  });

  it('freezes a copy of the tags, and keeps a frozen tag object as it is so servers can share it', () => {
    const given = { zone: 'a' };
    const r = resolveServerOptions({ name: 'x', host: 'h', port: 1, tags: given });
    assert.notEqual(r.tags, given);
    assert.ok(Object.isFrozen(r.tags));
    const shared = Object.freeze({ zone: 'b' });
    assert.equal(resolveServerOptions({ name: 'y', host: 'h', port: 1, tags: shared }).tags, shared);
  });

  it('compares tags by keys and values', () => {
    assert.ok(sameTags({ a: '1', b: '2' }, { b: '2', a: '1' }));
    assert.ok(!sameTags({ a: '1' }, { a: '1', b: '2' }));
    assert.ok(!sameTags({ a: '1', b: '2' }, { a: '1' }));
    assert.ok(!sameTags({ a: '1' }, { a: '2' }));
    assert.ok(!sameTags({ a: '' }, { b: '' }));
  });
});

describe('server tags in place', () => {
  it('replaces a server\'s tags without replacing the server, with server:tags', () => {
    const pool = new Pool('be', { servers: [{ name: 'a', host: '127.0.0.1', port: 1, tags: { zone: 'z1' } }] });
    const a = pool.get('a');
    const seen: string[] = [];
    pool.on('server:tags', (s, previous) => seen.push(`${s.name} ${JSON.stringify(previous)} -> ${JSON.stringify(s.tags)}`));
    pool.on('server:lb', () => seen.push('lb'));
    pool.update('a', { tags: { zone: 'z2', role: 'replica' } });
    pool.update('a', { tags: { role: 'replica', zone: 'z2' } }); // the same labels: nothing happens
    pool.update('a', { tags: {} });
    assert.equal(pool.get('a'), a);
    assert.deepEqual(seen, ['a {"zone":"z1"} -> {"zone":"z2","role":"replica"}', 'a {"zone":"z2","role":"replica"} -> {}']);
    assert.equal(a.snapshot().tags, undefined);
    invalid(() => pool.update('a', { tags: { zone: 2 } as never }), /tags of a.zone must be a string, got 2/);
    invalid(() => pool.update('a', { weight: 3, tags: 'x' as never }), /tags of a must be an object/);
    assert.equal(a.weight, 1, 'an update with a bad field changes nothing');
  });
});

describe('addResolved: options a discovery list already checked', () => {
  it('builds the same server as pool.add() of the same options, and checks the next options again', () => {
    const o = resolveServerOptions({ name: 'a', host: '10.0.0.1', port: 80, weight: 3, slowstartMs: 1500, tags: { zone: 'z1' } });
    const viaAdd = new Pool('p1').add(o).snapshot();
    const viaResolved = addResolved(o, (x) => new Pool('p2').add(x)).snapshot();
    assert.deepEqual(viaResolved, viaAdd);
    // Trust covers that one object during that one call: a bad object afterwards is still refused.
    invalid(() => new Pool('p3').add({ name: 'b', host: 'h', port: 0 }), /port must be an integer from 1 to 65535, got 0/);
  });

  it('trusts nothing after the call, even when the add threw', () => {
    const pool = new Pool('p', { servers: [{ name: 'a', host: 'h', port: 1 }] });
    // An object that would not pass the checks, handed to addResolved by a caller whose add throws.
    const bad = { ...resolveServerOptions({ name: 'b', host: 'h', port: 2 }), weight: 999 };
    assert.throws(() => addResolved(bad, () => {
      throw new Error('add failed');
    }), /add failed/);
    invalid(() => pool.add(bad), /weight must be an integer from 0 to 256, got 999/);
    assert.equal(pool.find('b'), undefined);
  });
});
