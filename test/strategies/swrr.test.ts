import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Balancer } from '../../src/balancer.js';
import type { Lease } from '../../src/lease.js';
import { Pool } from '../../src/pool.js';
import type { Server } from '../../src/server.js';
import { SmoothWeightedRoundRobin } from '../../src/strategies/smooth-weighted-rr.js';
import { closeMode, holdMode, servers, setup } from '../helpers/picks.js';
import { candidatesOf, pickContext } from '../helpers/strategy-inputs.js';
import { SwrrModel } from './models/swrr-model.js';

/** nginx's loop, verbatim (`ngx_stream_upstream_get_peer()` without failures): the picked indexes. */
function nginxLoop(weights: readonly number[], picks: number): number[] {
  const current = weights.map(() => 0);
  const out: number[] = [];
  for (let p = 0; p < picks; p++) {
    let best = -1;
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      total += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

/** Acquires through the balancer and through the model, and checks they agree. */
function acquireBoth(
  balancer: Balancer,
  model: SwrrModel,
  exclude: ReadonlySet<Server> = new Set(),
): Lease | undefined {
  const pool = balancer.pool;
  const expected = pool.available ? model.pick(candidatesOf(pool), (s) => s.full, (s) => exclude.has(s)) : undefined;
  let lease: Lease | undefined;
  try {
    lease = balancer.tryAcquire({ exclude });
  } catch (err) {
    assert.equal(pool.available, false, `tryAcquire threw with usable servers: ${String(err)}`);
  }
  assert.equal(lease?.server.name, expected?.name);
  return lease;
}

describe('SmoothWeightedRoundRobin (swrr)', () => {
  it('gives s3 s2 s1 s3 s2 s3 for weights 1,2,3 (reference §9.1), period 6', () => {
    const { balancer } = setup(servers([1, 2, 3]), { strategy: 'swrr' });
    assert.deepEqual(closeMode(balancer, 18), ['s3', 's2', 's1', 's3', 's2', 's3', 's3', 's2', 's1', 's3', 's2', 's3', 's3', 's2', 's1', 's3', 's2', 's3']);
  });

  it("gives nginx's a a b a c a a for weights 5,1,1", () => {
    const { balancer } = setup(servers([5, 1, 1]), { strategy: 'swrr' });
    assert.deepEqual(closeMode(balancer, 7), ['s1', 's1', 's2', 's1', 's3', 's1', 's1']);
  });

  it('rotates equal weights in declaration order', () => {
    const { balancer } = setup(servers([2, 2, 2, 2]), { strategy: 'swrr' });
    assert.deepEqual(closeMode(balancer, 8), ['s1', 's2', 's3', 's4', 's1', 's2', 's3', 's4']);
  });

  it("reproduces nginx's loop for any weights", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 12 }), (weights) => {
        const { balancer } = setup(servers(weights), { strategy: 'swrr' });
        const total = weights.reduce((a, b) => a + b, 0);
        const got = closeMode(balancer, 3 * total);
        assert.deepEqual(got, nginxLoop(weights, 3 * total).map((i) => `s${i + 1}`));
        // Every window of Σ weight picks from the start holds each server exactly `weight` times.
        weights.forEach((w, i) => assert.equal(got.slice(0, total).filter((n) => n === `s${i + 1}`).length, w));
      }),
      { numRuns: 150, seed: 20261124 },
    );
  });

  it('passes over a full server and picks it again once it has room', () => {
    const { pool, balancer } = setup(servers([1, 1, 1]), { strategy: 'swrr' });
    const model = new SwrrModel();
    pool.setLimits('s1', { maxconn: 1 });
    const held = acquireBoth(balancer, model)!;
    assert.equal(held.server.name, 's1');
    const whileFull: string[] = [];
    for (let i = 0; i < 6; i++) {
      const lease = acquireBoth(balancer, model)!;
      whileFull.push(lease.server.name);
      lease.release();
    }
    assert.deepEqual(whileFull, ['s2', 's3', 's2', 's3', 's2', 's3']);
    held.release();
    assert.equal(acquireBoth(balancer, model)?.server.name, 's1');
  });

  it('avoids an excluded server unless no other server has room', () => {
    const { pool, balancer } = setup(servers([1, 1, 5]), { strategy: 'swrr' });
    const model = new SwrrModel();
    const s3 = new Set([pool.get('s3')]);
    for (let i = 0; i < 7; i++) {
      const lease = acquireBoth(balancer, model, s3)!;
      assert.notEqual(lease.server.name, 's3');
      lease.release();
    }
    pool.setLimits('s1', { maxconn: 1 });
    pool.setLimits('s2', { maxconn: 1 });
    const h1 = acquireBoth(balancer, model, s3)!;
    const h2 = acquireBoth(balancer, model, s3)!;
    assert.deepEqual(new Set([h1.server.name, h2.server.name]), new Set(['s1', 's2']));
    assert.equal(acquireBoth(balancer, model, s3)?.server.name, 's3', 's1 and s2 are full: the excluded s3 is the last resort');
  });

  it('returns undefined when every server is full, without disturbing the rotation', () => {
    const { pool, balancer } = setup(servers([1, 2, 3], { maxconn: 1 }), { strategy: 'swrr' });
    const reference = closeMode(setup(servers([1, 2, 3]), { strategy: 'swrr' }).balancer, 6);
    const names: string[] = [];
    const { names: first, leases } = holdMode(balancer, 3);
    assert.deepEqual(first, reference.slice(0, 3));
    assert.equal(balancer.tryAcquire(), undefined);
    assert.equal(balancer.tryAcquire(), undefined);
    for (const l of leases) l.release();
    names.push(...closeMode(balancer, 3));
    assert.deepEqual(names, reference.slice(3, 6));
    assert.equal(pool.get('s1').currentConnections, 0);
  });

  it('never picks a server while it is down, and resumes it with its saved current weight', () => {
    const { pool, balancer } = setup(servers([1, 2, 3], { check: true }), { strategy: 'swrr' });
    const model = new SwrrModel();
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) acquireBoth(balancer, model)!.release();
    pool.setHealth('s3', 'down');
    for (let i = 0; i < 6; i++) {
      const lease = acquireBoth(balancer, model)!;
      seen.push(lease.server.name);
      lease.release();
    }
    assert.ok(!seen.includes('s3'));
    assert.deepEqual(seen, ['s1', 's2', 's1', 's2', 's2', 's1']);
    pool.setHealth('s3', 'up');
    // s3 left with current weight 0 and the others summing to 0: two full cycles of 6 hold it 6 times.
    const after: string[] = [];
    for (let i = 0; i < 12; i++) {
      const lease = acquireBoth(balancer, model)!;
      after.push(lease.server.name);
      lease.release();
    }
    assert.equal(after.filter((n) => n === 's3').length, 6);
  });

  it('applies a weight change from the next pick', () => {
    const { pool, balancer } = setup(servers([1, 1]), { strategy: 'swrr' });
    const model = new SwrrModel();
    acquireBoth(balancer, model)!.release();
    pool.setWeight('s2', 3);
    const names: string[] = [];
    for (let i = 0; i < 40; i++) {
      const lease = acquireBoth(balancer, model)!;
      names.push(lease.server.name);
      lease.release();
    }
    assert.equal(names.slice(8).filter((n) => n === 's2').length, 24, 'steady state: 3 picks of s2 for 1 of s1');
    pool.setWeight('s1', 0);
    assert.deepEqual(closeMode(balancer, 3), ['s2', 's2', 's2']);
  });

  it('ranks servers added at runtime by declaration order, on ties too', () => {
    const run = (before: number, between: number): string[] => {
      const { pool, balancer } = setup(servers([1, 1]), { strategy: 'swrr' });
      const model = new SwrrModel();
      const picks = (n: number): string[] => {
        const names: string[] = [];
        for (let i = 0; i < n; i++) {
          const lease = acquireBoth(balancer, model)!;
          names.push(lease.server.name);
          lease.release();
        }
        return names;
      };
      picks(1);
      pool.add({ name: 's3', host: '127.0.0.1', port: 19003 }); // appended: ranked after s2
      assert.deepEqual(picks(6), ['s2', 's3', 's1', 's2', 's3', 's1']);
      pool.add({ name: 'late', host: '127.0.0.1', port: 19100, disabled: true });
      pool.add({ name: 's9', host: '127.0.0.1', port: 19109 });
      picks(before);
      pool.setHealth('s9', 'down');
      pool.setAdminState('late', 'ready'); // last usable now, but declared before s9
      picks(between);
      pool.setHealth('s9', 'up'); // on a tie between late and s9, late goes first
      return picks(10);
    };
    for (let before = 0; before < 5; before++) {
      for (let between = 0; between < 5; between++) {
        assert.deepEqual(new Set(run(before, between)), new Set(['s1', 's2', 's3', 'late', 's9']));
      }
    }
  });

  it('stays exact past a million picks (the intercepts are rebased)', () => {
    const pool = new Pool('fe', { servers: servers([3, 5, 7]) });
    const strategy = new SmoothWeightedRoundRobin();
    strategy.reset(pool.activeUsable, pool.backupUsable);
    const ctx = pickContext();
    const candidates = pool.activeUsable;
    const picks = 2 ** 20 + 1000;
    const expected = nginxLoop([3, 5, 7], picks);
    for (let i = 0; i < picks; i++) {
      const got = strategy.pick(candidates, ctx);
      if (got !== candidates[expected[i]!]) assert.fail(`pick ${i}: got ${got?.name}, expected s${expected[i]! + 1}`);
    }
  });

  it('follows the candidates it is given when used without the hooks', () => {
    const pool = new Pool('fe', { servers: servers([1, 2, 3, 4]) });
    const [s1, s2, s3, s4] = pool.servers as [Server, Server, Server, Server];
    const strategy = new SmoothWeightedRoundRobin();
    const model = new SwrrModel();
    const never = (): boolean => false;
    const ctx = pickContext();
    const lists = [[s1, s2, s3, s4], [s1, s3, s4], [s1, s3], [s2, s4], [s1, s2, s3, s4], [s2, s4]];
    for (const list of lists) {
      for (let i = 0; i < 7; i++) assert.equal(strategy.pick(list, ctx)?.name, model.pick(list, never, never)?.name);
    }
  });

  it('matches the literal O(n) model through any sequence of pool events', () => {
    const op = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('acquire' as const), exclude: fc.array(fc.nat(9), { maxLength: 3 }) }), weight: 6 },
      { arbitrary: fc.record({ kind: fc.constant('release' as const), i: fc.nat() }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant('health' as const), i: fc.nat(9), up: fc.boolean() }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('admin' as const), i: fc.nat(9), state: fc.constantFrom('ready' as const, 'drain' as const, 'maint' as const) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('weight' as const), i: fc.nat(9), w: fc.integer({ min: 0, max: 6 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('maxconn' as const), i: fc.nat(9), m: fc.integer({ min: 0, max: 2 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('add' as const), w: fc.integer({ min: 0, max: 4 }), backup: fc.boolean(), disabled: fc.boolean() }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('remove' as const), i: fc.nat(9) }), weight: 1 },
    );
    const scenario = fc.record({
      servers: fc.array(fc.record({ w: fc.integer({ min: 0, max: 5 }), backup: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      ops: fc.array(op, { minLength: 30, maxLength: 120 }),
    });
    fc.assert(
      fc.property(scenario, ({ servers: list, ops }) => {
        const pool = new Pool('fe', {
          allBackups: true,
          servers: list.map((s, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port: 19001 + i, weight: s.w, backup: s.backup, check: true })),
        });
        const balancer = new Balancer(pool, { strategy: 'swrr' });
        const model = new SwrrModel();
        const held: Lease[] = [];
        let added = 0;
        const at = (i: number): Server | undefined => pool.servers[i % Math.max(1, pool.size)];
        for (const o of ops) {
          const s = at('i' in o ? o.i : 0);
          switch (o.kind) {
            case 'acquire': {
              const exclude = new Set(o.exclude.map((i) => at(i)).filter((x): x is Server => x !== undefined));
              const lease = acquireBoth(balancer, model, exclude);
              if (lease) held.push(lease);
              break;
            }
            case 'release':
              if (held.length > 0) held.splice(o.i % held.length, 1)[0]!.release();
              break;
            case 'health':
              if (s) pool.setHealth(s.name, o.up ? 'up' : 'down');
              break;
            case 'admin':
              if (s) pool.setAdminState(s.name, o.state);
              break;
            case 'weight':
              if (s) pool.setWeight(s.name, o.w);
              break;
            case 'maxconn':
              if (s) pool.setLimits(s.name, { maxconn: o.m });
              break;
            case 'add':
              pool.add({ name: `n${++added}`, host: '127.0.0.1', port: 20000 + added, weight: o.w, backup: o.backup, disabled: o.disabled, check: true });
              break;
            case 'remove':
              if (s && pool.size > 1) pool.remove(s.name);
              break;
          }
        }
        for (const l of held) l.release();
        for (let i = 0; i < 10; i++) acquireBoth(balancer, model)?.release();
      }),
      { numRuns: 300, seed: 4242 },
    );
  });
});
