/**
 * End-to-end diagnostics_channel tests against the public API: subscribe, act on a pool/balancer, assert the
 * message published by the library itself (pool.ts, balancer.ts, connect.ts call src/diagnostics.ts).
 */
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import net from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { Balancer } from '../src/balancer.js';
import { ManualClock } from '../src/clock.js';
import { connect } from '../src/dial/connect.js';
import type {
  CheckResultMessage, ConnectContext, PickMessage, PoolMessage, QueueLeaveMessage, ServerMessage, ServerStateMessage,
} from '../src/diagnostics-messages.js';
import { CONNECT_TRACING_CHANNEL, DIAGNOSTICS_CHANNELS } from '../src/diagnostics.js';
import { Pool } from '../src/pool.js';

async function capture<T>(name: string, fn: () => unknown): Promise<T[]> {
  const seen: T[] = [];
  const listener = (message: unknown): void => void seen.push(message as T);
  dc.subscribe(name, listener);
  try {
    await fn();
  } finally {
    dc.unsubscribe(name, listener);
  }
  return seen;
}

describe('diagnostics channels, wired', () => {
  it('publishes switchyard:pool:pick for every lease granted', async () => {
    const pool = new Pool('web', { servers: [{ name: 'a', host: '127.0.0.1', port: 1 }] });
    const balancer = new Balancer(pool);
    const seen = await capture<PickMessage>(DIAGNOSTICS_CHANNELS.pick, async () => (await balancer.acquire()).release());
    assert.deepEqual(seen, [{ pool, server: pool.get('a'), picked: true, queuedMs: 0 }]);
  });

  it('publishes switchyard:queue:leave when a queued caller times out', async () => {
    const clock = new ManualClock();
    const pool = new Pool('web', { clock, servers: [{ name: 'a', host: '127.0.0.1', port: 1, maxconn: 1 }] });
    const balancer = new Balancer(pool, { timeoutQueueMs: 100 });
    const held = await balancer.acquire();
    const seen = await capture<QueueLeaveMessage>(DIAGNOSTICS_CHANNELS.queueLeave, async () => {
      const waiting = balancer.acquire();
      clock.advance(100);
      await assert.rejects(waiting);
    });
    assert.deepEqual(seen, [{ pool, reason: 'timeout', waitedMs: 100 }]);
    held.release();
  });

  it('publishes switchyard:server:added and :removed', async () => {
    const pool = new Pool('web');
    const added = await capture<ServerMessage>(DIAGNOSTICS_CHANNELS.serverAdded, () => pool.add({ name: 'a', host: '127.0.0.1', port: 1 }));
    assert.deepEqual(added, [{ pool, server: pool.get('a') }]);
    const server = pool.get('a');
    const removed = await capture<ServerMessage>(DIAGNOSTICS_CHANNELS.serverRemoved, () => pool.remove('a'));
    assert.deepEqual(removed, [{ pool, server }]);
  });

  it('publishes switchyard:server:state with the previous and new status, and pool:empty / pool:recovered', async () => {
    const pool = new Pool('web', { servers: [{ name: 'a', host: '127.0.0.1', port: 1 }] });
    const server = pool.get('a');
    const empty: PoolMessage[] = [];
    const recovered: PoolMessage[] = [];
    const onEmpty = (m: unknown): void => void empty.push(m as PoolMessage);
    const onRecovered = (m: unknown): void => void recovered.push(m as PoolMessage);
    dc.subscribe(DIAGNOSTICS_CHANNELS.poolEmpty, onEmpty);
    dc.subscribe(DIAGNOSTICS_CHANNELS.poolRecovered, onRecovered);
    try {
      const states = await capture<ServerStateMessage>(DIAGNOSTICS_CHANNELS.serverState, () => {
        pool.setAdminState('a', 'maint');
        pool.setAdminState('a', 'ready');
      });
      assert.deepEqual(
        states.map((m) => [m.pool, m.server, m.previousStatus, m.status, m.cause.source]),
        [
          [pool, server, 'no check', 'MAINT', 'admin'],
          [pool, server, 'MAINT', 'no check', 'admin'],
        ],
      );
      assert.deepEqual(empty, [{ pool }]);
      assert.deepEqual(recovered, [{ pool }]);
    } finally {
      dc.unsubscribe(DIAGNOSTICS_CHANNELS.poolEmpty, onEmpty);
      dc.unsubscribe(DIAGNOSTICS_CHANNELS.poolRecovered, onRecovered);
    }
  });

  it('publishes switchyard:check:result for each check result the pool applies', async () => {
    const pool = new Pool('web', { servers: [{ name: 'a', host: '127.0.0.1', port: 1, check: true }] });
    const server = pool.get('a');
    const seen = await capture<CheckResultMessage>(DIAGNOSTICS_CHANNELS.checkResult, () => {
      pool.reportCheck(server, { status: 'L4CON', info: 'Connection refused', durationMs: 1 });
      pool.reportCheck(server, { status: 'L4OK', durationMs: 1 });
    });
    assert.deepEqual(seen.map((m) => [m.pool, m.server, m.result.status, m.passed]), [
      [pool, server, 'L4CON', false],
      [pool, server, 'L4OK', true],
    ]);
  });

  it('traces connect() on tracing:switchyard:connect, with the server and attempts filled in', async () => {
    const upstream = net.createServer((s) => s.end());
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as net.AddressInfo).port;
    const pool = new Pool('web', { servers: [{ name: 'a', host: '127.0.0.1', port }] });
    const balancer = new Balancer(pool);
    const events: [string, ConnectContext][] = [];
    const handlers = {
      start: (ctx: object) => void events.push(['start', { ...(ctx as ConnectContext) }]),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (ctx: object) => void events.push(['asyncEnd', { ...(ctx as ConnectContext) }]),
      error: (ctx: object) => void events.push(['error', { ...(ctx as ConnectContext) }]),
    };
    const channel = dc.tracingChannel(CONNECT_TRACING_CHANNEL);
    channel.subscribe(handlers);
    try {
      const socket = await connect(balancer);
      assert.deepEqual(events.map(([name]) => name), ['start', 'asyncEnd']);
      assert.equal(events[0]![1].pool, pool);
      assert.equal(events[1]![1].server, pool.get('a'));
      assert.equal(events[1]![1].attempts, 1);
      assert.equal((events[1]![1] as unknown as { result: unknown }).result, socket);
      socket.destroy();
    } finally {
      channel.unsubscribe(handlers);
      upstream.close();
    }
  });
});
