/**
 * Cost of picking a server, per strategy, at 10, 1 000 and 100 000 servers.
 *
 *   npm run bench            (same as npm run bench:pick)
 *
 * Two measurements per strategy and size, each against a baseline measured in the same process and
 * interleaved with it (the machine is shared and noisy, so ratios to the baseline say more than raw ns):
 *   - acquire+release: `balancer.tryAcquire()` then `lease.release()`, the whole path a connection takes;
 *   - pick: `strategy.pick(candidates, ctx)` alone.
 * The baseline is a strategy returning one uniformly drawn candidate. Each number is the median of several
 * timed chunks after a warm-up. Growth = ns at 100 000 servers / ns at 1 000; O(1) and O(log n) stay under 3.
 *
 * Each strategy runs in its own child process with a deadline per size, so a strategy whose setup cannot
 * take 100 000 servers in reasonable time is reported as an exception instead of stalling the run.
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Balancer } from '../src/balancer.js';
import { Pool } from '../src/pool.js';
import type { Server, ServerOptions } from '../src/server.js';
import type { StrategySpec } from '../src/strategies/index.js';
import type { PickContext, Strategy } from '../src/strategies/strategy.js';

const SIZES = [10, 1_000, 100_000] as const;
/** Timed chunks per measurement; the median is reported. */
const REPS = 9;
/** Untimed chunks after calibration, so both loops are optimised before timing. */
const WARMUP_CHUNKS = 2;
/** Target duration of one timed chunk, ms. */
const CHUNK_MS = 15;
/** Deadline for one size of one strategy (pool + balancer construction + all measurements), ms. */
const DEADLINE_MS = { 10: 8_000, 1000: 8_000, 100000: 10_000 } as const;

interface Case {
  readonly label: string;
  /** A built-in by spec, or a strategy built in the child (the baselines). */
  readonly spec: StrategySpec | ((random: () => number) => Strategy);
  /** Weight of server i. */
  readonly weight: (i: number) => number;
  /** Printed with the results: why this row is not plain O(1)/O(log n), or what it is for. */
  readonly note?: string;
  /** Printed only when the strategy could not run at some size: the known cause. */
  readonly ifFailed?: string;
}

const mixed = (i: number): number => 1 + (i % 8);

const CASES: readonly Case[] = [
  {
    label: 'baseline: candidates[0]',
    spec: () => ({ name: 'hot', pick: (candidates) => candidates[0] }),
    weight: mixed,
    note: 'always the same server, so always in cache: the floor of the acquire+release path',
  },
  {
    label: 'baseline: random candidate',
    spec: (random) => ({ name: 'cold', pick: (candidates) => candidates[Math.floor(random() * candidates.length)] }),
    weight: mixed,
    note: 'one uniformly drawn server: what landing on a server costs once they no longer fit in the CPU caches; the ×base reference of every row',
  },
  { label: 'roundrobin', spec: 'roundrobin', weight: mixed, ifFailed: 'HAProxy itself limits FWRR to 4095 servers (32-bit position keys)' },
  {
    label: 'static-rr',
    spec: 'static-rr',
    weight: mixed,
    ifFailed: 'the map (src/strategies/internal/map-table.ts) did not build in time',
  },
  { label: 'leastconn', spec: 'leastconn', weight: mixed },
  { label: 'first', spec: 'first', weight: mixed },
  {
    label: 'source',
    spec: 'source',
    weight: mixed,
    ifFailed: 'the map (src/strategies/internal/map-table.ts) did not build in time',
  },
  {
    label: 'source (consistent)',
    spec: { name: 'source', hashType: 'consistent' },
    weight: mixed,
    ifFailed: 'the ring (src/strategies/internal/chash-ring.ts: 16 points per weight unit, 7.2 M points at 100 000 servers) did not build in time',
  },
  {
    label: 'random(2)',
    spec: { name: 'random', draws: 2 },
    weight: mixed,
    ifFailed: 'the same ring as source (consistent) did not build in time',
  },
  { label: 'swrr', spec: 'swrr', weight: mixed },
  {
    label: 'swrr, 256 distinct weights',
    spec: 'swrr',
    weight: (i) => 1 + (i % 256),
    note: 'O(D + log n) per pick: the leaders of the D distinct effective weights are compared (D ≤ 4096; here 256 at 1 000 and 100 000 servers, 10 at 10)',
  },
  { label: 'p2c', spec: 'p2c', weight: mixed },
];

