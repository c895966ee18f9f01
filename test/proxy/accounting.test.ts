/**
 * The proxy's accounting of one connection as HAProxy 2.6 keeps it (issue 12 items 2–4): the assignment time
 * (`t_queue`, tcplog's `Tw` − 1), `Tc` from the last assignment, the `+` and `wredis` only when the connection
 * really moved to another server, and a server's `stot` counting every connection attempt. Real sockets on
 * loopback, time from a manual clock, so the values are exact.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { formatTcplog, tcplogWait } from '../../src/haproxy/log/tcplog.js';
import type { ConnectionRecord } from '../../src/proxy/tcp-proxy.js';
import type { ConnectOutcome } from '../../src/outcome.js';
import type { Server } from '../../src/server.js';
import type { Strategy } from '../../src/strategies/strategy.js';
import { RecordingSink, backend, collect, echo, proxyRig, refusedPort, s, waitFor } from './helpers.js';
import { InOrder } from '../helpers/picks.js';

/** Always the first candidate, excluded or not: HAProxy's map-based hash, which maps a client to one server whatever failed. */
class MapsToFirst implements Strategy {
  readonly name = 'maps-to-first';
  readonly usesServerQueues = true;
  pick(candidates: readonly Server[]): Server | undefined {
    return candidates[0];
  }
}

const COUNTS = { processConnections: 1, frontendConnections: 1, backendConnections: 0, serverConnections: 0 };
const line = (r: ConnectionRecord): string =>
  formatTcplog(r, 'fe', 'fe', new Date(2026, 11, 2, 9, 0, 0, 0), { ...COUNTS, serverQueue: r.serverQueuePosition, backendQueue: r.balancerQueuePosition })
    .replace(/^\S+ \[[^\]]+\] /, '');

