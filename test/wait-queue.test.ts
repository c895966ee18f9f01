/**
 * The balancer's queues as HAProxy 2.6 keeps them (issue 12 item 5): leastconn waits in a server's own queue
 * while `served + queued < maxconn + maxqueue` and counts that pick in `lbtot`; the backend queue holds the rest;
 * the positions a caller had when it left a queue (HAProxy's `%sq`/`%bq`); the BACKEND `qcur` is the backend
 * queue alone. Manual clock, no sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { LbError } from '../src/errors.js';
import type { Lease } from '../src/lease.js';
import { showStatRecords } from '../src/metrics/show-stat.js';
import { servers, setup } from './helpers/picks.js';

/** Lets the promise callbacks of granted waiters run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('wait queues (HAProxy 2.6 server and backend queues)', () => {
  it('leastconn with maxconn 1 maxqueue 1: one caller waits on each server, the fifth in the backend queue', async () => {
    const clock = new ManualClock();
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1, maxqueue: 1 }), { strategy: 'leastconn', clock, timeoutQueueMs: 5000 }, { clock });
    const granted: Lease[] = [];
    const order: string[] = [];
    const take = (i: number) => balancer.acquire().then((l) => {
      granted.push(l);
      order.push(`c${i}:${l.server.name}`);
    });
    const waits = [1, 2, 3, 4, 5].map(take);
    await settle();
    assert.deepEqual(order, ['c1:s1', 'c2:s2']);
    const s1 = pool.get('s1');
    const s2 = pool.get('s2');
    assert.deepEqual([s1.queued, s2.queued, s1.lbSelections, s2.lbSelections], [1, 1, 2, 2], 'a server-queued caller counts in lbtot');
    const stats = balancer.stats();
    assert.deepEqual([stats.queued, stats.balancerQueued, stats.maxBalancerQueued], [3, 1, 1]);
    const rows = showStatRecords({ pool: balancer });
    const backend = rows.find((r) => r.svname === 'BACKEND')!;
    assert.deepEqual([backend.qcur, backend.qmax, backend.lbtot], [1, 1, 4]);
    // Oldest first: s1's queue (c3) is older than the backend queue (c5), then s2's (c4), then c5.
    granted[0]!.release();
    await settle();
    granted[1]!.release();
    await settle();
    granted[2]!.release();
    await Promise.all(waits);
    assert.deepEqual(order, ['c1:s1', 'c2:s2', 'c3:s1', 'c4:s2', 'c5:s1']);
    assert.deepEqual(granted.map((l) => [l.queuePositions.server, l.queuePositions.balancer]), [[0, 0], [0, 0], [1, 0], [1, 0], [0, 1]]);
    assert.deepEqual([s1.lbSelections, s2.lbSelections], [2, 2], 'a caller served from a queue is not a new pick');
    for (const l of granted) l.release();
  });

  it('a caller timed out in a server queue is named with that server and its position', async () => {
    const clock = new ManualClock();
    const { balancer } = setup(servers([1, 1], { maxconn: 1, maxqueue: 1 }), { strategy: 'leastconn', clock, timeoutQueueMs: 300 }, { clock });
    const held = [await balancer.acquire(), await balancer.acquire()];
    const queued = balancer.acquire();
    clock.advance(300);
    await assert.rejects(queued, (err: unknown) => {
      assert.ok(LbError.is(err) && err.code === 'ERR_LB_QUEUE_TIMEOUT');
      assert.deepEqual([err.details['server'], err.details['queuePositions'], err.details['waitedMs']], ['s1', { server: 1, balancer: 0 }, 300]);
      return true;
    });
    for (const l of held) l.release();
  });

  it('roundrobin keeps the backend queue: the third caller behind two served ones leaves at position 3', async () => {
    const clock = new ManualClock();
    const { pool, balancer } = setup(servers([1], { maxconn: 1, maxqueue: 1 }), { strategy: 'roundrobin', clock }, { clock });
    const first = await balancer.acquire();
    const waiting = [balancer.acquire(), balancer.acquire(), balancer.acquire()];
    assert.deepEqual([pool.get('s1').queued, balancer.stats().balancerQueued], [0, 3]);
    first.release();
    const a = await waiting[0]!;
    a.release();
    const b = await waiting[1]!;
    b.release();
    const c = await waiting[2]!;
    assert.deepEqual([a, b, c].map((l) => l.queuePositions.balancer), [1, 2, 3]);
    c.release();
  });

  it('a caller moved from a server queue to the backend queue keeps its server position', async () => {
    const clock = new ManualClock();
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1, maxqueue: 1 }), { strategy: 'leastconn', clock }, { clock });
    const held = [await balancer.acquire(), await balancer.acquire()];
    const queued = balancer.acquire();
    assert.equal(pool.get('s1').queued, 1);
    pool.setAdminState('s1', 'maint');
    held[1]!.release();
    const lease = await queued;
    assert.equal(lease.server.name, 's2');
    assert.deepEqual(lease.queuePositions, { server: 1, balancer: 1 });
    lease.release();
    held[0]!.release();
  });
});