interface Measure {
  /** Median ns per operation. */
  readonly ns: number;
  /** Median of (ns / baseline ns) over interleaved chunks. */
  readonly ratio: number;
}

interface SizeResult {
  readonly size: number;
  readonly poolMs: number;
  readonly balancerMs: number;
  readonly acquire: Measure;
  readonly pick: Measure;
}

type ChildMessage = { readonly kind: 'start'; readonly size: number } | { readonly kind: 'result'; readonly result: SizeResult } | { readonly kind: 'error'; readonly size: number; readonly message: string };

let sink = 0;

/** xorshift32: cheap, seeded, uniform in [0, 1). */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/**
 * The baseline: one uniformly drawn candidate. It is the least any strategy pays per connection: the random
 * draw plus landing on one server that, at 100 000 servers, is usually not in the CPU cache (a strategy that
 * always returns `candidates[0]` would stay cache-hot and make every rotating strategy look like O(n)).
 */
function baselineStrategy(random: () => number): Strategy {
  return { name: 'baseline', pick: (candidates) => candidates[Math.floor(random() * candidates.length)] };
}

/** Runs `op` `n` times, returns ns per call. */
function timeLoop(op: (i: number) => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Iterations for one chunk of about CHUNK_MS, found by doubling (this also warms the code up). */
function calibrate(op: (i: number) => void): number {
  let n = 64;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) op(i);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= CHUNK_MS || n >= 1 << 24) return Math.max(64, Math.round((n * CHUNK_MS) / Math.max(ms, 0.001)));
    n *= 2;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * Median ns/op of `op`, and the median of its ratios to `base`: chunks of the two alternate, so each ratio
 * compares runs a few milliseconds apart on the same (shared, noisy) machine.
 */
function measure(op: (i: number) => void, base: (i: number) => void): Measure {
  const n = calibrate(op);
  const nb = calibrate(base);
  for (let r = 0; r < WARMUP_CHUNKS; r++) {
    timeLoop(base, nb);
    timeLoop(op, n);
  }
  const a: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const b = timeLoop(base, nb);
    const x = timeLoop(op, n);
    a.push(x);
    ratios.push(x / b);
  }
  return { ns: median(a), ratio: median(ratios) };
}

function runSize(c: Case, size: number): SizeResult {
  const options: ServerOptions[] = [];
  for (let i = 0; i < size; i++) options.push({ name: `s${i + 1}`, host: '127.0.0.1', port: 1 + (i % 65535), weight: c.weight(i) });
  const t0 = performance.now();
  const pool = new Pool('bench', { servers: options });
  const t1 = performance.now();
  const balancer = new Balancer(pool, { strategy: typeof c.spec === 'function' ? c.spec(prng(size + 3)) : c.spec, random: prng(size) });
  const t2 = performance.now();
  const baseline = baselineStrategy(prng(size + 2));
  const base = new Balancer(pool, { strategy: baseline, random: prng(size) });

  // Client addresses for `source`; every strategy gets the same options so the paths compare.
  const acquireOptions = Array.from({ length: 1024 }, (_, i) => ({ clientAddress: `10.${(i * 7) & 255}.${(i * 13) & 255}.${i & 255}` }));
  const acquireWith =
    (b: Balancer) =>
    (i: number): void => {
      const lease = b.tryAcquire(acquireOptions[i & 1023]!);
      if (lease === undefined) throw new Error(`${c.label}: no server at ${size}`);
      sink += lease.server.port;
      lease.release();
    };
  const acquire = measure(acquireWith(balancer), acquireWith(base));

  const ctxFor = (): PickContext & { clientAddress: string | undefined } => ({
    group: 'active',
    clientAddress: undefined,
    key: undefined,
    random: prng(size + 1),
    isFull: (s: Server) => s.full,
    isExcluded: () => false,
  });
  const candidates = pool.activeUsable;
  const pickWith = (s: Strategy): ((i: number) => void) => {
    const ctx = ctxFor();
    return (i) => {
      ctx.clientAddress = acquireOptions[i & 1023]!.clientAddress;
      sink += s.pick(candidates, ctx)?.port ?? 0;
    };
  };
  const pick = measure(pickWith(balancer.strategy), pickWith(baseline));
  sink += pool.servers.reduce((a, x) => a + x.lbSelections, 0);
  balancer.destroy();
  base.destroy();
  return { size, poolMs: t1 - t0, balancerMs: t2 - t1, acquire, pick };
}

