import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { PassiveObserver } from '../../src/health/passive-observer.js';
import { type ProxyConnection, type RetryPlan, TcpProxy } from '../../src/proxy/tcp-proxy.js';
import {
  RecordingSink,
  backend,
  blackhole,
  closedByPeer,
  collect,
  echo,
  proxyRig,
  refusedPort,
  s,
  waitEvent,
  waitFor,
} from '../proxy/helpers.js';
import { InOrder } from '../helpers/picks.js';

describe('TcpProxy connection path (loopback, manual clock)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it('retries a refused server after the turn-around delay, 1 + retries attempts, then closes with SC', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const dead = await refusedPort();
    const r = await proxyRig([s('s1', dead)], { clock, observer: sink, retries: 2, timeoutConnectMs: 5000 }, {}, clock);
    cleanup.push(() => r.shutdown());
    const retries: RetryPlan[] = [];
    let connection: ProxyConnection | undefined;
    r.proxy.on('connection:retry', (c, _server, _outcome, next) => {
      connection = c;
      retries.push(next);
    });
    const client = r.connect();
    await sink.waitForReports(1);
    assert.deepEqual(sink.kinds, ['s1:refused']);
    assert.deepEqual(retries, [{ redispatch: false, delayMs: 1000 }]);
    // Nothing is dialled during the turn-around: min(timeoutConnectMs, 1000) = 1000 ms.
    clock.advance(999);
    assert.equal(connection!.attempts, 1);
    clock.advance(1);
    assert.equal(connection!.attempts, 2);
    await sink.waitForReports(2);
    clock.advance(999);
    assert.equal(connection!.attempts, 2);
    clock.advance(1);
    assert.equal(connection!.attempts, 3);
    await sink.waitForReports(3);
    await closedByPeer(client);
    const record = await r.closed();
    assert.deepEqual(sink.kinds, ['s1:refused', 's1:refused', 's1:refused']);
    assert.equal(record.termination, 'SC');
    assert.equal(record.server, undefined);
    assert.equal(record.retries, 2);
    assert.ok(LbError.is(record.error) && record.error.code === 'ERR_LB_CONNECT_FAILED');
    assert.equal((record.error.details['attempts'] as unknown[]).length, 3);
    assert.equal(r.proxy.stats().connectErrors, 1);
    assert.equal(r.pool.get('s1').currentConnections, 0);
  });

  it('uses a shorter turn-around when timeoutConnectMs is under one second', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const r = await proxyRig([s('s1', await refusedPort())], { clock, observer: sink, retries: 1, timeoutConnectMs: 300 }, {}, clock);
    cleanup.push(() => r.shutdown());
    const plans: RetryPlan[] = [];
    r.proxy.on('connection:retry', (_c, _s, _o, next) => plans.push(next));
    r.connect();
    await sink.waitForReports(1);
    assert.deepEqual(plans, [{ redispatch: false, delayMs: 300 }]);
    clock.advance(300);
    await sink.waitForReports(2);
    assert.equal((await r.closed()).termination, 'SC');
  });

  it('redispatches at once to another server when the strategy is not a hash (no turn-around)', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const live = await backend(echo);
    cleanup.push(() => live.close());
    const r = await proxyRig(
      [s('s1', await refusedPort()), s('s2', live.port)],
      { clock, observer: sink, redispatch: true },
      { strategy: new InOrder() },
      clock,
    );
    cleanup.push(() => r.shutdown());
    const client = r.connect();
    const got = collect(client);
    client.write('ping');
    await got.until(4);
    assert.equal(got.text(), 'ping');
    assert.deepEqual(sink.kinds, ['s1:refused', 's2:success']);
    client.end();
    const record = await r.closed();
    assert.equal(record.server, 's2');
    assert.equal(record.retries, 1);
    assert.equal(record.redispatches, 1);
    const stats = r.proxy.stats();
    assert.equal(stats.redispatches, 1);
    assert.equal(stats.servers['s1']!.redispatches, 1);
    assert.equal(stats.servers['s1']!.connectErrors, 1);
  });

  it('without redispatch keeps retrying the same server even when another is up', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const live = await backend(echo);
    cleanup.push(() => live.close());
    const r = await proxyRig(
      [s('s1', await refusedPort()), s('s2', live.port)],
      { clock, observer: sink, retries: 1 },
      { strategy: new InOrder() },
      clock,
    );
    cleanup.push(() => r.shutdown());
    r.connect();
    await sink.waitForReports(1);
    clock.advance(1000);
    await sink.waitForReports(2);
    assert.deepEqual(sink.kinds, ['s1:refused', 's1:refused']);
    assert.equal((await r.closed()).termination, 'SC');
  });

  it('with a hash strategy, retries the same server with turn-arounds and redispatches on the last retry', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const live = await backend(echo);
    cleanup.push(() => live.close());
    const r = await proxyRig(
      [s('s1', await refusedPort()), s('s2', live.port)],
      { clock, observer: sink, retries: 3, redispatch: true },
      { strategy: new InOrder(true) },
      clock,
    );
    cleanup.push(() => r.shutdown());
    const plans: RetryPlan[] = [];
    r.proxy.on('connection:retry', (_c, _s, _o, next) => plans.push(next));
    const opened = waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
    r.connect();
    await sink.waitForReports(1);
    clock.advance(1000);
    await sink.waitForReports(2);
    clock.advance(1000);
    await sink.waitForReports(4);
    const [connection] = await opened;
    assert.deepEqual(sink.kinds, ['s1:refused', 's1:refused', 's1:refused', 's2:success']);
    assert.deepEqual(plans, [
      { redispatch: false, delayMs: 1000 },
      { redispatch: false, delayMs: 1000 },
      { redispatch: true, delayMs: 0 },
    ]);
    assert.equal(connection.server?.name, 's2');
    assert.equal(connection.retries, 3);
  });

  it('gives up on a blackholed server after timeoutConnectMs per attempt, retrying at once (sC)', async () => {
    const hole = await blackhole();
    cleanup.push(() => hole.close());
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const r = await proxyRig([s('s1', hole.port)], { clock, observer: sink, retries: 1, timeoutConnectMs: 500 }, {}, clock);
    cleanup.push(() => r.shutdown());
    const client = r.connect();
    await waitFor(() => clock.pending === 1, 'the first attempt to start');
    clock.advance(499);
    assert.deepEqual(sink.kinds, []);
    clock.advance(1);
    // A connect timeout is retried without a turn-around: the second attempt is already under way.
    assert.deepEqual(sink.kinds, ['s1:timeout']);
    assert.equal(clock.pending, 1);
    clock.advance(500);
    assert.deepEqual(sink.kinds, ['s1:timeout', 's1:timeout']);
    await closedByPeer(client);
    const record = await r.closed();
    assert.equal(record.termination, 'sC');
    assert.ok(LbError.is(record.error) && record.error.code === 'ERR_LB_CONNECT_TIMEOUT');
  });

  it('closes a connection that waited timeoutQueueMs for a free server (sQ), serving the queue in order before', async () => {
    const clock = new ManualClock();
    const hold = await backend(() => {});
    cleanup.push(() => hold.close());
    const r = await proxyRig([s('s1', hold.port, { maxconn: 1 })], { clock, timeoutQueueMs: 3000 }, {}, clock);
    cleanup.push(() => r.shutdown());
    const first = r.connect();
    await waitEvent(r.proxy, 'connection:open');
    const queued = waitEvent(r.balancer, 'queue:enter');
    const second = r.connect();
    await queued;
    clock.advance(2999);
    assert.equal(second.destroyed, false);
    clock.advance(1);
    await closedByPeer(second);
    const record = await r.closed();
    assert.equal(record.termination, 'sQ');
    assert.equal(record.server, undefined);
    assert.equal(record.queuedMs, 3000);
    assert.ok(LbError.is(record.error) && record.error.code === 'ERR_LB_QUEUE_TIMEOUT');
    // A third client waits, and is served as soon as the first leaves.
    const third = r.connect();
    await waitEvent(r.balancer, 'queue:enter');
    const served = waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
    first.resetAndDestroy();
    const [connection] = await served;
    assert.equal(connection.server?.name, 's1');
    third.destroy();
  });

  it('reports every attempt to a PassiveObserver: error-limit 3 refused connections take s1 from UP to UP 2/3 (reference case 32)', async () => {
    const r = await proxyRig([s('s1', await refusedPort(), { check: true, initState: 'fully-up' })], { retries: 0 });
    cleanup.push(() => r.shutdown());
    const observer = new PassiveObserver(r.pool, { errorLimit: 3 });
    cleanup.push(() => observer.close());
    const proxy = new TcpProxy(r.balancer, { retries: 0, observer });
    cleanup.push(async () => proxy.destroy());
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) {
      const closed = waitEvent(proxy, 'connection:close');
      net.connect(port, '127.0.0.1').on('error', () => {}).resume();
      await closed;
      statuses.push(r.pool.get('s1').status);
    }
    assert.deepEqual(statuses, ['UP', 'UP', 'UP 2/3', 'UP 2/3']);
  });

  it('accepts and closes at once when no server is usable, saying why', async () => {
    const r = await proxyRig([s('s1', 1, { disabled: true })]);
    cleanup.push(() => r.shutdown());
    const rejected = waitEvent<[LbError, ProxyConnection]>(r.proxy, 'connection:reject');
    const client = r.connect();
    const got = collect(client);
    const [error] = await rejected;
    assert.equal(error.code, 'ERR_LB_NO_SERVER');
    await closedByPeer(client);
    assert.equal(got.length, 0);
    const record = await r.closed();
    assert.equal(record.termination, 'SC');
    assert.equal(record.server, undefined);
    assert.equal(record.attempts, 0);
    assert.equal(r.proxy.stats().noServer, 1);
  });

  it('notices a client that leaves while connecting (CC) and gives the slot back', async () => {
    const hole = await blackhole();
    cleanup.push(() => hole.close());
    const clock = new ManualClock();
    const r = await proxyRig([s('s1', hole.port)], { clock }, {}, clock);
    cleanup.push(() => r.shutdown());
    const client = r.connect();
    await waitFor(() => r.pool.get('s1').currentConnections === 1, 'the attempt to start');
    // A FIN would only be a half-close (HAProxy without abortonclose goes on connecting); a reset aborts.
    client.resetAndDestroy();
    const record = await r.closed();
    assert.equal(record.termination, 'CC');
    assert.equal(r.pool.get('s1').currentConnections, 0);
    assert.equal(clock.pending, 0);
  });

  it("shutdown-sessions cuts a server's connections when it goes down (D-, as HAProxy logs it); without it they live on", async () => {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const cut = await proxyRig([s('s1', b.port), s('s2', b.port)], { onMarkedDown: 'shutdown-sessions' }, { strategy: new InOrder() });
    cleanup.push(() => cut.shutdown());
    const kept = await proxyRig([s('s1', b.port), s('s2', b.port)], {}, { strategy: new InOrder() });
    cleanup.push(() => kept.shutdown());
    const a = cut.connect();
    const k = kept.connect();
    await Promise.all([waitEvent(cut.proxy, 'connection:open'), waitEvent(kept.proxy, 'connection:open')]);
    cut.pool.setHealth('s1', 'down');
    kept.pool.setHealth('s1', 'down');
    await closedByPeer(a);
    assert.equal((await cut.closed()).termination, 'D-');
    const got = collect(k);
    k.write('still here');
    await got.until(10);
    assert.equal(kept.proxy.connections, 1);
  });

  it('shutdown-backup-sessions cuts backup connections when an active server comes up (U-)', async () => {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const r = await proxyRig([s('a1', b.port), s('b1', b.port, { backup: true })], { onMarkedUp: 'shutdown-backup-sessions' });
    cleanup.push(() => r.shutdown());
    r.pool.setHealth('a1', 'down');
    const client = r.connect();
    const [connection] = await waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
    assert.equal(connection.server?.name, 'b1');
    r.pool.setHealth('a1', 'up');
    await closedByPeer(client);
    assert.equal((await r.closed()).termination, 'U-');
  });
});
