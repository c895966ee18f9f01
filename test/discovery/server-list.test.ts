import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../../src/errors.js';
import { type ServerListRules, defaultServerName, validateServerList } from '../../src/discovery/server-list.js';

const rules = (more: Partial<ServerListRules> = {}): ServerListRules => ({ defaults: {}, nameOf: defaultServerName, allowEmpty: false, ...more });

function refused(list: unknown, message: RegExp, r = rules()): void {
  assert.throws(() => validateServerList(list, r), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message));
}

describe('a server list from a discovery source', () => {
  it('names unnamed entries host:port ([v6]:port), applies the defaults under each entry, and drops undefined fields', () => {
    const desired = validateServerList(
      [{ host: '10.0.0.1', port: 5432 }, { host: '::1', port: 5432, weight: 3, maxconn: undefined }, { name: 'db3', host: 'db3.internal', port: 5432 }],
      rules({ defaults: { check: true, weight: 2, maxconn: 10 } }),
    );
    assert.deepEqual([...desired.keys()], ['10.0.0.1:5432', '[::1]:5432', 'db3']);
    assert.deepEqual(desired.get('[::1]:5432'), {
      options: {
        name: '[::1]:5432', host: '::1', port: 5432, weight: 3, backup: false, priority: 0, maxconn: 10, maxqueue: 0, disabled: false, check: true,
        rise: 2, fall: 3, initState: 'up', slowstartMs: 0, tags: {}, agent: false,
      },
      hold: undefined,
    });
    assert.equal(desired.get('10.0.0.1:5432')!.options.weight, 2);
  });

  it('reads tags (an entry\'s replace the default ones) and the source\'s hold', () => {
    const desired = validateServerList(
      [{ host: '10.0.0.1', port: 1, tags: { zone: 'b' }, hold: 'out' }, { host: '10.0.0.2', port: 1, hold: 'drain' }, { host: '10.0.0.3', port: 1 }],
      rules({ defaults: { tags: { zone: 'a', role: 'x' } } }),
    );
    assert.deepEqual([...desired.values()].map((d) => [d.options.tags, d.hold]), [
      [{ zone: 'b' }, 'out'],
      [{ zone: 'a', role: 'x' }, 'drain'],
      [{ zone: 'a', role: 'x' }, undefined],
    ]);
    assert.ok(Object.isFrozen(desired.get('10.0.0.1:1')!.options.tags));
  });

  it('takes the name from nameOf when an entry has none', () => {
    const desired = validateServerList([{ host: '10.0.0.1', port: 1 }], rules({ nameOf: (s) => `node-${s.host}` }));
    assert.deepEqual([...desired.keys()], ['node-10.0.0.1']);
  });

  it('refuses the whole list for one bad entry, naming it', () => {
    refused('nope', /^server list must be an array of servers/);
    refused([], /^server list must not be empty/);
    refused([{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 70_000 }], /port/);
    refused([{ host: '10.0.0.1', port: 1, colour: 'red' }], /colour is not a known option/);
    refused([{ name: 'a', host: '10.0.0.1', port: 1 }, { name: 'a', host: '10.0.0.2', port: 1 }], /^server list\[1\]\.name must be unique in the list, got "a"$/);
    refused([{ host: '10.0.0.1', port: 1 }], /^server list\[0\]\.name /, rules({ nameOf: () => '' }));
    refused([{ host: '10.0.0.1', port: 1, hold: 'maint' }], /^server list\[0\]\.hold must be one of 'out', 'drain', got "maint"$/);
    refused([{ host: '10.0.0.1', port: 1, tags: { zone: 3 } }], /^server "10\.0\.0\.1:1": tags\.zone must be a string, got 3$/);
    refused([{ host: '10.0.0.1', port: 1, weight: 2.5 }], /^server "10\.0\.0\.1:1": weight must be an integer from 0 to 256, got 2\.5$/);
    refused([{ host: '10.0.0.1', port: 1, id: 4 }], /id is not a known option/);
  });

  it('accepts an empty list when allowEmpty is set', () => {
    assert.equal(validateServerList([], rules({ allowEmpty: true })).size, 0);
  });
});
