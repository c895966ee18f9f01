import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Balancer } from '../src/balancer.js';
import { Pool } from '../src/pool.js';
import type { LbState } from '../src/pool.js';
import type { Server } from '../src/server.js';
import { STRATEGY_NAMES, type StrategySpec } from '../src/strategies/index.js';
import { closeMode, servers } from './helpers/picks.js';
import { mulberry32 } from './helpers/prng.js';

function lbLog(pool: Pool): string[] {
  const seen: string[] = [];
  pool.on('server:lb', (s, prev) => seen.push(`lb ${s.name} ${prev.usable}->${s.usable}`));
  pool.on('pool:lb', (changes) => {
    seen.push(`pool:lb ${[...changes].map(([s, prev]: [Server, LbState]) => `${s.name}:${prev.usable}/${prev.effectiveWeight}`).join(' ')}`);
  });
  pool.on('server:added', (s) => seen.push(`added ${s.name}`));
  pool.on('server:removed', (s) => seen.push(`removed ${s.name}`));
  pool.on('server:weight', (s, prev) => seen.push(`weight ${s.name} ${prev}->${s.weight}`));
  pool.on('pool:empty', () => seen.push('empty'));
  pool.on('pool:recovered', () => seen.push('recovered'));
  return seen;
}

describe('pool.batch()', () => {
  it('fires the per-server events as it goes and one pool:lb at the end, with each server as it was before the batch', () => {
    const pool = new Pool('be', { servers: servers([1, 1, 1]) });
    const seen = lbLog(pool);
    const result = pool.batch(() => {
      pool.setWeight('s2', 3);
      pool.add({ name: 'n1', host: '127.0.0.1', port: 1 });
      pool.setWeight('s2', 4); // a second change of s2: its state before the batch is what counts
      pool.remove('s3');
      pool.add({ name: 'n2', host: '127.0.0.1', port: 2 });
      pool.remove('n2'); // added and removed within the batch: the strategies never hear of it
      pool.setWeight('s1', 2);
      pool.setWeight('s1', 1); // back where it started: left out
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(seen, [
      'weight s2 1->3',
      'added n1',
      'weight s2 3->4',
      'removed s3',
      'added n2',
      'removed n2',
      'weight s1 1->2',
      'weight s1 2->1',
      'pool:lb s2:true/16 n1:false/0 s3:true/16',
    ]);
    assert.deepEqual(pool.activeUsable.map((s) => s.name), ['s1', 's2', 'n1']);
  });

  it('leaves out a server the batch added and left unusable, as pool.add() announces none for it', () => {
    const pool = new Pool('be', { servers: servers([1]) });
    const seen = lbLog(pool);
    pool.batch(() => {
      pool.add({ name: 'held', host: '127.0.0.1', port: 1 });
      pool.setHold('held', 'xds', 'out');
      pool.add({ name: 'w0', host: '127.0.0.1', port: 2, weight: 0 });
      pool.add({ name: 'late', host: '127.0.0.1', port: 3, weight: 0 });
      pool.setWeight('late', 2);
    });
    assert.deepEqual(seen.at(-1), 'pool:lb late:false/0');
  });

  it('announces availability once, from the state before the batch to the state after it', () => {
    const pool = new Pool('be', { servers: servers([1, 1]) });
    const seen = lbLog(pool);
    // Everything replaced: the pool is never announced empty, although it held no server for a moment.
    pool.batch(() => {
      pool.remove('s1');
      pool.remove('s2');
      pool.add({ name: 'n', host: '127.0.0.1', port: 1 });
    });
    assert.equal(seen.filter((e) => e === 'empty' || e === 'recovered').length, 0);
    pool.batch(() => pool.setAdminState('n', 'maint'));
    assert.deepEqual(seen.slice(-2), ['pool:lb n:true/16', 'empty']);
    pool.batch(() => pool.setAdminState('n', 'ready'));
    assert.deepEqual(seen.slice(-2), ['pool:lb n:false/16', 'recovered']);
    assert.equal(pool.emptyTransitions, 1);
  });

  it('joins an outer batch when nested, and announces what a throwing function changed', () => {
    const pool = new Pool('be', { servers: servers([1, 1]) });
    const seen = lbLog(pool);
    assert.throws(() =>
      pool.batch(() => {
        pool.batch(() => pool.setWeight('s1', 5));
        assert.deepEqual(seen, ['weight s1 1->5'], 'nothing announced at the end of the inner batch');
        pool.remove('s2');
        throw new Error('boom');
      }), /boom/);
    assert.deepEqual(seen, ['weight s1 1->5', 'removed s2', 'pool:lb s1:true/16 s2:true/16']);
    assert.deepEqual(pool.activeUsable.map((s) => s.name), ['s1']);
    // Back to one change at a time.
    pool.setWeight('s1', 1);
    assert.equal(seen.at(-1), 'lb s1 true->true');
  });

  it('serves queued callers when a batch brings room, and moves callers off a server it takes out', async () => {
    const pool = new Pool('be', { servers: [{ name: 'a', host: '127.0.0.1', port: 1, maxconn: 1 }] });
    const balancer = new Balancer(pool, { strategy: 'roundrobin' });
    const held = balancer.tryAcquire()!;
    const waiting = balancer.acquire({ timeoutQueueMs: 60_000 });
    assert.equal(balancer.queued, 1);
    pool.batch(() => {
      pool.add({ name: 'b', host: '127.0.0.1', port: 2 });
      assert.equal(balancer.queued, 1, 'nobody is served before the batch ends');
    });
    const lease = await waiting;
    assert.equal(lease.server.name, 'b');
    lease.release();
    held.release();
  });

  it('leaves every strategy where the same changes made one at a time would (same picks after)', () => {
    const specs: readonly StrategySpec[] = [...STRATEGY_NAMES, { name: 'source', hashType: 'consistent' }, { name: 'random', draws: 2 }];
    type Change = { readonly i: number; readonly kind: 'weight' | 'maint' | 'ready' | 'remove' | 'add'; readonly w: number };
    const changeArb = fc.record({
      i: fc.nat(11),
      kind: fc.constantFrom('weight' as const, 'maint' as const, 'ready' as const, 'remove' as const, 'add' as const),
      w: fc.integer({ min: 0, max: 6 }),
    });
    fc.assert(
      fc.property(fc.constantFrom(...specs), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 12 }), fc.array(changeArb, { maxLength: 12 }), fc.nat(200), (spec, weights, changes, warmup) => {
        const build = (): { pool: Pool; balancer: Balancer } => {
          const pool = new Pool('be', { servers: servers(weights), allBackups: true });
          return { pool, balancer: new Balancer(pool, { strategy: spec, random: mulberry32(7) }) };
        };
        const one = build();
        const batched = build();
        closeMode(one.balancer, warmup, { clientAddress: '10.0.0.1' });
        closeMode(batched.balancer, warmup, { clientAddress: '10.0.0.1' });
        // Each server changes at most once, so one-at-a-time and the batch's net change are the same changes.
        const touched = new Set<number>();
        const apply = (pool: Pool, c: Change): void => {
          const name = `s${(c.i % weights.length) + 1}`;
          if (c.kind === 'add') {
            pool.add({ name: `n${c.i}`, host: '127.0.0.2', port: 100 + c.i, weight: c.w });
            return;
          }
          if (pool.find(name) === undefined) return;
          if (c.kind === 'weight') pool.setWeight(name, c.w);
          else if (c.kind === 'remove') pool.remove(name);
          else pool.setAdminState(name, c.kind);
        };
        const once = changes.filter((c) => {
          const key = c.kind === 'add' ? 100 + c.i : c.i % weights.length;
          if (touched.has(key)) return false;
          touched.add(key);
          return true;
        });
        for (const c of once) apply(one.pool, c);
        batched.pool.batch(() => {
          for (const c of once) apply(batched.pool, c);
        });
        if (!one.pool.available) return;
        const clients = Array.from({ length: 60 }, (_, k) => `10.0.${k % 7}.${k}`);
        const picks = (b: Balancer): string[] => clients.map((clientAddress) => closeMode(b, 1, { clientAddress })[0]!);
        assert.deepEqual(picks(batched.balancer), picks(one.balancer));
      }),
      { numRuns: 400 },
    );
  });

  it('leaves the priority tiers as the same changes made one at a time would (lists rebuilt once at the end)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(11), fc.nat(4), fc.nat(3), fc.nat(2)), { minLength: 1, maxLength: 40 }),
        (steps) => {
          const make = (): Pool => new Pool('t', {
            panicThresholdPercent: 50,
            localityWeights: { a: 2, b: 1 },
            servers: Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, host: '127.0.0.1', port: 1000 + i, priority: i % 3, tags: { locality: i % 2 ? 'a' : 'b' } })),
          });
          const apply = (pool: Pool, [n, op, p, l]: [number, number, number, number]): void => {
            const name = `s${n}`;
            const s = pool.find(name);
            if (s === undefined) pool.add({ name, host: '127.0.0.1', port: 1000 + n, priority: p, tags: { locality: l ? 'a' : 'b' } });
            else if (op === 0) pool.remove(name);
            else if (op === 1) pool.setHold(name, 'x', s.holds.has('x') ? undefined : 'out');
            else if (op === 2) pool.update(name, { tags: { locality: l ? 'a' : 'b' } });
            else if (op === 3) pool.setWeight(name, p);
            else pool.setAdminState(name, s.adminState === 'drain' ? 'ready' : 'drain');
          };
          const view = (pool: Pool) => pool.tiers.map((t) => ({
            p: t.priority, usable: t.usable.map((s) => s.name), eligible: t.eligible.map((s) => s.name), load: t.loadPercent, panic: t.panic,
            // Localities are listed in the order they first appeared, which may differ; compared by name.
            localities: t.localities.map((l) => [l.name, l.usable.map((s) => s.name), l.eligible.map((s) => s.name)]).sort(),
          }));
          const one = make();
          for (const step of steps) apply(one, step);
          const batched = make();
          batched.batch(() => {
            for (const step of steps) apply(batched, step);
          });
          assert.deepEqual(view(batched).map((t) => ({ ...t, localities: t.localities.filter((l) => l[2]!.length > 0) })),
            view(one).map((t) => ({ ...t, localities: t.localities.filter((l) => l[2]!.length > 0) })));
        },
      ),
      { numRuns: 300 },
    );
  });
});
