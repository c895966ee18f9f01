import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Balancer } from '../src/balancer.js';
import { ManualClock } from '../src/clock.js';
import { LbError } from '../src/errors.js';
import type { Lease } from '../src/lease.js';
import { Pool } from '../src/pool.js';
import type { Server } from '../src/server.js';
import type { Strategy } from '../src/strategies/strategy.js';
import { InOrder, closeMode, servers, setup } from './helpers/picks.js';

function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(promise, (err: unknown) => LbError.is(err) && err.code === code);
}

describe('Balancer', () => {
  it('grants a lease on a server and counts it until released', async () => {
    const { pool, balancer } = setup(servers([1, 1]), { strategy: new InOrder() });
    const lease = await balancer.acquire();
    assert.equal(lease.server.name, 's1');
    assert.equal(pool.get('s1').currentConnections, 1);
    assert.equal(balancer.activeLeases, 1);
    assert.equal(lease.release(), true);
    assert.equal(pool.get('s1').currentConnections, 0);
    assert.equal(pool.get('s1').totalConnections, 1);
    assert.equal(pool.get('s1').lbSelections, 1);
    assert.equal(balancer.activeLeases, 0);
  });

  it('counts a lease exactly once however often it is released', () => {
    const { pool, balancer } = setup(servers([1]), { strategy: new InOrder() });
    const a = balancer.tryAcquire()!;
    const b = balancer.tryAcquire()!;
    assert.equal(a.release(), true);
    assert.equal(a.release(), false);
    a[Symbol.dispose]();
    assert.equal(pool.get('s1').currentConnections, 1);
    assert.equal(b.released, false);
    b.release();
    assert.equal(pool.get('s1').currentConnections, 0);
  });

  it('releases a lease when the bound socket closes', async () => {
    const { pool, balancer } = setup(servers([1]), { strategy: new InOrder() });
    const socket = new EventEmitter();
    const lease = await balancer.acquire({ bindTo: socket });
    assert.equal(pool.get('s1').currentConnections, 1);
    socket.emit('close');
    socket.emit('close');
    assert.equal(lease.released, true);
    assert.equal(pool.get('s1').currentConnections, 0);
  });

  it('rejects with ERR_LB_NO_SERVER when no server is usable', async () => {
    const { pool, balancer } = setup(servers([1, 1]), { strategy: new InOrder() });
    pool.setAdminState('s1', 'maint');
    pool.setAdminState('s2', 'drain');
    await rejectsWith(balancer.acquire(), 'ERR_LB_NO_SERVER');
    assert.throws(() => balancer.tryAcquire(), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_NO_SERVER');
  });

  it('rejects with ERR_LB_NO_SERVER on an empty pool', async () => {
    const balancer = new Balancer(new Pool('empty'));
    await rejectsWith(balancer.acquire(), 'ERR_LB_NO_SERVER');
  });

  it('skips a server at maxconn and queues when every server is full', async () => {
    const clock = new ManualClock();
    const { balancer } = setup(servers([1, 1], { maxconn: 1 }), { strategy: new InOrder(), clock, timeoutQueueMs: 1000 });
    const a = await balancer.acquire();
    const b = await balancer.acquire();
    assert.deepEqual([a.server.name, b.server.name], ['s1', 's2']);
    assert.equal(balancer.tryAcquire(), undefined);
    const waiting = balancer.acquire();
    assert.equal(balancer.queued, 1);
    clock.advance(500);
    b.release();
    const c = await waiting;
    assert.equal(c.server.name, 's2');
    assert.equal(c.queuedMs, 500);
    assert.equal(balancer.queued, 0);
  });

  it('serves queued callers first in, first out', async () => {
    const { balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), timeoutQueueMs: Infinity });
    const first = balancer.tryAcquire()!;
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => balancer.acquire().then((lease) => (order.push(n), lease)));
    let lease: Lease = first;
    for (let i = 0; i < 3; i++) {
      lease.release();
      lease = await waits[i]!;
    }
    lease.release();
    assert.deepEqual(order, [1, 2, 3]);
  });

  it('makes new callers wait behind the queue rather than overtake it', async () => {
    const { pool, balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), timeoutQueueMs: Infinity });
    const held = balancer.tryAcquire()!;
    const queued = balancer.acquire();
    pool.setLimits('s1', { maxconn: 2 }); // a slot opens: the queued caller takes it
    const got = await queued;
    assert.equal(got.server.name, 's1');
    assert.equal(balancer.tryAcquire(), undefined);
    held.release();
    got.release();
  });

  it('times out queued callers with ERR_LB_QUEUE_TIMEOUT after timeoutQueueMs', async () => {
    const clock = new ManualClock();
    const { balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), clock, timeoutQueueMs: 3000 });
    balancer.tryAcquire();
    const waiting = balancer.acquire();
    clock.advance(2999);
    assert.equal(balancer.queued, 1);
    clock.advance(1);
    await rejectsWith(waiting, 'ERR_LB_QUEUE_TIMEOUT');
    assert.equal(balancer.queued, 0);
    assert.equal(balancer.stats().queueTimeouts, 1);
  });

  it('takes a per-call queue timeout over the default', async () => {
    const clock = new ManualClock();
    const { balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), clock, timeoutQueueMs: 3000 });
    balancer.tryAcquire();
    const waiting = balancer.acquire({ timeoutQueueMs: 10 });
    clock.advance(10);
    await rejectsWith(waiting, 'ERR_LB_QUEUE_TIMEOUT');
  });

  it('stops waiting when the AbortSignal fires', async () => {
    const { balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), timeoutQueueMs: Infinity });
    balancer.tryAcquire();
    const controller = new AbortController();
    const waiting = balancer.acquire({ signal: controller.signal });
    controller.abort(new Error('client went away'));
    await rejectsWith(waiting, 'ERR_LB_ABORTED');
    assert.equal(balancer.queued, 0);
    await rejectsWith(balancer.acquire({ signal: controller.signal }), 'ERR_LB_ABORTED');
  });

  it('avoids an excluded server unless it is the only one', () => {
    const { pool, balancer } = setup(servers([1, 1]), { strategy: new InOrder() });
    const s1 = pool.get('s1');
    assert.equal(balancer.tryAcquire({ exclude: s1 })!.server.name, 's2');
    assert.equal(balancer.tryAcquire({ exclude: [s1, pool.get('s2')] })!.server.name, 's1');
    pool.setAdminState('s2', 'maint');
    assert.equal(balancer.tryAcquire({ exclude: s1 })!.server.name, 's1');
  });

  it('sends traffic only to the first usable backup when no active server is usable', () => {
    const list = [...servers([1, 1], { check: true }), ...servers([1, 1], { check: true, backup: true }).map((s, i) => ({ ...s, name: `b${i + 1}` }))];
    const { pool, balancer } = setup(list, { strategy: new InOrder() });
    assert.equal(closeMode(balancer, 1)[0], 's1');
    pool.setHealth('s1', 'down');
    pool.setHealth('s2', 'down');
    assert.deepEqual(closeMode(balancer, 3), ['b1', 'b1', 'b1']);
    pool.setHealth('b1', 'down');
    assert.deepEqual(closeMode(balancer, 2), ['b2', 'b2']);
    pool.setHealth('s2', 'up');
    assert.deepEqual(closeMode(balancer, 2), ['s2', 's2']);
  });

  it('balances over all usable backups with allBackups', () => {
    const list = [...servers([1], { check: true }), ...servers([1, 1], { backup: true }).map((s, i) => ({ ...s, name: `b${i + 1}` }))];
    const { pool, balancer } = setup(list, { strategy: 'roundrobin' }, { allBackups: true });
    pool.setHealth('s1', 'down');
    assert.deepEqual(new Set(closeMode(balancer, 4)), new Set(['b1', 'b2']));
  });

  it('queues on the chosen server when a hash strategy insists on a full one, up to maxqueue', async () => {
    const sticky: Strategy = { name: 'sticky', usesServerQueues: true, pick: (c) => c[0] };
    const clock = new ManualClock();
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1, maxqueue: 1 }), { strategy: sticky, clock });
    const held = balancer.tryAcquire()!;
    const queued = balancer.acquire();
    assert.equal(pool.get('s1').queued, 1);
    await rejectsWith(balancer.acquire(), 'ERR_LB_QUEUE_FULL');
    held.release();
    const got = await queued;
    assert.equal(got.server.name, 's1');
    assert.equal(pool.get('s1').queued, 0);
    assert.equal(pool.get('s1').maxQueued, 1);
  });

  it('moves callers queued on a server that goes down back to the shared queue', async () => {
    const sticky: Strategy = { name: 'sticky', usesServerQueues: true, pick: (c) => c[0] };
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1, check: true }), { strategy: sticky, timeoutQueueMs: Infinity });
    balancer.tryAcquire();
    const queued = balancer.acquire();
    assert.equal(pool.get('s1').queued, 1);
    pool.setHealth('s1', 'down');
    const got = await queued;
    assert.equal(got.server.name, 's2');
    assert.equal(pool.get('s1').queued, 0);
  });

  it('gives queued callers to a server that comes up', async () => {
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1, check: true }), { strategy: new InOrder(), timeoutQueueMs: Infinity });
    pool.setHealth('s2', 'down');
    balancer.tryAcquire();
    const queued = balancer.acquire();
    pool.setHealth('s2', 'up');
    assert.equal((await queued).server.name, 's2');
  });

  it('picks up runtime changes on the next pick', () => {
    const { pool, balancer } = setup(servers([1, 1]), { strategy: new InOrder() });
    pool.setWeight('s1', 0);
    assert.equal(closeMode(balancer, 1)[0], 's2');
    pool.setWeight('s1', '100%');
    assert.equal(closeMode(balancer, 1)[0], 's1');
    pool.add({ name: 's0', host: '127.0.0.1', port: 19000 });
    pool.remove('s1');
    assert.equal(closeMode(balancer, 1)[0], 's2');
  });

  it('keeps a lease on a removed server valid and releases it harmlessly', () => {
    const { pool, balancer } = setup(servers([1, 1]), { strategy: new InOrder() });
    const lease = balancer.tryAcquire()!;
    const removed = pool.remove('s1');
    assert.equal(removed.currentConnections, 1);
    lease.release();
    assert.equal(removed.currentConnections, 0);
    assert.equal(balancer.activeLeases, 0);
  });

  it('close() rejects queued callers and resolves once every lease is released', async () => {
    const { balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), timeoutQueueMs: Infinity });
    const held = balancer.tryAcquire()!;
    const queued = balancer.acquire();
    let closed = false;
    const closing = balancer.close().then(() => (closed = true));
    assert.equal(balancer.close(), balancer.close());
    await rejectsWith(queued, 'ERR_LB_CLOSED');
    await Promise.resolve();
    assert.equal(closed, false);
    held.release();
    await closing;
    assert.equal(closed, true);
    await rejectsWith(balancer.acquire(), 'ERR_LB_CLOSED');
  });

  it('destroy() rejects waiters at once and later releases still count down', async () => {
    const { pool, balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), timeoutQueueMs: Infinity });
    const held = balancer.tryAcquire()!;
    const queued = balancer.acquire();
    balancer.destroy();
    await rejectsWith(queued, 'ERR_LB_CLOSED');
    await balancer.close();
    held.release();
    assert.equal(pool.get('s1').currentConnections, 0);
  });

  it('leaves no timer behind when a queued caller is served', async () => {
    const clock = new ManualClock();
    const { balancer } = setup(servers([1], { maxconn: 1 }), { strategy: new InOrder(), clock, timeoutQueueMs: 1000 });
    const held = balancer.tryAcquire()!;
    const queued = balancer.acquire();
    assert.equal(clock.pending, 1);
    held.release();
    (await queued).release();
    assert.equal(clock.pending, 0);
  });

  it('rejects bad options with ERR_LB_INVALID_ARG naming the field', async () => {
    const pool = new Pool('p', { servers: servers([1]) });
    const bad: [unknown, RegExp][] = [
      [{ strategy: 'round-robin' }, /strategy must be one of .*got "round-robin"/],
      [{ timeoutQueueMs: -1 }, /timeoutQueueMs must be .*got -1/],
      [{ timeoutQueueMs: Number.NaN }, /timeoutQueueMs .*got NaN/],
      [{ timeoutQueue: 5 }, /timeoutQueue is not a known option/],
      [{ random: 4 }, /random must be a function/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => new Balancer(pool, options as never), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message));
    }
    assert.throws(() => new Balancer({} as never), /pool must be a Pool/);
    const balancer = new Balancer(pool);
    await rejectsWith(balancer.acquire({ key: Number.NaN }), 'ERR_LB_INVALID_ARG');
    await rejectsWith(balancer.acquire({ exclude: 42 as never }), 'ERR_LB_INVALID_ARG');
    await rejectsWith(balancer.acquire({ signal: 'no' as never }), 'ERR_LB_INVALID_ARG');
  });

  it('keeps the process alive while a caller waits in the queue, so the wait settles instead of the process exiting', () => {
    const script = `
      import { Balancer, Pool } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
      const pool = new Pool('p', { servers: [{ name: 'a', host: '127.0.0.1', port: 1, maxconn: 1 }] });
      const balancer = new Balancer(pool, { timeoutQueueMs: 50 });
      balancer.tryAcquire();
      balancer.acquire().then(() => console.log('granted'), (err) => console.log('rejected', err.code));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.stdout.trim(), 'rejected ERR_LB_QUEUE_TIMEOUT', child.stderr);
    assert.equal(child.status, 0);
  });
});

describe('Balancer with a custom strategy that misbehaves', () => {
  /** A strategy whose pick returns whatever the test says. */
  function returning(value: () => unknown): Strategy {
    return { name: 'rogue', pick: () => value() as Server };
  }

  function strategyFails(fn: () => unknown, reason: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(LbError.is(err), `expected an LbError, got ${String(err)}`);
      assert.equal(err.code, 'ERR_LB_STRATEGY');
      assert.match(err.message, reason);
      return true;
    });
  }

  it('grants no lease and counts nothing when pick() returns a removed server, one of another pool, one in maintenance or a plain object', async () => {
    const pool = new Pool('be', { servers: servers([1, 1, 1]) });
    const other = new Pool('other', { servers: servers([1]) });
    const removed = pool.get('s3');
    pool.remove('s3');
    pool.setAdminState('s2', 'maint');
    const cases: [unknown, RegExp][] = [
      [removed, /strategy "rogue" returned server "s3" from pick\(\), not one of its candidates: not a server of pool "be"/],
      [other.get('s1'), /returned server "s1" .*not a server of pool "be"/],
      [pool.get('s2'), /returned server "s2" .*server "s2" is not usable \(MAINT\)/],
      [{ name: 's1' }, /returned an object from pick\(\), .*not a server of pool "be"/],
    ];
    for (const [value, reason] of cases) {
      const balancer = new Balancer(pool, { strategy: returning(() => value) });
      strategyFails(() => balancer.tryAcquire(), reason);
      await rejectsWith(balancer.acquire(), 'ERR_LB_STRATEGY');
      assert.equal(balancer.activeLeases, 0);
      balancer.destroy();
    }
    assert.deepEqual([pool.get('s1').totalConnections, removed.totalConnections, other.get('s1').totalConnections, pool.get('s2').totalConnections], [0, 0, 0, 0]);
  });

  it('wraps an exception from pick() in ERR_LB_STRATEGY with the cause', () => {
    const pool = new Pool('be', { servers: servers([1]) });
    const boom = new TypeError('boom');
    const balancer = new Balancer(pool, { strategy: returning(() => { throw boom; }) });
    assert.throws(() => balancer.tryAcquire(), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_STRATEGY' && err.cause === boom && /threw in pick\(\): boom/.test(err.message));
    assert.equal(pool.get('s1').currentConnections, 0);
  });

  it('takes a server the strategy returned when it is one of the candidates', () => {
    const pool = new Pool('be', { servers: servers([1, 1]) });
    const balancer = new Balancer(pool, { strategy: returning(() => pool.get('s2')) });
    assert.equal(balancer.tryAcquire()?.server.name, 's2');
  });

  it('reports an object without pick() as a strategy missing pick, not as an unknown built-in', () => {
    const pool = new Pool('be', { servers: servers([1]) });
    assert.throws(
      () => new Balancer(pool, { strategy: { name: 'mine' } as never }),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && /strategy\.pick must be a function/.test(err.message),
    );
    assert.equal(new Balancer(pool, { strategy: { name: 'source', hashType: 'consistent' } }).strategy.name, 'source');
  });
});
