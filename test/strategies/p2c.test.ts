import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Balancer } from '../../src/balancer.js';
import type { Lease } from '../../src/lease.js';
import { Pool } from '../../src/pool.js';
import type { Server } from '../../src/server.js';
import { PowerOfTwoChoices } from '../../src/strategies/p2c.js';
import type { Strategy } from '../../src/strategies/strategy.js';
import { servers, setup } from '../helpers/picks.js';
import { mulberry32 as seeded } from '../helpers/prng.js';
import { pickContext as context } from '../helpers/strategy-inputs.js';


/**
 * Random numbers that make P2C draw the given candidate indexes, in order (out of `n` candidates):
 * a first draw is `floor(r·n)`, a second is `floor(r·(n−1))` shifted past the first.
 */
function draws(n: number, ...pairs: (readonly [number, number])[]): () => number {
  const values: number[] = [];
  for (const [i, j] of pairs) values.push((i + 0.5) / n, ((j < i ? j : j - 1) + 0.5) / (n - 1));
  return () => {
    const v = values.shift();
    if (v === undefined) throw new Error('the test did not script this many draws');
    return v;
  };
}

/** Holds `count` connections on each named server, through a second balancer pinned to that server. */
function hold(pool: Pool, counts: Record<string, number>): Lease[] {
  let target = '';
  const pinned: Strategy = { name: 'pinned', pick: (c) => c.find((s) => s.name === target) };
  const balancer = new Balancer(pool, { strategy: pinned });
  const leases: Lease[] = [];
  for (const [name, count] of Object.entries(counts)) {
    target = name;
    for (let i = 0; i < count; i++) leases.push(balancer.tryAcquire()!);
  }
  return leases;
}

