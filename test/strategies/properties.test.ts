import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import type { Lease } from '../../src/lease.js';
import { Pool } from '../../src/pool.js';
import type { AdminState, Server } from '../../src/server.js';
import { STRATEGY_NAMES, type StrategySpec } from '../../src/strategies/index.js';
import { mulberry32 as seeded } from '../helpers/prng.js';
import { candidatesOf } from '../helpers/strategy-inputs.js';

/**
 * Properties every built-in strategy must keep, checked through Pool + Balancer over random weights and
 * random sequences of pool events. Each property names the strategies it applies to and why.
 */

interface Case {
  readonly label: string;
  readonly spec: StrategySpec;
}

const CASES: readonly Case[] = [
  ...STRATEGY_NAMES.map((name) => ({ label: name, spec: name })),
  { label: 'source (consistent)', spec: { name: 'source', hashType: 'consistent' } },
  { label: 'random(2)', spec: { name: 'random', draws: 2 } },
];

/** Deterministic rotations: exact shares over a full cycle (FWRR: to one pick per window). */
const EXACT_CYCLE = new Set(['roundrobin', 'static-rr', 'swrr']);
/** Strategies that serve every candidate in turn when connections are short: no starvation. */
const ROTATING = new Set(['roundrobin', 'static-rr', 'swrr', 'leastconn']);
/**
 * Strategies that place a connection whenever some candidate has room. Not the hashes (`source` keeps its
 * affinity and queues on the full server) nor `random` (HAProxy queues when the drawn winner is full).
 */
const PLACES_WHEN_ROOM = new Set(['roundrobin', 'static-rr', 'leastconn', 'first', 'swrr', 'p2c']);
/** The map-based `source` hash cannot avoid a server (HAProxy's behaviour); every other strategy can. */
const CANNOT_AVOID = new Set(['source']);


function ipv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** HAProxy's leastconn key (`src/lb_fwlc.c`): 0 when idle, else ⌊(inflight + 1) × 4096 / eweight⌋. */
function leastconnKey(s: Server): number {
  const inflight = s.currentConnections + s.queued;
  return inflight === 0 ? 0 : Math.floor(((inflight + 1) * 4096) / s.effectiveWeight);
}

type Op =
  | { readonly kind: 'acquire'; readonly exclude: readonly number[]; readonly client: number }
  | { readonly kind: 'release'; readonly i: number }
  | { readonly kind: 'health'; readonly i: number; readonly up: boolean }
  | { readonly kind: 'admin'; readonly i: number; readonly state: AdminState }
  | { readonly kind: 'weight'; readonly i: number; readonly w: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('acquire' as const), exclude: fc.array(fc.nat(7), { maxLength: 2 }), client: fc.nat() }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('release' as const), i: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('health' as const), i: fc.nat(7), up: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('admin' as const), i: fc.nat(7), state: fc.constantFrom<AdminState>('ready', 'drain', 'maint') }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('weight' as const), i: fc.nat(7), w: fc.integer({ min: 0, max: 8 }) }), weight: 1 },
);

interface Scenario {
  readonly servers: readonly { readonly w: number; readonly backup: boolean; readonly maxconn: number }[];
  readonly allBackups: boolean;
  readonly ops: readonly Op[];
  readonly seed: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  servers: fc.array(
    fc.record({ w: fc.integer({ min: 0, max: 8 }), backup: fc.constantFrom(false, false, false, true), maxconn: fc.constantFrom(0, 0, 1, 2, 3) }),
    { minLength: 1, maxLength: 6 },
  ),
  allBackups: fc.boolean(),
  ops: fc.array(opArb, { minLength: 20, maxLength: 80 }),
  seed: fc.integer(),
});

function build(c: Case, s: Scenario): { pool: Pool; balancer: Balancer } {
  const pool = new Pool('fe', {
    clock: new ManualClock(),
    allBackups: s.allBackups,
    servers: s.servers.map((x, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port: 19001 + i, weight: x.w, backup: x.backup, maxconn: x.maxconn, check: true })),
  });
  return { pool, balancer: new Balancer(pool, { strategy: c.spec, random: seeded(s.seed) }) };
}

