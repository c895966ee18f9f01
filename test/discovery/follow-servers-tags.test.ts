import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { type Discovery, type DiscoveryChange, followServers } from '../../src/discovery/follow-servers.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import type { Server } from '../../src/server.js';
import { closeMode } from '../helpers/picks.js';
import { ListSource, nextEvent } from '../helpers/list-source.js';

const update = (d: Discovery): Promise<[DiscoveryChange]> => nextEvent<[DiscoveryChange]>(d, 'discovery:update');

function setup(options: Parameters<typeof followServers>[2] = {}, pool = new Pool('be', { clock: new ManualClock() })) {
  const src = new ListSource();
  const discovery = followServers(pool, src.source, options);
  return { pool, src, discovery };
}

describe('followServers: tags, holds and batches', () => {
  it('changes tags in place, and keeps an operator\'s own tags until the source changes them', async () => {
    const { pool, src, discovery } = setup();
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, tags: { zone: 'z1' } }]);
    await update(discovery);
    const a = pool.get('a');
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, tags: { zone: 'z2' } }]);
    const [change] = await update(discovery);
    assert.equal(pool.get('a'), a, 'same Server object');
    assert.deepEqual(change.updated, [a]);
    assert.deepEqual(a.tags, { zone: 'z2' });
    pool.update('a', { tags: { zone: 'operator' } });
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, tags: { zone: 'z2' } }]);
    assert.deepEqual((await update(discovery))[0].updated, []);
    assert.deepEqual(a.tags, { zone: 'operator' }, 'the same list does not undo an operator change');
    src.push([{ name: 'a', host: '10.0.0.1', port: 80 }]);
    await update(discovery);
    assert.deepEqual(a.tags, {}, 'the source dropped its tags');
    await discovery.close();
  });

  it('holds a server under its holder name as the source says, in place, beside the operator\'s admin state', async () => {
    const { pool, src, discovery } = setup({ holder: 'xds' });
    src.push([{ name: 'a', host: '10.0.0.1', port: 80 }, { name: 'b', host: '10.0.0.2', port: 80 }]);
    await update(discovery);
    const a = pool.get('a');
    pool.setAdminState('a', 'drain');
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, hold: 'out' }, { name: 'b', host: '10.0.0.2', port: 80, hold: 'drain' }]);
    const [change] = await update(discovery);
    assert.deepEqual(change.updated.map((s) => s.name), ['a', 'b']);
    assert.equal(pool.get('a'), a);
    assert.deepEqual(Object.fromEntries(a.holds), { xds: 'out' });
    assert.equal(pool.get('b').hold, 'drain');
    assert.equal(pool.available, false);
    src.push([{ name: 'a', host: '10.0.0.1', port: 80 }, { name: 'b', host: '10.0.0.2', port: 80 }]);
    await update(discovery);
    assert.equal(a.hold, undefined, 'the source lifted its hold');
    assert.equal(a.adminState, 'drain', 'the operator\'s drain stays');
    assert.equal(a.usable, false);
    assert.equal(pool.get('b').usable, true);
    await discovery.close();
  });

  it('never lets the strategies see a server that arrives held, and keeps local checks in the rule', async () => {
    const { pool, src, discovery } = setup({ defaults: { check: true } });
    const balancer = new Balancer(pool, { strategy: 'roundrobin' });
    const madeUsable: string[] = [];
    pool.on('server:lb', (s, prev) => !prev.usable && s.usable && madeUsable.push(s.name));
    pool.on('pool:lb', (changes) => {
      for (const [s, prev] of changes) if (!prev.usable && s.usable) madeUsable.push(s.name);
    });
    src.push([{ name: 'ok', host: '10.0.0.1', port: 80 }, { name: 'bad', host: '10.0.0.2', port: 80, hold: 'out' }]);
    await update(discovery);
    assert.deepEqual(madeUsable, ['ok']);
    assert.deepEqual(closeMode(balancer, 4), ['ok', 'ok', 'ok', 'ok']);
    // The control plane says healthy, the local checks say down: not usable (both must agree).
    pool.setHealth('bad', 'down');
    src.push([{ name: 'ok', host: '10.0.0.1', port: 80 }, { name: 'bad', host: '10.0.0.2', port: 80 }]);
    await update(discovery);
    assert.equal(pool.get('bad').usable, false);
    pool.setHealth('bad', 'up');
    assert.deepEqual(closeMode(balancer, 2).sort(), ['bad', 'ok']);
    await discovery.close();
  });

  it('applies a list in one pool batch: one pool:lb, no server:lb, availability once', async () => {
    const { pool, src, discovery } = setup();
    new Balancer(pool, { strategy: 'leastconn' });
    const events: string[] = [];
    pool.on('server:lb', () => events.push('server:lb'));
    pool.on('pool:lb', (changes: ReadonlyMap<Server, unknown>) => events.push(`pool:lb ${changes.size}`));
    pool.on('pool:empty', () => events.push('empty'));
    src.push(Array.from({ length: 200 }, (_, i) => ({ host: '10.0.1.1', port: 1000 + i })));
    await update(discovery);
    src.push(Array.from({ length: 200 }, (_, i) => ({ host: '10.0.2.2', port: 1000 + i, ...(i % 2 === 0 ? { hold: 'out' as const } : {}) })));
    await update(discovery);
    assert.deepEqual(events, ['pool:lb 200', 'pool:lb 300']);
    assert.equal(pool.activeUsable.length, 100);
    await discovery.close();
  });

  it('refuses a bad hold or holder, naming it', async () => {
    assert.throws(() => followServers(new Pool('x'), new ListSource().source, { holder: '' }), (e: unknown) => LbError.is(e) && /holder must be a non-empty string/.test(e.message));
    const { pool, src, discovery } = setup();
    const failed = nextEvent<[unknown]>(discovery, 'discovery:error');
    src.push([{ host: '10.0.0.1', port: 80, hold: 'maint' as never }]);
    const [err] = await failed;
    assert.ok(LbError.is(err) && /server list\[0\]\.hold must be one of 'out', 'drain', got "maint"/.test(err.message));
    assert.equal(pool.size, 0);
    await discovery.close();
  });
});
