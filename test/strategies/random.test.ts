import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../../src/errors.js';
import type { Lease } from '../../src/lease.js';
import type { Server } from '../../src/server.js';
import { fullHash } from '../../src/strategies/internal/hash.js';
import { RandomStrategy } from '../../src/strategies/random.js';
import { servers, setup } from '../helpers/picks.js';
import { mulberry32 } from '../helpers/prng.js';


/** The consistent-hash ring built naively from scratch (16 points per weight unit at fullHash(id·4096 + j)). */
function ringLookup(usable: readonly Server[], hash: number, exclude?: Server): Server {
  const points: [number, Server][] = [];
  for (const s of usable) for (let j = 0; j < s.effectiveWeight; j++) points.push([fullHash(Math.imul(s.id, 4096) + j), s]);
  points.sort((a, b) => a[0] - b[0]);
  let next = points.findIndex(([p]) => p >= hash);
  if (next < 0) next = 0;
  const prev = (next + points.length - 1) % points.length;
  let i = (hash - points[prev]![0]) >>> 0 <= (points[next]![0] - hash) >>> 0 ? prev : next;
  const closest = i;
  for (let n = 0; n < points.length && points[i]![1] === exclude; n++) i = (i + 1) % points.length;
  return points[i]![1] === exclude ? points[closest]![1] : points[i]![1];
}

/** HAProxy's get_server_rnd() stated plainly: N ring draws, a later draw loses only if strictly more loaded. */
function modelPick(usable: readonly Server[], draws: number, random: () => number, exclude?: Server): Server | undefined {
  let best: Server | undefined;
  for (let n = 0; n < draws; n++) {
    const drawn = ringLookup(usable, Math.floor(random() * 2 ** 32), exclude);
    if (best && best !== drawn && drawn.currentConnections * best.effectiveWeight > best.currentConnections * drawn.effectiveWeight) continue;
    best = drawn;
  }
  return best && !best.full ? best : undefined;
}

/** A random value in [0, 1) whose draw lands on `target` (found by scanning the naive ring). */
function valueFor(usable: readonly Server[], target: Server): number {
  for (let k = 0; k < 1024; k++) {
    const r = (k + 0.5) / 1024;
    if (ringLookup(usable, Math.floor(r * 2 ** 32)) === target) return r;
  }
  throw new Error(`no value found for ${target.name}`);
}

/** A `random` source that returns `values` in order, then fails loudly. */
function scripted(values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('random called more often than scripted');
    return values[i++]!;
  };
}