function child(label: string): void {
  const c = CASES.find((x) => x.label === label);
  if (!c) throw new Error(`unknown case ${label}`);
  for (const size of SIZES) {
    process.send!({ kind: 'start', size } satisfies ChildMessage);
    try {
      process.send!({ kind: 'result', result: runSize(c, size) } satisfies ChildMessage);
    } catch (err) {
      process.send!({ kind: 'error', size, message: err instanceof Error ? err.message : String(err) } satisfies ChildMessage);
    }
  }
  if (sink === 0.5) console.log(sink);
  process.disconnect();
}

interface CaseOutcome {
  readonly c: Case;
  readonly results: SizeResult[];
  /** Sizes that failed or ran past their deadline, with the reason. */
  readonly failures: Map<number, string>;
}

function runChild(c: Case): Promise<CaseOutcome> {
  return new Promise((resolve) => {
    const results: SizeResult[] = [];
    const failures = new Map<number, string>();
    const proc = fork(fileURLToPath(import.meta.url), ['--child', c.label], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let current: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (size: number): void => {
      clearTimeout(timer);
      current = size;
      const limit = DEADLINE_MS[size as keyof typeof DEADLINE_MS];
      timer = setTimeout(() => {
        failures.set(size, `setup and measurement did not finish within ${limit / 1000} s`);
        proc.kill('SIGKILL');
      }, limit);
    };
    proc.on('message', (m: ChildMessage) => {
      if (m.kind === 'start') arm(m.size);
      else if (m.kind === 'result') results.push(m.result);
      else failures.set(m.size, m.message);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (current !== undefined && !results.some((r) => r.size === current) && !failures.has(current)) {
        failures.set(current, `child exited (${signal ?? code})`);
      }
      resolve({ c, results, failures });
    });
  });
}

function fmt(ns: number): string {
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1);
}