/** Applies one non-acquire event. */
function applyEvent(pool: Pool, op: Exclude<Op, { kind: 'acquire' | 'release' }>): void {
  const s = pool.servers[op.i % pool.size]!;
  if (op.kind === 'health') pool.setHealth(s.name, op.up ? 'up' : 'down');
  else if (op.kind === 'admin') pool.setAdminState(s.name, op.state);
  else pool.setWeight(s.name, op.w);
}

/** tryAcquire, mapping "nothing usable" to undefined after checking the pool agrees. */
function tryAcquire(balancer: Balancer, options: { exclude?: ReadonlySet<Server>; clientAddress?: string } = {}): Lease | undefined {
  try {
    return balancer.tryAcquire(options);
  } catch (err) {
    assert.ok(LbError.is(err) && err.code === 'ERR_LB_NO_SERVER', String(err));
    assert.equal(balancer.pool.available, false, 'ERR_LB_NO_SERVER while a server is usable');
    return undefined;
  }
}

/** (e) Every server's count equals the leases held on it, and the balancer counts them all. */
function assertCounters(pool: Pool, balancer: Balancer, held: readonly Lease[]): void {
  for (const s of pool.servers) {
    assert.equal(s.currentConnections, held.filter((l) => l.server === s).length, `${s.name}.currentConnections`);
  }
  assert.equal(balancer.activeLeases, held.length, 'balancer.activeLeases');
}

/** (d) The first release returns true and counts once; a second returns false and changes nothing. */
function releaseTwice(pool: Pool, balancer: Balancer, lease: Lease): void {
  const before = lease.server.currentConnections;
  const leases = balancer.activeLeases;
  assert.equal(lease.release(), true);
  assert.equal(lease.server.currentConnections, before - 1);
  assert.equal(balancer.activeLeases, leases - 1);
  const snapshot = JSON.stringify(pool.snapshot());
  assert.equal(lease.release(), false);
  assert.equal(lease.released, true);
  assert.equal(JSON.stringify(pool.snapshot()), snapshot, 'a second release changed the pool');
  assert.equal(balancer.activeLeases, leases - 1, 'a second release changed activeLeases');
}

/** `n` short connections (acquire, release); returns the picks per server name. */
function closeCounts(balancer: Balancer, n: number, random?: () => number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const lease = balancer.tryAcquire(random ? { clientAddress: ipv4(Math.floor(random() * 2 ** 32)) } : {});
    assert.ok(lease, `connection ${i + 1} found no server`);
    counts.set(lease.server.name, (counts.get(lease.server.name) ?? 0) + 1);
    lease.release();
  }
  return counts;
}

