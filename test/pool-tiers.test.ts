import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer, type BalancerOptions } from '../src/balancer.js';
import { LbError } from '../src/errors.js';
import { parseHaproxyConfig } from '../src/haproxy/config/parser.js';
import { buildFromHaproxyConfig } from '../src/haproxy/from-config.js';
import { Pool, type PoolOptions } from '../src/pool.js';
import type { Server, ServerOptions } from '../src/server.js';
import type { PickContext, Strategy } from '../src/strategies/strategy.js';

/** `n` servers named `<prefix>1..n` with `extra` options. */
function group(prefix: string, n: number, extra: Partial<ServerOptions> = {}): ServerOptions[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i + 1}`, host: '127.0.0.1', port: 21000 + prefix.charCodeAt(0) * 100 + i, ...extra }));
}

function setup(servers: ServerOptions[], pool: Omit<PoolOptions, 'servers'> = {}, balancer: BalancerOptions = {}) {
  const p = new Pool('tiers', { ...pool, servers });
  return { pool: p, balancer: new Balancer(p, balancer) };
}

/** `n` sequential connections (acquire, release); counts by the first letter of the server name, or by name. */
function spread(balancer: Balancer, n: number, by: (s: Server) => string = (s) => s.name[0]!, options: { key?: string } = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const lease = balancer.tryAcquire(options);
    if (!lease) throw new Error(`connection ${i + 1} would have to queue`);
    const k = by(lease.server);
    out[k] = (out[k] ?? 0) + 1;
    lease.release();
  }
  return out;
}

function down(pool: Pool, prefix: string, from: number, to: number): void {
  for (let i = from; i <= to; i++) pool.setHealth(`${prefix}${i}`, 'down');
}

describe('priority tiers (Envoy priority levels, overprovisioning factor 1.4)', () => {
  it('sends everything to priority 0 while it is at least 71.4 % usable, then spills the rest to priority 1', () => {
    const { pool, balancer } = setup([...group('a', 10), ...group('b', 10, { priority: 1 })]);
    assert.equal(pool.tiered, true);
    assert.deepEqual(spread(balancer, 100), { a: 100 });
    down(pool, 'a', 1, 2);
    assert.deepEqual(spread(balancer, 100), { a: 100 }, '80 % × 1.4 > 100');
    down(pool, 'a', 3, 3);
    assert.deepEqual(spread(balancer, 100), { a: 98, b: 2 }, '70 % × 1.4 = 98');
    down(pool, 'a', 4, 5);
    assert.deepEqual(spread(balancer, 100), { a: 70, b: 30 });
    down(pool, 'a', 6, 10);
    assert.deepEqual(spread(balancer, 100), { b: 100 });
    pool.setHealth('a1', 'up');
    assert.deepEqual(spread(balancer, 100), { a: 14, b: 86 });
  });

  it('normalises the loads when the tiers together are short (25 % and 25 %: 50/50)', () => {
    const { pool, balancer } = setup([...group('a', 4), ...group('b', 4, { priority: 1 })]);
    down(pool, 'a', 1, 3);
    down(pool, 'b', 1, 3);
    assert.deepEqual(pool.tiers.map((t) => [t.priority, t.healthPercent, t.loadPercent]), [[0, 35, 50], [1, 35, 50]]);
    assert.deepEqual(spread(balancer, 10), { a: 5, b: 5 });
  });

  it('spreads a tier\'s share evenly over a window (smooth, not in bursts)', () => {
    const { pool, balancer } = setup([...group('a', 10), ...group('b', 10, { priority: 1 })]);
    down(pool, 'a', 1, 5);
    const seq: string[] = [];
    for (let i = 0; i < 10; i++) {
      const lease = balancer.tryAcquire()!;
      seq.push(lease.server.name[0]!);
      lease.release();
    }
    assert.equal(seq.filter((c) => c === 'b').length, 3, 'seven a and three b in every window of ten');
    assert.equal(seq.join('').includes('bb'), false, `never two b in a row: ${seq.join('')}`);
  });

  it('emits tier:load with the new and previous shares', () => {
    const { pool } = setup([...group('a', 10), ...group('b', 10, { priority: 1 })]);
    const loads: string[] = [];
    pool.on('tier:load', (p, load, previous) => loads.push(`${p}:${previous}→${load}`));
    down(pool, 'a', 1, 5);
    assert.deepEqual(loads.slice(-2), ['0:84→70', '1:16→30']);
  });

  it('keeps each tier\'s strategy state apart: priority 1 runs HAProxy\'s roundrobin sequence of its own', () => {
    const { pool, balancer } = setup([
      ...group('a', 2),
      { name: 'b1', host: '127.0.0.1', port: 22001, priority: 1, weight: 1 },
      { name: 'b2', host: '127.0.0.1', port: 22002, priority: 1, weight: 2 },
      { name: 'b3', host: '127.0.0.1', port: 22003, priority: 1, weight: 3 },
    ]);
    down(pool, 'a', 1, 2);
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) {
      const lease = balancer.tryAcquire()!;
      seq.push(lease.server.name);
      lease.release();
    }
    assert.deepEqual(seq, ['b3', 'b2', 'b3', 'b1', 'b3', 'b2']);
  });

  it('keeps HAProxy\'s backups as the last tier: used only when no tier has a usable server', () => {
    const { pool, balancer } = setup([...group('a', 2), ...group('b', 2, { priority: 1 }), ...group('z', 2, { backup: true })]);
    down(pool, 'a', 1, 2);
    assert.deepEqual(spread(balancer, 4), { b: 4 });
    down(pool, 'b', 1, 2);
    assert.deepEqual(spread(balancer, 4, (s) => s.name), { z1: 4 }, 'first backup only, as HAProxy without allbackups');
  });

  it('keeps a hash key in its tier (Envoy picks the priority by the request hash)', () => {
    const { pool, balancer } = setup([...group('a', 10), ...group('b', 10, { priority: 1 })], {}, { strategy: 'source' });
    down(pool, 'a', 1, 5);
    const keys = Array.from({ length: 200 }, (_, i) => `tenant-${i}`);
    const first = keys.map((key) => spread(balancer, 1, (s) => s.name, { key }));
    const again = keys.map((key) => spread(balancer, 1, (s) => s.name, { key }));
    assert.deepEqual(again, first);
    const toB = first.filter((r) => Object.keys(r)[0]!.startsWith('b')).length;
    assert.ok(toB > 40 && toB < 80, `about 30 % of the keys spill to priority 1, got ${toB} of 200`);
  });

  it('validates priority: an integer 0–1000, 0 for a backup', () => {
    const bad = (s: Partial<ServerOptions>, pattern: RegExp): void =>
      assert.throws(() => new Pool('p', { servers: [{ name: 'x', host: 'h', port: 1, ...s }] }), (e: unknown) => LbError.is(e) && pattern.test(e.message));
    bad({ priority: -1 }, /priority.*-1/);
    bad({ priority: 1.5 }, /priority.*1\.5/);
    bad({ priority: 1, backup: true }, /priority.*backup/);
  });

  it('leaves a pool without priorities, locality weights or panic on HAProxy\'s rule alone', () => {
    const { pool } = setup(group('a', 3));
    assert.equal(pool.tiered, false);
    assert.deepEqual(pool.tiers, []);
    assert.equal('tiers' in pool.snapshot(), false);
  });
});

describe('panic threshold (Envoy healthy_panic_threshold)', () => {
  it('is off by default: a tier at 40 % keeps to its usable servers', () => {
    const { pool, balancer } = setup(group('a', 10));
    down(pool, 'a', 1, 6);
    assert.deepEqual(Object.keys(spread(balancer, 20, (s) => s.name)).sort(), ['a10', 'a7', 'a8', 'a9']);
  });

  it('at 40 % usable with threshold 50, sends traffic to every server of the tier, with an event and a stat', () => {
    const { pool, balancer } = setup(group('a', 10), { panicThresholdPercent: 50 });
    const events: string[] = [];
    pool.on('tier:panic', (p, panic, pct) => events.push(`${p} ${panic} ${pct}`));
    down(pool, 'a', 1, 5);
    assert.equal(pool.tiers[0]!.panic, false, '50 % is not below 50 %');
    down(pool, 'a', 6, 6);
    assert.deepEqual(events, ['0 true 40']);
    const seen = spread(balancer, 100, (s) => s.name);
    assert.equal(Object.keys(seen).length, 10, 'down servers too');
    assert.equal(balancer.stats().panicPicks, 100);
    assert.equal(pool.snapshot().tiers?.[0]?.panic, true);
    pool.setHealth('a1', 'up');
    assert.deepEqual(events.at(-1), '0 false 50');
    assert.equal(Object.keys(spread(balancer, 20, (s) => s.name)).length, 5);
  });

  it('never uses a server in maintenance, drain, NOLB or held drain, and excludes them from the tier\'s share', () => {
    const { pool, balancer } = setup(group('a', 10), { panicThresholdPercent: 50 });
    pool.setAdminState('a1', 'maint');
    pool.setAdminState('a2', 'drain');
    pool.setHealth('a3', 'stopping');
    pool.setHold('a4', 'xds', 'drain');
    assert.equal(pool.tiers[0]!.eligible.length, 6);
    assert.equal(pool.tiers[0]!.panic, false, '6 of 6 eligible are usable');
    down(pool, 'a', 5, 8);
    assert.equal(pool.tiers[0]!.panic, true, '2 of 6');
    assert.deepEqual(Object.keys(spread(balancer, 60, (s) => s.name)).sort(), ['a10', 'a5', 'a6', 'a7', 'a8', 'a9']);
  });

  it('uses servers held out (an outlier ejection) in panic', () => {
    const { pool, balancer } = setup(group('a', 4), { panicThresholdPercent: 50 });
    pool.setHold('a1', 'outlier', 'out');
    pool.setHold('a2', 'outlier', 'out');
    pool.setHold('a3', 'outlier', 'out');
    assert.equal(Object.keys(spread(balancer, 8, (s) => s.name)).length, 4);
  });

  it('does not panic while the tiers together have the capacity (normalized total health 100)', () => {
    const { pool, balancer } = setup([...group('a', 10), ...group('b', 10, { priority: 1 })], { panicThresholdPercent: 50 });
    down(pool, 'a', 1, 8);
    assert.deepEqual(pool.tiers.map((t) => t.panic), [false, false]);
    assert.deepEqual(spread(balancer, 100), { a: 28, b: 72 });
    down(pool, 'b', 1, 6);
    assert.deepEqual(pool.tiers.map((t) => t.panic), [true, true], 'health 28 + 56 < 100: both under 50 %');
  });

  it('in total panic (nothing usable) balances over every eligible server; with panic off, no server', () => {
    const on = setup([...group('a', 3), ...group('b', 1, { priority: 1 })], { panicThresholdPercent: 50 });
    down(on.pool, 'a', 1, 3);
    down(on.pool, 'b', 1, 1);
    assert.equal(on.pool.available, false);
    assert.deepEqual(on.pool.tiers.map((t) => t.loadPercent), [75, 25], 'by number of servers');
    assert.deepEqual(spread(on.balancer, 4), { a: 3, b: 1 });
    const off = setup([...group('a', 3), ...group('b', 1, { priority: 1 })]);
    down(off.pool, 'a', 1, 3);
    down(off.pool, 'b', 1, 1);
    assert.throws(() => off.balancer.tryAcquire(), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_NO_SERVER');
  });

  it('prefers usable backups to a total panic', () => {
    const { pool, balancer } = setup([...group('a', 2), ...group('z', 1, { backup: true })], { panicThresholdPercent: 50 });
    down(pool, 'a', 1, 2);
    assert.deepEqual(spread(balancer, 3), { z: 3 });
  });

  it('is off for a pool built from an HAProxy configuration (HAProxy has no panic mode)', async () => {
    const haproxy = buildFromHaproxyConfig(
      parseHaproxyConfig('defaults\n  mode tcp\nbackend be\n  server s1 127.0.0.1:1\n  server s2 127.0.0.1:2\n  server s3 127.0.0.1:3 backup\n'),
      { warnings: false },
    );
    const { pool, balancer } = haproxy.backends.get('be')!;
    pool.setHealth('s1', 'down');
    assert.equal(pool.tiered, false);
    assert.deepEqual(spread(balancer, 4, (s) => s.name), { s2: 4 });
    await haproxy.close();
  });

  it('can be turned on and off at runtime (updateTiers)', () => {
    const { pool, balancer } = setup(group('a', 10));
    down(pool, 'a', 1, 7);
    pool.updateTiers({ panicThresholdPercent: 50 });
    assert.equal(pool.tiers[0]!.panic, true);
    assert.equal(Object.keys(spread(balancer, 10, (s) => s.name)).length, 10);
    pool.updateTiers({ panicThresholdPercent: 0 });
    assert.equal(Object.keys(spread(balancer, 10, (s) => s.name)).length, 3);
    assert.throws(() => pool.updateTiers({ panicThresholdPercent: 150 }), /panicThresholdPercent.*150/);
    assert.throws(() => pool.updateTiers({ overprovisioningFactor: 0 }), /overprovisioningFactor/);
  });
});

describe('locality weights (Envoy locality-weighted load balancing)', () => {
  const zones = (): ServerOptions[] => [
    ...group('x', 4, { tags: { locality: 'X' } }),
    ...group('y', 4, { tags: { locality: 'Y' } }),
  ];

  it('picks a locality by weight × min(1, 1.4 × usable share): X 1, Y 2 → 1/3, 2/3; X at 50 % → 26 %', () => {
    const { pool, balancer } = setup(zones(), { localityWeights: { X: 1, Y: 2 } });
    assert.deepEqual(spread(balancer, 300), { x: 100, y: 200 });
    down(pool, 'x', 1, 2);
    assert.deepEqual(spread(balancer, 270), { x: 70, y: 200 });
    down(pool, 'x', 3, 4);
    assert.deepEqual(spread(balancer, 30), { y: 30 });
  });

  it('gives no traffic to a locality without a weight, and falls back to the whole tier when none has one', () => {
    const { pool, balancer } = setup(zones(), { localityWeights: { Y: 1 } });
    assert.deepEqual(spread(balancer, 8), { y: 8 });
    down(pool, 'y', 1, 4);
    assert.deepEqual(spread(balancer, 8), { x: 8 });
  });

  it('balances within a locality with its own strategy state', () => {
    const { balancer } = setup(zones(), { localityWeights: { X: 1, Y: 1 } });
    assert.deepEqual(spread(balancer, 8, (s) => s.name), { x1: 1, x2: 1, x3: 1, x4: 1, y1: 1, y2: 1, y3: 1, y4: 1 });
  });

  it('follows new weights at runtime; localityWeights undefined turns the weighting off', () => {
    const { pool, balancer } = setup(zones(), { localityWeights: { X: 1, Y: 0 } });
    assert.deepEqual(spread(balancer, 4), { x: 4 });
    pool.updateTiers({ localityWeights: { X: 1, Y: 3 } });
    assert.deepEqual(spread(balancer, 8), { x: 2, y: 6 });
    pool.updateTiers({ localityWeights: undefined });
    assert.equal(pool.tiered, false);
    assert.deepEqual(spread(balancer, 8), { x: 4, y: 4 });
    assert.throws(() => pool.updateTiers({ localityWeights: { X: -1 } }), /localityWeights\.X.*-1/);
  });
});

describe('strategies over tiers', () => {
  class Recorder implements Strategy {
    readonly name = 'recorder';
    readonly contexts: string[] = [];
    readonly usable = new Set<string>();
    pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
      this.contexts.push(`${ctx.group}/${ctx.tier}/${ctx.locality ?? '-'}/${ctx.panic ? 'panic' : 'ok'}:${candidates.map((s) => s.name).join(',')}`);
      return candidates[0];
    }
    serverUsable(s: Server): void {
      this.usable.add(s.name);
    }
    serverUnusable(s: Server): void {
      this.usable.delete(s.name);
    }
  }

  it('shares a strategy object across tiers and tells it the tier', () => {
    const r = new Recorder();
    const { pool, balancer } = setup([...group('a', 2), ...group('b', 2, { priority: 1 })], {}, { strategy: r });
    down(pool, 'a', 1, 2);
    pool.setHealth('a1', 'up');
    spread(balancer, 10);
    assert.deepEqual([...new Set(r.contexts)].sort(), ['active/0/-/ok:a1', 'active/1/-/ok:b1,b2']);
    assert.equal(r.contexts.filter((c) => c.startsWith('active/1')).length, 3, '70 % to priority 0 (1 of 2 usable), 30 % to 1');
    assert.deepEqual([...r.usable].sort(), ['a1'], 'it gets the hooks of every server');
  });

  it('gives each group its own instance from a factory', () => {
    const made: Recorder[] = [];
    const { pool, balancer } = setup([...group('a', 2), ...group('b', 2, { priority: 1 })], {}, { strategy: () => made[made.push(new Recorder()) - 1]! });
    down(pool, 'a', 1, 2);
    spread(balancer, 1);
    assert.equal(made.length, 2, 'the primary, then priority 1 at its first pick');
    assert.deepEqual(made[1]!.contexts, ['active/1/-/ok:b1,b2']);
    pool.setHealth('b2', 'down');
    assert.equal(made[0]!.usable.has('b2'), false);
    assert.throws(() => new Balancer(pool, { strategy: () => 42 as never }), /factory must return a Strategy/);
  });

  it('holds a strategy to the candidates of the group: its tier, its locality, or in panic the tier\'s eligible servers', () => {
    let answer = 'b1';
    const sly: Strategy = { name: 'sly', pick: (candidates) => candidates[0]!.name === answer ? candidates[0] : pool.get(answer) };
    const pool = new Pool('p', { panicThresholdPercent: 50, servers: [...group('a', 4), ...group('b', 2, { priority: 1 })] });
    const balancer = new Balancer(pool, { strategy: sly });
    const refused = (pattern: RegExp): void =>
      assert.throws(() => balancer.tryAcquire(), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_STRATEGY' && pattern.test(e.message));
    refused(/"b1" has priority 1, not 0/);
    down(pool, 'a', 1, 3);
    pool.setAdminState('b2', 'maint');
    pool.setHealth('b1', 'down');
    assert.equal(pool.tiers[0]!.panic, true);
    answer = 'a2';
    balancer.tryAcquire()!.release();
    assert.equal(pool.get('a2').usable, false, 'a down server of the tier in panic is a candidate');
    pool.setAdminState('a2', 'maint');
    refused(/"a2" is not an eligible server of priority 0/);
  });
});
