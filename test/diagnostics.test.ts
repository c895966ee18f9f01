import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import {
  CONNECT_TRACING_CHANNEL,
  DIAGNOSTICS_CHANNELS,
  publishCheckResult,
  publishDiscoveryError,
  publishPick,
  publishPoolEmpty,
  publishPoolRecovered,
  publishQueueLeave,
  publishServerAdded,
  publishServerRemoved,
  publishServerState,
  traceConnect,
  traceConnectSync,
} from '../src/diagnostics.js';
import type { CheckResultMessage, ConnectContext, PickMessage, QueueLeaveMessage, ServerStateMessage } from '../src/diagnostics-messages.js';
import { ADMIN_CAUSE } from '../src/state/check-result.js';
import { Pool } from '../src/pool.js';
import type { Server } from '../src/server.js';

/** Collects what is published on `name` while `fn` runs. */
async function capture(name: string, fn: () => unknown): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (message: unknown): void => void seen.push(message);
  dc.subscribe(name, listener);
  try {
    await fn();
  } finally {
    dc.unsubscribe(name, listener);
  }
  return seen;
}

function fixture(): { pool: Pool; server: Server } {
  const pool = new Pool('web', { servers: [{ name: 'web1', host: '127.0.0.1', port: 8081, check: true }] });
  return { pool, server: pool.get('web1') };
}

describe('diagnostics', () => {
  it('names every channel switchyard:<subject>:<event>, each once', () => {
    const names = Object.values(DIAGNOSTICS_CHANNELS);
    for (const name of names) assert.match(name, /^switchyard:[a-z]+:[a-z]+$/);
    assert.equal(new Set(names).size, names.length);
    assert.equal(CONNECT_TRACING_CHANNEL, 'switchyard:connect');
  });

  it('publishes a pick with the pool, the server, whether the strategy chose it and the queue time', async () => {
    const { pool, server } = fixture();
    const seen = await capture('switchyard:pool:pick', () => publishPick(pool, server, false, 12));
    assert.deepEqual(seen, [{ pool, server, picked: false, queuedMs: 12 } satisfies PickMessage]);
  });

  it('publishes a state change with the previous and the new status and the cause', async () => {
    const { pool, server } = fixture();
    const before = server.status;
    const seen = await capture('switchyard:server:state', () => {
      pool.setAdminState('web1', 'maint');
    });
    assert.deepEqual(seen, [{ pool, server, previousStatus: before, status: 'MAINT', cause: ADMIN_CAUSE } satisfies ServerStateMessage]);
  });

  it('publishes check results and says whether the check passed', async () => {
    const { pool, server } = fixture();
    const seen = (await capture('switchyard:check:result', () => {
      publishCheckResult(pool, server, { status: 'L4OK', durationMs: 1 });
      publishCheckResult(pool, server, { status: 'L7OKC' });
      publishCheckResult(pool, server, { status: 'L4CON', info: 'Connection refused' });
      publishCheckResult(pool, server, { status: 'L7STS', code: 503 });
    })) as CheckResultMessage[];
    assert.deepEqual(seen.map((m) => [m.result.status, m.passed]), [['L4OK', true], ['L7OKC', true], ['L4CON', false], ['L7STS', false]]);
    assert.equal(seen[2]!.result.info, 'Connection refused');
  });

  it('publishes pool, queue, membership and discovery messages on their own channels', async () => {
    const { pool, server } = fixture();
    const err = new Error('x');
    const cases: [string, () => void, unknown][] = [
      ['switchyard:pool:empty', () => publishPoolEmpty(pool), { pool }],
      ['switchyard:pool:recovered', () => publishPoolRecovered(pool), { pool }],
      ['switchyard:queue:leave', () => publishQueueLeave(pool, 'timeout', 100), { pool, reason: 'timeout', waitedMs: 100 } satisfies QueueLeaveMessage],
      ['switchyard:server:added', () => publishServerAdded(pool, server), { pool, server }],
      ['switchyard:server:removed', () => publishServerRemoved(pool, server), { pool, server }],
      ['switchyard:discovery:error', () => publishDiscoveryError(pool, err), { pool, error: err }],
    ];
    for (const [name, , expected] of cases) {
      const all = await capture(name, () => {
        for (const [, other] of cases) other();
      });
      assert.deepEqual(all, [expected], `${name} gets exactly its own message`);
    }
  });

  it('builds nothing when nobody listens (the message is never read)', () => {
    const { pool } = fixture();
    const trap = new Proxy({} as Server, {
      get() {
        throw new Error('read while nobody listens');
      },
    });
    publishServerState(pool, trap, 'UP', ADMIN_CAUSE);
    publishPick(pool, trap, true, 0);
    publishCheckResult(pool, trap, { status: 'L4OK' });
    assert.equal(dc.hasSubscribers('switchyard:server:state'), false);
  });

  it('traces an asynchronous connect: start, asyncEnd with the server filled in and the result, or error', async () => {
    const { pool, server } = fixture();
    const events: [string, string | undefined, unknown][] = [];
    const handlers = {
      start: (ctx: object) => events.push(['start', (ctx as ConnectContext).server?.name, undefined]),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (ctx: object) => events.push(['asyncEnd', (ctx as ConnectContext).server?.name, (ctx as { result?: unknown }).result]),
      error: (ctx: object) => events.push(['error', (ctx as ConnectContext).server?.name, (ctx as { error?: unknown }).error]),
    };
    const channel = dc.tracingChannel(CONNECT_TRACING_CHANNEL);
    channel.subscribe(handlers);
    try {
      const context: ConnectContext = { pool, clientAddress: '10.0.0.1', server: undefined, attempts: 0 };
      const socket = await traceConnect(context, async () => {
        context.server = server;
        context.attempts = 1;
        return 'socket';
      });
      assert.equal(socket, 'socket');
      const boom = new Error('ECONNREFUSED');
      await assert.rejects(
        traceConnect({ pool, clientAddress: undefined, server: undefined, attempts: 0 }, () => Promise.reject(boom)),
        boom,
      );
      assert.equal(traceConnectSync({ pool, clientAddress: undefined, server, attempts: 1 }, () => 42), 42);
      assert.deepEqual(events, [
        ['start', undefined, undefined],
        ['asyncEnd', 'web1', 'socket'],
        ['start', undefined, undefined],
        ['error', undefined, boom],
        ['asyncEnd', undefined, undefined],
        ['start', 'web1', undefined],
      ]);
    } finally {
      channel.unsubscribe(handlers);
    }
  });

  it('runs a connect plainly when nobody traces it', async () => {
    const { pool } = fixture();
    assert.equal(dc.tracingChannel(CONNECT_TRACING_CHANNEL).hasSubscribers, false);
    assert.equal(await traceConnect({ pool, clientAddress: undefined, server: undefined, attempts: 0 }, async () => 'ok'), 'ok');
  });
});