function runScenario(c: Case, s: Scenario): void {
  const { pool, balancer } = build(c, s);
  const held: Lease[] = [];
  for (const op of s.ops) {
    if (op.kind === 'acquire') {
      const candidates = [...candidatesOf(pool)];
      const exclude = new Set(op.exclude.map((i) => pool.servers[i % pool.size]!));
      const full = new Set(candidates.filter((x) => x.full));
      const keys = new Map(candidates.map((x) => [x, leastconnKey(x)]));
      const open = candidates.filter((x) => !full.has(x) && !exclude.has(x));
      const lease = tryAcquire(balancer, { exclude, clientAddress: ipv4(op.client) });
      if (lease === undefined) {
        if (PLACES_WHEN_ROOM.has(c.label)) {
          assert.equal(full.size, candidates.length, `${c.label} placed nothing although ${candidates.filter((x) => !full.has(x)).map((x) => x.name)} had room`);
        }
        continue;
      }
      held.push(lease);
      const got = lease.server;
      // (c) Only a usable server of the candidate group: never drained, in maintenance, down or at weight 0.
      assert.ok(candidates.includes(got), `${c.label} picked ${got.name}, not a candidate (${got.status}, weight ${got.weight})`);
      assert.ok(got.usable && got.effectiveWeight > 0);
      assert.ok(!full.has(got), `${c.label} placed a connection on the full ${got.name}`);
      if (exclude.has(got) && !CANNOT_AVOID.has(c.label)) {
        assert.equal(open.length, 0, `${c.label} picked the excluded ${got.name} although ${open.map((x) => x.name)} could serve`);
      }
      if (c.label === 'leastconn' && !exclude.has(got)) {
        const least = Math.min(...open.map((x) => keys.get(x)!));
        assert.equal(keys.get(got), least, `leastconn picked ${got.name} with key ${keys.get(got)}, the least is ${least}`);
      }
      if (c.label === 'first' && !exclude.has(got)) {
        const lowest = Math.min(...open.map((x) => x.id));
        assert.equal(got.id, lowest, `first picked id ${got.id}, the lowest id with room is ${lowest}`);
      }
    } else if (op.kind === 'release') {
      if (held.length > 0) releaseTwice(pool, balancer, held.splice(op.i % held.length, 1)[0]!);
    } else {
      applyEvent(pool, op);
    }
    assertCounters(pool, balancer, held);
  }
  // (e) Everything released: every counter is back to zero.
  while (held.length > 0) releaseTwice(pool, balancer, held.pop()!);
  for (const x of pool.servers) assert.equal(x.currentConnections, 0, `${x.name}.currentConnections`);
  assert.equal(balancer.activeLeases, 0);
  assert.equal(balancer.stats().activeLeases, 0);
}

