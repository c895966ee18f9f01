import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import type { Lease } from '../../src/lease.js';
import type { Server } from '../../src/server.js';
import { First } from '../../src/strategies/first.js';
import { closeMode, holdMode, servers, setup } from '../helpers/picks.js';
import { mulberry32 } from '../helpers/prng.js';


/** The rule stated plainly: the lowest-id usable server that is not full; the avoided one only as a last resort. */
function modelPick(usable: readonly Server[], exclude?: Server): Server | undefined {
  const byId = [...usable].sort((a, b) => a.id - b.id);
  const open = byId.filter((s) => !s.full);
  return open.find((s) => s !== exclude) ?? open[0];
}

describe('First', () => {
  it('fills s1, s2, s3 up to maxconn 2 each, queues the 7th until timeout queue, then reuses a freed s1 slot (reference §10 A case 15)', async () => {
    const clock = new ManualClock();
    const { pool, balancer } = setup(servers([1, 1, 1], { maxconn: 2 }), { strategy: 'first', clock, timeoutQueueMs: 1000 });
    const { names, leases } = holdMode(balancer, 6);
    assert.deepEqual(names, ['s1', 's1', 's2', 's2', 's3', 's3']);

    const seventh = balancer.acquire();
    assert.equal(balancer.queued, 1);
    clock.advance(999);
    assert.equal(balancer.queued, 1);
    clock.advance(1);
    await assert.rejects(seventh, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_QUEUE_TIMEOUT');

    leases[0]!.release();
    const next = await balancer.acquire();
    assert.equal(next.server, pool.get('s1'));
  });

  it('sends everything to the first server when no maxconn is set, whatever the weights', () => {
    const { balancer } = setup(servers([1, 5, 9]), { strategy: new First() });
    assert.deepEqual(holdMode(balancer, 5).names, ['s1', 's1', 's1', 's1', 's1']);
  });

  it('orders servers by id, not by declaration order', () => {
    const list = servers([1, 1, 1], { maxconn: 1 }).map((s, i) => ({ ...s, id: [30, 10, 20][i]! }));
    const { balancer } = setup(list, { strategy: 'first' });
    assert.deepEqual(holdMode(balancer, 3).names, ['s2', 's3', 's1']);
  });

  it('gives a released slot back to the lowest id', () => {
    const { balancer } = setup(servers([1, 1, 1], { maxconn: 1 }), { strategy: 'first' });
    const { leases } = holdMode(balancer, 3);
    leases[1]!.release();
    assert.deepEqual(closeMode(balancer, 2), ['s2', 's2']);
  });

  it('skips the avoided server, and returns it only when it is the only one with room', () => {
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1 }), { strategy: 'first' });
    const s1 = pool.get('s1');
    assert.equal(balancer.tryAcquire({ exclude: s1 })?.server.name, 's2');
    assert.equal(balancer.tryAcquire({ exclude: s1 })?.server.name, 's1');
  });

  it('notices a maxconn lowered at runtime at the next pick', () => {
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 3 }), { strategy: 'first' });
    holdMode(balancer, 1);
    pool.setLimits('s1', { maxconn: 1 });
    assert.equal(balancer.tryAcquire()?.server.name, 's2');
  });

  it('takes a full server again as soon as its maxconn is raised at runtime', () => {
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1 }), { strategy: 'first' });
    assert.deepEqual(holdMode(balancer, 2).names, ['s1', 's2']);
    pool.setLimits('s1', { maxconn: 2 });
    assert.equal(balancer.tryAcquire()?.server.name, 's1');
    pool.setLimits('s2', { maxconn: 0 });
    assert.equal(balancer.tryAcquire()?.server.name, 's2');
  });

  it('uses the first usable backup alone, and all backups by id with allBackups', () => {
    const list = [...servers([1]), ...[1, 2].map((i) => ({ name: `b${i}`, host: '127.0.0.1', port: 19100 + i, backup: true, maxconn: 1 }))];
    const single = setup(list, { strategy: 'first' });
    single.pool.setAdminState('s1', 'maint');
    assert.deepEqual(closeMode(single.balancer, 2), ['b1', 'b1']);

    const all = setup(list, { strategy: 'first' }, { allBackups: true });
    all.pool.setAdminState('s1', 'maint');
    assert.deepEqual(holdMode(all.balancer, 2).names, ['b1', 'b2']);
  });

  it('agrees with a linear-scan model over random acquires, releases, state and limit changes', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rnd = mulberry32(seed);
      const n = 2 + Math.floor(rnd() * 6);
      const ids = Array.from({ length: n }, (_, i) => i + 1).sort(() => rnd() - 0.5);
      const list = servers(Array.from({ length: n }, () => 1)).map((s, i) => ({ ...s, id: ids[i]!, maxconn: Math.floor(rnd() * 3) }));
      const { pool, balancer } = setup(list, { strategy: 'first' });
      const open: Lease[] = [];
      for (let step = 0; step < 300; step++) {
        const r = rnd();
        const target = pool.servers[Math.floor(rnd() * n)]!;
        if (r < 0.5) {
          if (!pool.available) continue;
          const exclude = rnd() < 0.2 ? target : undefined;
          const expected = modelPick(pool.activeUsable, exclude);
          const lease = balancer.tryAcquire(exclude ? { exclude } : {});
          assert.equal(lease?.server, expected, `seed ${seed} step ${step}`);
          if (lease) open.push(lease);
        } else if (r < 0.85) {
          open.splice(Math.floor(rnd() * open.length), 1)[0]?.release();
        } else if (r < 0.93) {
          pool.setAdminState(target.name, target.adminState === 'ready' ? 'maint' : 'ready');
        } else {
          const maxconn = Math.floor(rnd() * 4); // raised, lowered, or 0 = unlimited: all seen at the next pick
          pool.setLimits(target.name, { maxconn });
        }
      }
    }
  });
});