describe('proxy accounting (HAProxy 2.6 t_queue, Tc, redispatch, stot; manual clock)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  /** s1 refuses, s2 echoes; retries and redispatch on; the manual clock drives the turn-arounds. */
  async function redispatchRig(strategy: Strategy, retries: number) {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const live = await backend(echo);
    cleanup.push(() => live.close());
    const r = await proxyRig([s('s1', await refusedPort()), s('s2', live.port)], { clock, observer: sink, retries, redispatch: true }, { strategy }, clock);
    cleanup.push(() => r.shutdown());
    return { clock, sink, r };
  }

  it("logs Tw as the assignment time + 1 in TCP mode, -1 when no server was assigned (HAProxy's t_queue - t_request)", () => {
    assert.deepEqual([tcplogWait(-1), tcplogWait(0), tcplogWait(0.4), tcplogWait(302.7), tcplogWait(2001)], [-1, 1, 1, 303, 2002]);
  });

  it('a session placed at once is assigned at 0 ms: Tw 1, Tc the connect time', async () => {
    const clock = new ManualClock();
    const live = await backend(echo);
    cleanup.push(() => live.close());
    const r = await proxyRig([s('s1', live.port)], { clock }, {}, clock);
    cleanup.push(() => r.shutdown());
    const client = r.connect();
    const got = collect(client);
    client.end('x');
    await got.ended();
    const record = await r.closed();
    assert.equal(record.assignedMs, 0);
    assert.equal(record.connectMs, 0);
    assert.match(line(record), /^fe fe\/s1 1\/0\/0 1 -- 1\/1\/0\/0\/0 0\/0$/);
  });

  it('counts the failed attempts and turn-arounds before a redispatch in the assignment time (Tw 1001, Tc 0, +2)', async () => {
    const { clock, sink, r } = await redispatchRig(new InOrder(true), 2);
    const client = r.connect();
    await sink.waitForReports(1);
    // Refused at 0 ms; the same server again after the 1 s turn-around; refused; redispatched to s2 at once.
    clock.advance(1000);
    await sink.waitForReports(3);
    assert.deepEqual(sink.kinds, ['s1:refused', 's1:refused', 's2:success']);
    const got = collect(client);
    client.end('x');
    await got.ended();
    const record = await r.closed();
    assert.deepEqual([record.assignedMs, record.connectMs, record.queuedMs, record.retries, record.redispatches], [1000, 0, 0, 2, 1]);
    assert.match(line(record), /^fe fe\/s2 1001\/0\/1000 1 -- 1\/1\/0\/0\/\+2 0\/0$/);
    const s1 = r.pool.get('s1');
    // Two attempts on one lease: stot 2; picked once (lbtot 1).
    assert.deepEqual([s1.connectAttempts, s1.totalConnections, s1.lbSelections], [2, 1, 1]);
    assert.deepEqual([r.pool.get('s2').connectAttempts, r.pool.get('s2').lbSelections], [1, 1]);
    const c = r.proxy.stats().servers['s1']!;
    assert.deepEqual([c.connectErrors, c.retries, c.redispatches], [2, 1, 1]);
  });

  it('a redispatch that lands on the same server again is a retry: no +, wretr not wredis, lbtot once, stot per attempt', async () => {
    const { clock, sink, r } = await redispatchRig(new MapsToFirst(), 3);
    r.connect();
    await sink.waitForReports(1);
    clock.advance(1000);
    await sink.waitForReports(2);
    clock.advance(1000);
    // The third failure redispatches on the last retry, without a turn-around (another server is usable): the
    // map sends it to s1 again, whose fourth refusal ends the connection at 2000 ms.
    await sink.waitForReports(4);
    const record = await r.closed();
    assert.deepEqual(sink.kinds, ['s1:refused', 's1:refused', 's1:refused', 's1:refused']);
    assert.deepEqual([record.termination, record.assignedMs, record.retries, record.redispatches], ['SC', 2000, 3, 0]);
    assert.match(line(record), /^fe fe\/s1 2001\/-1\/2000 0 SC 1\/1\/0\/0\/3 0\/0$/);
    const s1 = r.pool.get('s1');
    assert.deepEqual([s1.connectAttempts, s1.totalConnections, s1.lbSelections], [4, 2, 1]);
    const c = r.proxy.stats().servers['s1']!;
    assert.deepEqual([c.connectErrors, c.retries, c.redispatches], [4, 3, 0]);
    assert.equal(r.proxy.stats().redispatches, 0);
  });

  it("counts every attempt in the server's stot: refused with retries 3, two clients → 8 attempts on 2 leases", async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const r = await proxyRig([s('s1', await refusedPort())], { clock, observer: sink, retries: 3, timeoutConnectMs: 200 }, {}, clock);
    cleanup.push(() => r.shutdown());
    for (let i = 1; i <= 2; i++) {
      r.connect();
      for (let a = 1; a <= 4; a++) {
        await sink.waitForReports((i - 1) * 4 + a);
        // The turn-around is min(timeoutConnectMs, 1000) = 200 ms.
        if (a < 4) clock.advance(200);
      }
      const record = await r.closed(i);
      assert.deepEqual([record.termination, record.assignedMs, record.retries], ['SC', 0, 3]);
      assert.match(line(record), /^fe fe\/s1 1\/-1\/600 0 SC 1\/1\/0\/0\/3 0\/0$/);
    }
    const s1 = r.pool.get('s1');
    assert.deepEqual([s1.connectAttempts, s1.totalConnections, s1.lbSelections, s1.currentConnections], [8, 2, 2, 0]);
    assert.deepEqual(r.pool.get('s1').snapshot().connectAttempts, 8);
    await waitFor(() => r.proxy.connections === 0, 'both connections to end');
  });

  it("a server's open connections (HAProxy cur_sess) leave it during a turn-around; its slot (served) does not", async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    // The observer sees the failed attempt still counted (HAProxy's health analysis runs before cur_sess drops).
    const seen: number[] = [];
    const observer = { reportOutcome: (server: Server, outcome: ConnectOutcome) => (seen.push(server.openConnections), sink.reportOutcome(server, outcome)) };
    const r = await proxyRig([s('s1', await refusedPort())], { clock, observer, retries: 1 }, {}, clock);
    cleanup.push(() => r.shutdown());
    const s1 = r.pool.get('s1');
    r.connect();
    await sink.waitForReports(1);
    assert.deepEqual([s1.currentConnections, s1.openConnections, seen[0]], [1, 0, 1]);
    clock.advance(1000);
    assert.deepEqual([s1.currentConnections, s1.openConnections], [1, 1], 'the second attempt is under way');
    await sink.waitForReports(2);
    await r.closed();
    assert.deepEqual([s1.currentConnections, s1.openConnections], [0, 0]);
  });

  it('a connection timed out in a server queue is logged against that server with its position (sQ, %sq 1)', async () => {
    const clock = new ManualClock();
    const hold = await backend(() => {});
    cleanup.push(() => hold.close());
    const r = await proxyRig(
      [s('s1', hold.port, { maxconn: 1, maxqueue: 1 }), s('s2', hold.port, { maxconn: 1, maxqueue: 1 })],
      { clock, timeoutQueueMs: 300 },
      { strategy: 'leastconn' },
      clock,
    );
    cleanup.push(() => r.shutdown());
    r.connect();
    r.connect();
    await waitFor(() => r.pool.get('s1').openConnections === 1 && r.pool.get('s2').openConnections === 1, 'two connections');
    r.connect();
    await waitFor(() => r.pool.get('s1').queued === 1, 'a caller in the queue of s1');
    clock.advance(300);
    const record = await r.closed();
    assert.deepEqual([record.termination, record.server, record.assignedMs, record.serverQueuePosition, record.balancerQueuePosition], ['sQ', undefined, 300, 1, 0]);
    assert.match(line(record), /^fe fe\/s1 301\/-1\/300 0 sQ 1\/1\/0\/0\/0 1\/0$/);
  });
});