describe('properties of every built-in strategy', () => {
  for (const c of CASES) {
    it(`${c.label}: picks only usable candidates, honours maxconn and exclusion, releases once, counts back to zero`, () => {
      fc.assert(
        fc.property(scenarioArb, (s) => runScenario(c, s)),
        { numRuns: 200, seed: 1701 },
      );
    });
  }

  for (const c of CASES.filter((x) => EXACT_CYCLE.has(x.label))) {
    // HAProxy's FWRR is exact only to one pick per server per window: when a server is taken from the
    // `init` tree at a window swap its position remainder is dropped (`fwrr_get_srv_init()` sets
    // npos = rweight = 0), e.g. weights 2,7,7 give 31/113/112 of 256 picks instead of 32/112/112.
    const drift = c.label === 'roundrobin' ? 1 : 0;
    const name = drift === 0 ? 'exactly' : 'to within one pick per window';
    it(`${c.label}: serves each server its weight's share ${name} over full cycles, and within one cycle after any events`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }), fc.array(opArb, { minLength: 10, maxLength: 60 }), (weights, ops) => {
          const s: Scenario = { servers: weights.map((w) => ({ w, backup: false, maxconn: 0 })), allBackups: false, ops, seed: 1 };
          const total = weights.reduce((a, b) => a + b, 0);
          // A fresh rotation: windows of 16 × Σ weight picks (one FWRR window in 1/16 units, a multiple of
          // the static-rr table and of the swrr period) hold each server 16 × weight times.
          const fresh = closeCounts(build(c, s).balancer, 2 * 16 * total);
          weights.forEach((w, i) => {
            const got = fresh.get(`s${i + 1}`) ?? 0;
            assert.ok(Math.abs(got - 2 * 16 * w) <= 2 * drift, `fresh s${i + 1}: ${got} picks in 2 windows, expected ${2 * 16 * w} ± ${2 * drift}`);
          });
          // After random events, everything restored: off by at most one cycle (Σ weight picks) over 4 windows.
          const { pool, balancer } = build(c, s);
          const held: Lease[] = [];
          for (const op of ops) {
            if (op.kind === 'acquire') {
              const lease = tryAcquire(balancer);
              if (lease) held.push(lease);
            } else if (op.kind === 'release') {
              if (held.length > 0) held.splice(op.i % held.length, 1)[0]!.release();
            } else {
              applyEvent(pool, op);
            }
          }
          for (const l of held) l.release();
          pool.servers.forEach((x, i) => {
            pool.setAdminState(x.name, 'ready');
            pool.setHealth(x.name, 'up');
            pool.setWeight(x.name, weights[i]!);
          });
          const later = closeCounts(balancer, 4 * 16 * total);
          const tolerance = total + 4 * drift;
          weights.forEach((w, i) => {
            const got = later.get(`s${i + 1}`) ?? 0;
            assert.ok(Math.abs(got - 4 * 16 * w) <= tolerance, `s${i + 1}: ${got} picks, expected ${4 * 16 * w} ± ${tolerance}`);
          });
        }),
        { numRuns: 60, seed: 99 },
      );
    });
  }

  for (const c of CASES.filter((x) => ROTATING.has(x.label))) {
    it(`${c.label}: starves no usable server: each is picked within 2 × the largest total weight short connections`, () => {
      fc.assert(
        fc.property(scenarioArb, (s) => {
          const { pool, balancer } = build(c, { ...s, servers: s.servers.map((x) => ({ ...x, maxconn: 0 })) });
          const held: Lease[] = [];
          for (const op of s.ops) {
            if (op.kind === 'acquire') {
              const lease = tryAcquire(balancer);
              if (lease) held.push(lease);
            } else if (op.kind === 'release') {
              if (held.length > 0) held.splice(op.i % held.length, 1)[0]!.release();
            } else {
              applyEvent(pool, op);
            }
          }
          for (const l of held) l.release();
          if (!pool.available) return;
          const candidates = candidatesOf(pool);
          // Twice the largest total weight the pool can have had (8 per server), not only the candidates':
          // an FWRR window opened before servers left still counts their weight, and a returning server
          // waits up to (current + next window) / its weight.
          const bound = 2 * 8 * pool.size;
          const seen = closeCounts(balancer, bound);
          for (const x of candidates) assert.ok(seen.has(x.name), `${x.name} (weight ${x.weight}) not picked in ${bound} connections`);
        }),
        { numRuns: 100, seed: 2024 },
      );
    });
  }

  // Statistical shares, seeded. N short connections from random IPv4 clients.
  const N = 4000;
  const sigma = (p: number): number => Math.sqrt((p * (1 - p)) / N);
  const statistical: { label: string; rule: string; tolerance: (w: number, p: number) => number; share: (w: number, total: number, n: number) => number }[] = [
    // The map gives server i exactly w_i of Σ w slots; uniform keys hit it with probability w_i / Σ w. 5σ of sampling.
    { label: 'source', rule: 'weight share ± 5σ', share: (w, t) => w / t, tolerance: (_w, p) => 5 * sigma(p) },
    // Ring shares are lumpy (16 points per weight unit: the arc share of w·16 points has a relative spread
    // of about 1/(4√w)), so allow 4 of those spreads plus 5σ of sampling.
    { label: 'source (consistent)', rule: 'weight share ± p/√w ± 5σ', share: (w, t) => w / t, tolerance: (w, p) => p / Math.sqrt(w) + 5 * sigma(p) },
    { label: 'random', rule: 'weight share ± p/√w ± 5σ', share: (w, t) => w / t, tolerance: (w, p) => p / Math.sqrt(w) + 5 * sigma(p) },
    { label: 'random(2)', rule: 'weight share ± p/√w ± 5σ', share: (w, t) => w / t, tolerance: (w, p) => p / Math.sqrt(w) + 5 * sigma(p) },
    // Idle servers tie whatever their weight and the first draw wins: short connections spread uniformly.
    { label: 'p2c', rule: '1/n ± 5σ (weights act on load, not rate)', share: (_w, _t, n) => 1 / n, tolerance: (_w, p) => 5 * sigma(p) },
  ];
  for (const st of statistical) {
    const c = CASES.find((x) => x.label === st.label)!;
    it(`${st.label}: long-run shares of short connections match ${st.rule}`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 6 }), fc.integer(), (weights, seed) => {
          const s: Scenario = { servers: weights.map((w) => ({ w, backup: false, maxconn: 0 })), allBackups: false, ops: [], seed };
          const total = weights.reduce((a, b) => a + b, 0);
          const counts = closeCounts(build(c, s).balancer, N, seeded(seed ^ 0x5eed));
          weights.forEach((w, i) => {
            const p = st.share(w, total, weights.length);
            const got = (counts.get(`s${i + 1}`) ?? 0) / N;
            assert.ok(got > 0, `s${i + 1} (weight ${w}) never picked`);
            assert.ok(Math.abs(got - p) <= st.tolerance(w, p), `s${i + 1} (weight ${w}): share ${got.toFixed(3)}, expected ${p.toFixed(3)} ± ${st.tolerance(w, p).toFixed(3)}`);
          });
        }),
        { numRuns: 25, seed: 31337 },
      );
    });
  }

  it('p2c: held connections stay balanced: equal weights within 3, and no server more than one connection ahead per weight', () => {
    const c = CASES.find((x) => x.label === 'p2c')!;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 6 }), fc.boolean(), fc.integer(), (weights, equal, seed) => {
        const ws = equal ? weights.map(() => weights[0]!) : weights;
        const { pool, balancer } = build(c, { servers: ws.map((w) => ({ w, backup: false, maxconn: 0 })), allBackups: false, ops: [], seed });
        for (let i = 0; i < 300; i++) assert.ok(balancer.tryAcquire());
        const conns = pool.servers.map((x) => x.currentConnections);
        if (equal) assert.ok(Math.max(...conns) - Math.min(...conns) <= 3, `equal weights, held ${conns}`);
        // A server got its last connection when it was no more loaded per weight than the other draw,
        // whose load only grew since: (c_i − 1) / w_i ≤ max over j ≠ i of c_j / w_j.
        pool.servers.forEach((x, i) => {
          if (conns[i] === 0) return;
          const others = Math.max(...pool.servers.filter((_, j) => j !== i).map((y) => y.currentConnections / y.weight));
          assert.ok((conns[i]! - 1) / x.weight <= others + 1e-9, `${x.name}: ${conns[i]} conns at weight ${x.weight}, others at most ${others} per weight`);
        });
      }),
      { numRuns: 60, seed: 8 },
    );
  });

  it('leastconn: held connections keep (connections + 1) / weight balanced', () => {
    const c = CASES.find((x) => x.label === 'leastconn')!;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 200 }), (weights, n) => {
        const { pool, balancer } = build(c, { servers: weights.map((w) => ({ w, backup: false, maxconn: 0 })), allBackups: false, ops: [], seed: 1 });
        for (let i = 0; i < n; i++) assert.ok(balancer.tryAcquire());
        // Each pick took the least key, so no server's key before its last connection exceeds any final key.
        const finals = pool.servers.map(leastconnKey);
        for (const x of pool.servers) {
          if (x.currentConnections === 0) continue;
          const before = x.currentConnections === 1 ? 0 : Math.floor((x.currentConnections * 4096) / x.effectiveWeight);
          assert.ok(before <= Math.min(...finals), `${x.name}: key ${before} before its last connection, a final key is ${Math.min(...finals)}`);
        }
      }),
      { numRuns: 100, seed: 12 },
    );
  });

  it('first: fills servers in id order up to maxconn', () => {
    const c = CASES.find((x) => x.label === 'first')!;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }), (maxconns) => {
        const pool = new Pool('fe', {
          clock: new ManualClock(),
          servers: maxconns.map((m, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port: 19001 + i, maxconn: m, id: 100 - i })),
        });
        const balancer = new Balancer(pool, { strategy: c.spec });
        const order: string[] = [];
        for (;;) {
          const lease = balancer.tryAcquire();
          if (!lease) break;
          order.push(lease.server.name);
        }
        // Highest declared = lowest id: s_n first, then s_(n-1)…, each up to its maxconn.
        const expected = maxconns.flatMap((m, i) => Array.from({ length: m }, () => `s${i + 1}`)).reverse();
        assert.deepEqual(order, expected);
      }),
      { numRuns: 60, seed: 3 },
    );
  });
});