describe('PowerOfTwoChoices (p2c)', () => {
  it('takes the drawn server with fewer connections', () => {
    const pool = new Pool('fe', { servers: servers([1, 1, 1]) });
    hold(pool, { s1: 3, s2: 1, s3: 2 });
    const p2c = new PowerOfTwoChoices();
    const ctx = context(draws(3, [0, 1], [2, 0], [1, 2]));
    assert.equal(p2c.pick(pool.activeUsable, ctx)?.name, 's2');
    assert.equal(p2c.pick(pool.activeUsable, ctx)?.name, 's3');
    assert.equal(p2c.pick(pool.activeUsable, ctx)?.name, 's2');
  });

  it('keeps the first draw on a tie', () => {
    const pool = new Pool('fe', { servers: servers([1, 1, 1]) });
    hold(pool, { s1: 1, s2: 1, s3: 1 });
    const p2c = new PowerOfTwoChoices();
    const ctx = context(draws(3, [2, 0], [0, 2], [1, 0]));
    assert.deepEqual([1, 2, 3].map(() => p2c.pick(pool.activeUsable, ctx)?.name), ['s3', 's1', 's2']);
  });

  it('compares connections per unit of weight', () => {
    const pool = new Pool('fe', { servers: servers([1, 3]) });
    const leases = hold(pool, { s1: 1, s2: 2 });
    const p2c = new PowerOfTwoChoices();
    assert.equal(p2c.pick(pool.activeUsable, context(draws(2, [0, 1])))?.name, 's2', '2/3 < 1/1');
    leases[0]!.release();
    assert.equal(p2c.pick(pool.activeUsable, context(draws(2, [1, 0])))?.name, 's1', '0/1 < 2/3');
  });

  it('follows a weight change from the next pick', () => {
    const pool = new Pool('fe', { servers: servers([1, 1]) });
    hold(pool, { s1: 2, s2: 3 });
    const p2c = new PowerOfTwoChoices();
    assert.equal(p2c.pick(pool.activeUsable, context(draws(2, [1, 0])))?.name, 's1');
    pool.setWeight('s2', 4);
    assert.equal(p2c.pick(pool.activeUsable, context(draws(2, [0, 1])))?.name, 's2', '3/4 < 2/1');
  });

  it('behaves as plain P2C on connection counts when all weights are equal', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(5), { minLength: 2, maxLength: 8 }), fc.integer({ min: 1, max: 256 }), fc.integer(), (loads, weight, seed) => {
        const pool = new Pool('fe', { servers: servers(loads.map(() => weight)) });
        hold(pool, Object.fromEntries(loads.map((c, i) => [`s${i + 1}`, c])));
        const random = seeded(seed);
        const trace: number[] = [];
        const ctx = context(() => {
          const r = random();
          trace.push(r);
          return r;
        });
        const got = new PowerOfTwoChoices().pick(pool.activeUsable, ctx)!;
        const n = loads.length;
        const i = Math.floor(trace[0]! * n);
        let j = Math.floor(trace[1]! * (n - 1));
        if (j >= i) j++;
        assert.equal(got.name, `s${(loads[j]! < loads[i]! ? j : i) + 1}`);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('always draws two different servers', () => {
    const pool = new Pool('fe', { servers: servers([1, 1, 1]) });
    hold(pool, { s1: 1, s3: 1 });
    const p2c = new PowerOfTwoChoices();
    // The same random number twice would draw s2 twice; the second draw must land elsewhere.
    assert.equal(p2c.pick(pool.activeUsable, context(() => 0.5))?.name, 's2');
    hold(pool, { s2: 2 });
    assert.notEqual(p2c.pick(pool.activeUsable, context(() => 0.5))?.name, 's2');
  });

  it('redraws full servers and never returns one', () => {
    const pool = new Pool('fe', { servers: servers([1, 1, 1, 1], { maxconn: 1 }) });
    hold(pool, { s1: 1, s3: 1 });
    const p2c = new PowerOfTwoChoices();
    // First draw s1 (full) then s2; second draw s3 (full) then s4.
    const values = [0.1, 0.3, 0.6, 0.9];
    assert.equal(p2c.pick(pool.activeUsable, context(() => values.shift()!))?.name, 's2', 'tie between s2 and s4: first draw');
    const random = seeded(1);
    for (let i = 0; i < 200; i++) {
      const s = p2c.pick(pool.activeUsable, context(random))!;
      assert.ok(s.name === 's2' || s.name === 's4', s.name);
    }
  });

  it('finds the only server with room among many full ones, and returns undefined when all are full', () => {
    const pool = new Pool('fe', { servers: servers(Array.from({ length: 100 }, () => 1), { maxconn: 1 }) });
    const counts = Object.fromEntries(pool.servers.filter((s) => s.name !== 's57').map((s) => [s.name, 1]));
    hold(pool, counts);
    const p2c = new PowerOfTwoChoices();
    const random = seeded(2);
    for (let i = 0; i < 20; i++) assert.equal(p2c.pick(pool.activeUsable, context(random))?.name, 's57');
    hold(pool, { s57: 1 });
    assert.equal(p2c.pick(pool.activeUsable, context(random)), undefined);
  });

  it('returns an excluded server only when no other server has room', () => {
    const pool = new Pool('fe', { servers: servers([1, 1, 1], { maxconn: 1 }) });
    const p2c = new PowerOfTwoChoices();
    const random = seeded(3);
    const s2 = new Set([pool.get('s2')]);
    for (let i = 0; i < 50; i++) assert.notEqual(p2c.pick(pool.activeUsable, context(random, { exclude: s2 }))?.name, 's2');
    hold(pool, { s1: 1, s3: 1 });
    assert.equal(p2c.pick(pool.activeUsable, context(random, { exclude: s2 }))?.name, 's2');
  });

  it('costs two random numbers and two candidate reads per pick, whatever the number of servers', () => {
    const pool = new Pool('fe', { servers: servers(Array.from({ length: 10_000 }, (_, i) => 1 + (i % 7))) });
    let reads = 0;
    const candidates = new Proxy(pool.activeUsable, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) reads++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    let calls = 0;
    const random = seeded(4);
    const p2c = new PowerOfTwoChoices();
    for (let i = 0; i < 100; i++) {
      p2c.pick(candidates, context(() => (calls++, random())));
    }
    assert.equal(calls, 200);
    assert.ok(reads <= 400, `${reads} candidate reads for 100 picks`);
  });

  it('never picks a server that is down, drained or at weight 0, and picks it again once back', () => {
    const { pool, balancer } = setup(servers([1, 1, 1, 1], { check: true }), { strategy: 'p2c', random: seeded(5) });
    pool.setHealth('s1', 'down');
    pool.setAdminState('s2', 'drain');
    pool.setWeight('s3', 0);
    const held: Lease[] = [];
    for (let i = 0; i < 30; i++) held.push(balancer.tryAcquire()!);
    assert.deepEqual(new Set(held.map((l) => l.server.name)), new Set(['s4']));
    pool.setHealth('s1', 'up');
    const next = balancer.tryAcquire()!;
    assert.equal(next.server.name, 's1', 's1 holds 0 connections against 30: it wins any draw');
  });

  it('keeps held connections balanced with equal weights', () => {
    const { pool, balancer } = setup(servers([1, 1, 1, 1, 1]), { strategy: 'p2c', random: seeded(6) });
    for (let i = 0; i < 500; i++) balancer.tryAcquire();
    const counts = pool.servers.map((s) => s.currentConnections);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 3, `held connections ${counts.join(',')}`);
  });
});