describe('RandomStrategy', () => {
  it('maps each random value to the server owning that point of the consistent-hash ring', () => {
    const values = Array.from({ length: 300 }, mulberry32(7));
    const { pool, balancer } = setup(servers([1, 2, 3]), { strategy: { name: 'random', draws: 1 }, random: scripted(values) });
    for (const r of values) {
      const lease = balancer.tryAcquire();
      assert.equal(lease?.server, ringLookup(pool.activeUsable, Math.floor(r * 2 ** 32)));
      lease?.release();
    }
  });

  it('keeps the later of two equally loaded draws, and the less loaded draw otherwise', () => {
    const list = servers([1, 1]);
    const probe = setup(list, { strategy: 'random' });
    const [s1, s2] = probe.pool.activeUsable as [Server, Server];
    const toS1 = valueFor(probe.pool.activeUsable, s1);
    const toS2 = valueFor(probe.pool.activeUsable, s2);

    const { balancer } = setup(list, { strategy: new RandomStrategy({ draws: 2 }), random: scripted([toS1, toS2, toS2, toS1, toS2, toS1, toS2, toS1]) });
    const a = balancer.tryAcquire()!; // both idle: the later draw (s2) wins the tie
    assert.equal(a.server.name, 's2');
    const b = balancer.tryAcquire()!; // s2 (1 connection) then s1 (0): the less loaded later draw wins
    assert.equal(b.server.name, 's1');
    a.release();
    b.release();
    const c = balancer.tryAcquire()!; // both idle again: the later draw (s1) wins the tie
    assert.equal(c.server.name, 's1');
    const d = balancer.tryAcquire()!; // s2 (0) then s1 (1): the more loaded later draw loses
    assert.equal(d.server.name, 's2');
  });

  it('compares connections per weight, not raw connection counts', () => {
    const list = servers([1, 2]);
    const probe = setup(list, { strategy: 'random' });
    const [s1, s2] = probe.pool.activeUsable as [Server, Server];
    const toS1 = valueFor(probe.pool.activeUsable, s1);
    const toS2 = valueFor(probe.pool.activeUsable, s2);
    const build = [toS1, toS1, toS1, toS1, toS2, toS2, toS2, toS2, toS2, toS2];
    const { balancer } = setup(list, { strategy: { name: 'random', draws: 2 }, random: scripted([...build, toS2, toS1]) });
    for (let i = 0; i < 5; i++) balancer.tryAcquire(); // s1: 2 connections on weight 1; s2: 3 on weight 2
    // s2 drawn first, s1 last: 2×32 > 3×16, so s1 is more loaded per weight although it has fewer connections
    assert.equal(balancer.tryAcquire()?.server.name, 's2');
  });

  it('agrees with a plain model of get_server_rnd() over random acquires, releases and changes', () => {
    for (const draws of [1, 2, 3, 5]) {
      for (let seed = 1; seed <= 6; seed++) {
        const rnd = mulberry32(seed * 100 + draws);
        const n = 2 + Math.floor(rnd() * 4);
        const list = servers(Array.from({ length: n }, () => 1 + Math.floor(rnd() * 3)), { maxconn: 3 });
        const picks = mulberry32(seed);
        const modelPicks = mulberry32(seed);
        const { pool, balancer } = setup(list, { strategy: { name: 'random', draws }, random: picks });
        const open: Lease[] = [];
        for (let step = 0; step < 300; step++) {
          const r = rnd();
          const target = pool.servers[Math.floor(rnd() * n)]!;
          if (r < 0.5) {
            if (pool.activeUsable.length === 0) continue;
            const exclude = rnd() < 0.2 ? target : undefined;
            const expected = modelPick(pool.activeUsable, draws, modelPicks, exclude);
            const lease = balancer.tryAcquire(exclude ? { exclude } : {});
            assert.equal(lease?.server, expected, `draws ${draws} seed ${seed} step ${step}`);
            if (lease) open.push(lease);
          } else if (r < 0.85) {
            open.splice(Math.floor(rnd() * open.length), 1)[0]?.release();
          } else if (r < 0.93) {
            pool.setWeight(target.name, Math.floor(rnd() * 4));
          } else {
            pool.setAdminState(target.name, target.adminState === 'ready' ? 'maint' : 'ready');
          }
        }
      }
    }
  });

  it('sends the caller to the balancer queue when the winner is full, even if another server has room', async () => {
    const list = servers([1, 1], { maxconn: 1 });
    const probe = setup(list, { strategy: 'random' });
    const toS1 = valueFor(probe.pool.activeUsable, probe.pool.activeUsable[0]!);
    const { balancer } = setup(list, { strategy: { name: 'random', draws: 1 }, random: () => toS1, timeoutQueueMs: Infinity });
    const held = balancer.tryAcquire()!;
    assert.equal(held.server.name, 's1');
    assert.equal(balancer.tryAcquire(), undefined);
    const where: (string | Server)[] = [];
    balancer.on('queue:enter', (w) => where.push(w));
    const waiting = balancer.acquire();
    assert.deepEqual(where, ['balancer']);
    held.release();
    assert.equal((await waiting).server.name, 's1');
  });

  it('gives each server a share of random(1) picks close to its weight (fixed-seed PRNG, 60000 picks)', () => {
    const { pool, balancer } = setup(servers([10, 20, 30]), { strategy: { name: 'random', draws: 1 }, random: mulberry32(42) });
    const counts = new Map<string, number>();
    const total = 60_000;
    for (let i = 0; i < total; i++) {
      const lease = balancer.tryAcquire()!;
      counts.set(lease.server.name, (counts.get(lease.server.name) ?? 0) + 1);
      lease.release();
    }
    // 160/320/480 ring points: the ring's own unevenness is under 1%, sampling noise about 0.2%.
    for (const s of pool.servers) {
      const share = (counts.get(s.name) ?? 0) / total;
      assert.ok(Math.abs(share - s.weight / 60) < 0.02, `${s.name}: share ${share.toFixed(3)} for weight ${s.weight}/60`);
    }
  });

  it('evens out held connections as draws increase (60 held connections on 4 equal servers)', () => {
    const spread = (draws: number): number => {
      const { pool, balancer } = setup(servers([1, 1, 1, 1]), { strategy: new RandomStrategy({ draws }), random: mulberry32(3) });
      for (let i = 0; i < 60; i++) assert.ok(balancer.tryAcquire());
      const loads = pool.servers.map((s) => s.currentConnections);
      return Math.max(...loads) - Math.min(...loads);
    };
    const one = spread(1);
    const ten = spread(10);
    assert.ok(ten <= 2, `random(10) spread ${ten}`);
    assert.ok(one > ten, `random(1) spread ${one} should exceed random(10) spread ${ten}`);
  });

  it('rejects a draw count outside 1–100', () => {
    assert.throws(() => new RandomStrategy({ draws: 0 }), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG');
  });
});