function ratio(x: number): string {
  return `${x.toFixed(2)}×`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const outcomes: CaseOutcome[] = [];
  // `npm run bench -- swrr p2c` runs only the cases whose label contains one of the words.
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  for (const c of CASES.filter((x) => only.length === 0 || only.some((w) => x.label.includes(w)))) {
    process.stderr.write(`bench: ${c.label}…\n`);
    outcomes.push(await runChild(c));
  }
  const lines: string[] = [];
  const out = (s = ''): void => {
    lines.push(s);
  };
  out(`Picking — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.arch()}`);
  out(`weights 1–8 cycling unless noted; median of ${REPS} chunks of ~${CHUNK_MS} ms after warm-up; ×base = median ratio to a baseline strategy (one uniformly drawn candidate) timed in alternating chunks.`);
  out('growth = ns at 100 000 / ns at 1 000 servers, raw and on ×base; O(1)/O(log n) when the raw growth is under 3, or');
  out('"memory-bound" when only the growth relative to the baseline is (the baseline pays the same cache misses).');
  out();
  out('| strategy | acquire+release: ns (×base) at 10 · 1 000 · 100 000 | growth raw / ×base | pick alone: ns (×base) at 10 · 1 000 · 100 000 | growth raw / ×base | verdict |');
  out('|---|---|---|---|---|---|');
  const notes: string[] = [];
  const exceptions: string[] = [];
  const coldGrowth = (m: (r: SizeResult) => Measure): number | undefined => {
    const cold = outcomes.find((o) => o.c.label === 'baseline: random candidate');
    const a = cold?.results.find((r) => r.size === 1_000);
    const b = cold?.results.find((r) => r.size === 100_000);
    return a && b ? m(b).ns / m(a).ns : undefined;
  };
  for (const { c, results, failures } of outcomes) {
    const at = (size: number): SizeResult | undefined => results.find((r) => r.size === size);
    const cell = (m: (r: SizeResult) => Measure): string =>
      SIZES.map((size) => {
        const r = at(size);
        return r ? `${fmt(m(r).ns)} (${ratio(m(r).ratio)})` : '—';
      }).join(' · ');
    const growth = (m: (r: SizeResult) => Measure): { raw: number; norm: number } | undefined => {
      const a = at(1_000);
      const b = at(100_000);
      return a && b ? { raw: m(b).ns / m(a).ns, norm: m(b).ratio / m(a).ratio } : undefined;
    };
    const ga = growth((r) => r.acquire);
    const gp = growth((r) => r.pick);
    const show = (g: { raw: number; norm: number } | undefined): string => (g ? `${g.raw.toFixed(2)} / ${g.norm.toFixed(2)}` : 'n/a');
    let verdict: string;
    if (c.label.startsWith('baseline')) {
      verdict = 'reference';
    } else if (failures.size > 0 || !ga || !gp) {
      verdict = 'exception';
      for (const [size, why] of failures) exceptions.push(`${c.label} at ${size} servers: ${why}${c.ifFailed ? ` — ${c.ifFailed}` : ''}`);
    } else if (ga.raw < 3 && gp.raw < 3) {
      verdict = 'O(1)/O(log n)';
    } else if (ga.norm < 3 && gp.norm < 3) {
      verdict = 'O(1)/O(log n), memory-bound';
      const cg = coldGrowth((r) => (ga.raw >= 3 ? r.acquire : r.pick));
      notes.push(
        `${c.label}: raw growth ${Math.max(ga.raw, gp.raw).toFixed(2)} is the CPU caches' (the random-candidate baseline grew ${cg?.toFixed(2) ?? '?'}× over the same range); relative to it the growth is ${ga.norm.toFixed(2)} / ${gp.norm.toFixed(2)}`,
      );
    } else {
      verdict = 'exception';
      exceptions.push(`${c.label}: growth ${show(ga)} (acquire+release) and ${show(gp)} (pick) is not under 3`);
    }
    if (c.note) notes.push(`${c.label}: ${c.note}`);
    out(`| ${c.label} | ${cell((r) => r.acquire)} | ${show(ga)} | ${cell((r) => r.pick)} | ${show(gp)} | ${verdict} |`);
  }
  out();
  out('Notes:');
  for (const n of notes) out(`- ${n}`);
  out();
  out('Setup (ms): Pool construction · Balancer construction (strategy reset), at 1 000 and 100 000 servers');
  out();
  out('| strategy | pool 1 000 | pool 100 000 | pool ns/server growth | balancer 1 000 | balancer 100 000 |');
  out('|---|---|---|---|---|---|');
  for (const { c, results } of outcomes) {
    const a = results.find((r) => r.size === 1_000);
    const b = results.find((r) => r.size === 100_000);
    const perServer = a && b ? (b.poolMs / 100_000 / (a.poolMs / 1_000)).toFixed(2) : 'n/a';
    out(`| ${c.label} | ${a?.poolMs.toFixed(1) ?? '—'} | ${b?.poolMs.toFixed(1) ?? '—'} | ${perServer} | ${a?.balancerMs.toFixed(1) ?? '—'} | ${b?.balancerMs.toFixed(1) ?? '—'} |`);
  }
  out();
  out('Documented exceptions:');
  if (exceptions.length === 0) out('- none');
  for (const e of exceptions) out(`- ${e}`);
  out();
  out(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(lines.join('\n'));
}

const at = process.argv.indexOf('--child');
if (at >= 0) child(process.argv[at + 1]!);
else await main();
