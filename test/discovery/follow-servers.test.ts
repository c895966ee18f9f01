import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import type { DiscoveryUpdateMessage } from '../../src/diagnostics-messages.js';
import { type Discovery, type DiscoveryChange, followServers } from '../../src/discovery/follow-servers.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { ListSource, nextEvent } from '../helpers/list-source.js';

const names = (pool: Pool): string[] => pool.servers.map((s) => s.name);
const update = (d: Discovery): Promise<[DiscoveryChange]> => nextEvent<[DiscoveryChange]>(d, 'discovery:update');
const failure = (d: Discovery): Promise<[unknown, number | undefined]> => nextEvent<[unknown, number | undefined]>(d, 'discovery:error');

function setup(options: Parameters<typeof followServers>[2] = {}, pool = new Pool('be', { clock: new ManualClock() })) {
  const src = new ListSource();
  const discovery = followServers(pool, src.source, options);
  return { pool, src, discovery, clock: pool.clock as ManualClock };
}

describe('followServers', () => {
  it('adds the servers of the first list, named host:port when the source gives no name', async () => {
    const { pool, src, discovery } = setup();
    src.push([{ host: '10.0.0.1', port: 80 }, { host: 'fd00::1', port: 80 }, { name: 'named', host: '10.0.0.3', port: 81, weight: 3 }]);
    const [change] = await update(discovery);
    assert.deepEqual(names(pool), ['10.0.0.1:80', '[fd00::1]:80', 'named']);
    assert.deepEqual(change.added.map((s) => s.name), names(pool));
    assert.equal(pool.get('named').weight, 3);
    await discovery.close();
  });

  it('applies defaults to every server unless the entry overrides them (default-server)', async () => {
    const { pool, src, discovery } = setup({ defaults: { check: true, rise: 3, maxconn: 10 } });
    src.push([{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80, maxconn: 5 }]);
    await update(discovery);
    assert.deepEqual(pool.servers.map((s) => [s.check, s.rise, s.maxconn]), [[true, 3, 10], [true, 3, 5]]);
    await discovery.close();
  });

  it('keeps the Server object, counters, leases and health of servers that persist, and removes vanished ones', async () => {
    const { pool, src, discovery } = setup({ defaults: { check: true } });
    const balancer = new Balancer(pool, { strategy: 'first' });
    src.push([{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }]);
    await update(discovery);
    const a = pool.get('10.0.0.1:80');
    const b = pool.get('10.0.0.2:80');
    const leaseA = await balancer.acquire();
    const leaseB = await balancer.acquire({ exclude: a });
    assert.equal(leaseB.server, b);
    pool.setHealth('10.0.0.1:80', 'stopping');
    const statusA = a.status;

    src.push([{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.3', port: 80 }]);
    const [change] = await update(discovery);
    assert.deepEqual(change.added.map((s) => s.name), ['10.0.0.3:80']);
    assert.deepEqual(change.removed, [b]);
    assert.deepEqual(change.updated, []);
    assert.equal(pool.get('10.0.0.1:80'), a, 'same Server object');
    assert.equal(a.status, statusA, 'health carried over');
    assert.equal(a.currentConnections, 1, 'lease carried over');
    assert.equal(a.totalConnections, 1);
    assert.equal(pool.has(b), false);
    assert.equal(b.currentConnections, 1, 'the removed server keeps its lease');
    assert.equal(leaseB.release(), true, 'a lease on a removed server still releases');
    assert.equal(b.currentConnections, 0);
    leaseA.release();
    assert.equal(balancer.activeLeases, 0);
    await discovery.close();
  });

  it('updates a changed weight, and leaves an operator-set weight alone until the source changes it', async () => {
    const { pool, src, discovery } = setup();
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, weight: 2 }]);
    await update(discovery);
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, weight: 5, maxconn: 7 }]);
    const [change] = await update(discovery);
    const a = pool.get('a');
    assert.deepEqual(change.updated, [a]);
    assert.deepEqual([a.weight, a.maxconn], [5, 7]);
    pool.setWeight('a', 1);
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, weight: 5, maxconn: 7 }]);
    assert.deepEqual((await update(discovery))[0].updated, []);
    assert.equal(a.weight, 1, 'the same list does not undo an operator change');
    src.push([{ name: 'a', host: '10.0.0.1', port: 80, weight: 9, maxconn: 7 }]);
    await update(discovery);
    assert.equal(a.weight, 9);
    await discovery.close();
  });

  it('replaces a named server whose address changed (a Server cannot move)', async () => {
    const { pool, src, discovery } = setup();
    src.push([{ name: 'a', host: '10.0.0.1', port: 80 }]);
    await update(discovery);
    const old = pool.get('a');
    src.push([{ name: 'a', host: '10.0.0.9', port: 80 }]);
    const [change] = await update(discovery);
    assert.deepEqual(change.removed, [old]);
    assert.equal(change.added[0], pool.get('a'));
    assert.equal(pool.get('a').host, '10.0.0.9');
    await discovery.close();
  });

  it('adds before it removes, so a full rotation never announces pool:empty', async () => {
    const { pool, src, discovery } = setup();
    src.push([{ host: '10.0.0.1', port: 80 }]);
    await update(discovery);
    let empty = 0;
    pool.on('pool:empty', () => empty++);
    src.push([{ host: '10.0.0.2', port: 80 }]);
    await update(discovery);
    assert.deepEqual(names(pool), ['10.0.0.2:80']);
    assert.equal(empty, 0);
    await discovery.close();
  });

  it('keeps the last good list when the source fails, reports it, and retries with a doubling delay on the clock', async () => {
    const { pool, src, discovery, clock } = setup({ retryMs: 1000, maxRetryMs: 3000 });
    src.push([{ host: '10.0.0.1', port: 80 }]);
    await update(discovery);
    const boom = new Error('resolver down');
    src.fail(boom);
    const [err, retryIn] = await failure(discovery);
    assert.equal(err, boom);
    assert.equal(retryIn, 1000);
    assert.deepEqual(names(pool), ['10.0.0.1:80'], 'the pool is not emptied');
    assert.equal(discovery.failures, 1);
    assert.equal(src.opened, 1);

    src.fail(new Error('still down'));
    clock.advance(999);
    assert.equal(src.opened, 1, 'not retried before retryMs');
    const second = failure(discovery);
    clock.advance(1);
    assert.equal((await second)[1], 2000, 'the delay doubles');
    assert.equal(src.opened, 2, 'the source was opened again');
    src.fail(new Error('down again'));
    const third = failure(discovery);
    clock.advance(2000);
    assert.equal((await third)[1], 3000, 'capped by maxRetryMs');

    src.push([{ host: '10.0.0.2', port: 80 }]);
    const recovered = update(discovery);
    clock.advance(3000);
    await recovered;
    assert.deepEqual(names(pool), ['10.0.0.2:80']);
    assert.equal(discovery.failures, 0);
    await discovery.close();
  });

  it('rejects an invalid list as a whole and applies the next one', async () => {
    const { pool, src, discovery } = setup();
    src.push([{ host: '10.0.0.1', port: 80 }]);
    await update(discovery);
    const bad: [unknown, string][] = [
      [[{ host: '10.0.0.2', port: 80 }, { host: '10.0.0.3', port: 70000 }], 'port must be an integer from 1 to 65535, got 70000'],
      [[{ host: '10.0.0.2', port: 80 }, { host: '10.0.0.2', port: 80 }], 'must be unique in the list'],
      [[{ host: '10.0.0.2', port: 80, wieght: 2 }], 'wieght is not a known option'],
      [[], 'must not be empty'],
      ['nope', 'must be an array'],
    ];
    for (const [list, message] of bad) {
      src.push(list as never);
      const [err, retryIn] = await failure(discovery);
      assert.ok(LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG', String(err));
      assert.match((err as Error).message, new RegExp(message));
      assert.equal(retryIn, undefined);
      assert.deepEqual(names(pool), ['10.0.0.1:80'], `unchanged after ${JSON.stringify(list)}`);
    }
    src.push([{ host: '10.0.0.4', port: 80 }]);
    await update(discovery);
    assert.deepEqual(names(pool), ['10.0.0.4:80']);
    await discovery.close();
  });

  it('lets an empty list empty the pool only with allowEmpty', async () => {
    const { pool, src, discovery } = setup({ allowEmpty: true });
    src.push([{ host: '10.0.0.1', port: 80 }]);
    await update(discovery);
    src.push([]);
    await update(discovery);
    assert.equal(pool.size, 0);
    await discovery.close();
  });

  it('manages the servers already in the pool, unless adoptExisting is false', async () => {
    const initial = [{ name: 'static', host: '10.0.0.1', port: 80 }];
    const adopting = setup({}, new Pool('a', { servers: initial }));
    adopting.src.push([{ host: '10.0.0.2', port: 80 }]);
    await update(adopting.discovery);
    assert.deepEqual(names(adopting.pool), ['10.0.0.2:80']);
    await adopting.discovery.close();

    const keeping = setup({ adoptExisting: false }, new Pool('b', { servers: initial }));
    keeping.src.push([{ host: '10.0.0.2', port: 80 }]);
    await update(keeping.discovery);
    keeping.src.push([{ host: '10.0.0.3', port: 80 }]);
    await update(keeping.discovery);
    assert.deepEqual(names(keeping.pool), ['static', '10.0.0.3:80']);
    await keeping.discovery.close();
  });

  it('close() aborts the signal given to the source and stops even while the source is stuck', async () => {
    const { pool, src, discovery } = setup();
    src.push([{ host: '10.0.0.1', port: 80 }]);
    await update(discovery);
    assert.equal(src.signals[0]!.aborted, false);
    const closing = discovery.close();
    assert.equal(discovery.close(), closing, 'idempotent: the same promise');
    await closing;
    assert.equal(src.signals[0]!.aborted, true);
    assert.equal(discovery.closed, true);
    let applied = false;
    discovery.on('discovery:update', () => (applied = true));
    src.push([{ host: '10.0.0.2', port: 80 }]);
    await Promise.resolve();
    assert.equal(applied, false);
    assert.deepEqual(names(pool), ['10.0.0.1:80'], 'closing keeps the servers');
  });

  it('stops when the caller’s signal fires, and through Symbol.asyncDispose', async () => {
    const ac = new AbortController();
    const { src, discovery } = setup({ signal: ac.signal });
    ac.abort();
    await discovery.close();
    assert.equal(src.signals[0]?.aborted ?? true, true);
    const other = setup();
    await other.discovery[Symbol.asyncDispose]();
    assert.equal(other.discovery.closed, true);
  });

  it('follows a plain async iterable and reports its end', async () => {
    const pool = new Pool('be');
    async function* lists() {
      yield [{ host: '10.0.0.1', port: 80 }];
      yield [{ host: '10.0.0.2', port: 80 }];
    }
    const discovery = followServers(pool, lists());
    await nextEvent(discovery, 'discovery:end');
    assert.deepEqual(names(pool), ['10.0.0.2:80']);
    assert.equal(discovery.closed, true);
  });

  it('accepts an object with watch(signal)', async () => {
    const pool = new Pool('be');
    const seen: AbortSignal[] = [];
    const discovery = followServers(pool, {
      async *watch(signal: AbortSignal) {
        seen.push(signal);
        yield [{ host: '10.0.0.1', port: 80 }];
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      },
    });
    await update(discovery);
    await discovery.close();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.aborted, true);
  });

  it('publishes switchyard:discovery:update when a list changes the pool', async () => {
    const messages: DiscoveryUpdateMessage[] = [];
    const listener = (m: unknown): void => void messages.push(m as DiscoveryUpdateMessage);
    dc.subscribe('switchyard:discovery:update', listener);
    try {
      const { pool, src, discovery } = setup();
      src.push([{ host: '10.0.0.1', port: 80 }]);
      await update(discovery);
      src.push([{ host: '10.0.0.1', port: 80 }]);
      await update(discovery);
      assert.equal(messages.length, 1, 'an unchanged list publishes nothing');
      assert.equal(messages[0]!.pool, pool);
      assert.deepEqual(messages[0]!.added.map((s) => s.name), ['10.0.0.1:80']);
      await discovery.close();
    } finally {
      dc.unsubscribe('switchyard:discovery:update', listener);
    }
  });

  it('validates its arguments, naming the field', () => {
    const pool = new Pool('be');
    const src = new ListSource().source;
    const bad: [() => unknown, RegExp][] = [
      [() => followServers({} as never, src), /pool must be a Pool/],
      [() => followServers(pool, 42 as never), /source must be/],
      [() => followServers(pool, src, { retryMs: 0 }), /retryMs must be a positive number of milliseconds, got 0/],
      [() => followServers(pool, src, { retryMs: 5000, maxRetryMs: 1000 }), /maxRetryMs must be at least retryMs/],
      [() => followServers(pool, src, { defaults: { port: 1 } as never }), /defaults.port is not a known option/],
      [() => followServers(pool, src, { retry: 1 } as never), /discovery options.retry is not a known option/],
    ];
    for (const [fn, message] of bad) {
      assert.throws(fn, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message));
    }
  });
});
