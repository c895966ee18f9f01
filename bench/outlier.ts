/**
 * Outlier detection at scale: the cost of one outcome (`reportOutcome`, `reportResult`) and of one sweep
 * (success-rate evaluation over every server) at 1 000, 10 000 and 100 000 servers.
 *
 * Run: npm run bench:outlier
 * Knobs (environment): OUTLIER_SIZES (1000,10000,100000), OUTLIER_ROUNDS (9).
 *
 * Method: for each size, a pool of that many servers (`check` set, so that the PassiveObserver counts them; no checker runs), an OutlierDetector on a manual clock (its timers
 * never fire by themselves) and, in the same process, the baselines; every measurement alternates with its
 * baseline round by round (9 timed rounds after 2 untimed ones) and the table shows the medians and the median
 * of the per-round ratios (×base): the machine is shared and noisy, and rounds a few milliseconds apart see the
 * same noise.
 * - per outcome: one outcome for each server in turn (the whole pool, so at 100 000 servers the monitors do not
 *   fit in the caches), successes and failures mixed so that no run reaches the ejection threshold. Baseline: an
 *   OutcomeSink that counts into a Map by server (the least any per-server sink does), and HAProxy's
 *   PassiveObserver for reference.
 * - sweep: `detector.sweep()` with one interval's outcomes on every server (success-rate evaluation on, volume 1,
 *   so every server counts; one server in 20 at a lower rate, maxEjectionPercent 0 so nothing is ejected and
 *   every round does the same work). Baseline: one pass over the same servers reading a counter each.
 */
import { ManualClock } from '../src/clock.js';
import { PassiveObserver } from '../src/health/passive-observer.js';
import type { ConnectOutcome, OutcomeSink } from '../src/outcome.js';
import { Pool } from '../src/pool.js';
import { OutlierDetector } from '../src/resilience/outlier-detector.js';
import type { Server } from '../src/server.js';

const SIZES = (process.env['OUTLIER_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
const ROUNDS = Number(process.env['OUTLIER_ROUNDS'] ?? 9);
const OK: ConnectOutcome = { kind: 'success', durationMs: 1 };
const REFUSED: ConnectOutcome = { kind: 'refused', durationMs: 1 };

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Times `fn` and `base` alternately; returns medians (ms) of each and the median ratio. */
function alternate(fn: () => void, base: () => void): { ms: number; baseMs: number; ratio: number } {
  for (let i = 0; i < 2; i++) {
    fn();
    base();
  }
  const a: number[] = [];
  const b: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    fn();
    const ta = performance.now() - t;
    t = performance.now();
    base();
    const tb = performance.now() - t;
    a.push(ta);
    b.push(tb);
    r.push(ta / tb);
  }
  return { ms: median(a), baseMs: median(b), ratio: median(r) };
}

class MapCounter implements OutcomeSink {
  readonly counts = new Map<Server, number>();
  reportOutcome(server: Server, outcome: ConnectOutcome): void {
    if (outcome.kind !== 'success') this.counts.set(server, (this.counts.get(server) ?? 0) + 1);
    else this.counts.set(server, 0);
  }
}

const fmt = (n: number, d = 1): string => (n >= 100 ? n.toFixed(0) : n.toFixed(d));
const rows: string[] = [];
const perOutcome: Record<number, number> = {};
const perSweep: Record<number, { ms: number; ratio: number }> = {};

for (const n of SIZES) {
  const clock = new ManualClock();
  const pool = new Pool('bench', { clock, servers: Array.from({ length: n }, (_, i) => ({ name: `s${i + 1}`, host: '10.0.0.1', port: 1 + (i % 65535), check: true })) });
  const servers = pool.servers;
  const detector = new OutlierDetector(pool, { successRateRequestVolume: 1, maxEjectionPercent: 0, alwaysEjectOneHost: false });
  const observer = new PassiveObserver(pool);
  const counter = new MapCounter();
  // Three outcomes per server per pass: failure, failure, success — runs of 2, never 5.
  const outcomes = (sink: OutcomeSink) => (): void => {
    for (let k = 0; k < 3; k++) {
      const o = k === 2 ? OK : REFUSED;
      for (let i = 0; i < servers.length; i++) sink.reportOutcome(servers[i]!, o);
    }
  };
  const results = (): void => {
    for (let k = 0; k < 3; k++) {
      const r = k === 2 ? 'success' : 'failure';
      for (let i = 0; i < servers.length; i++) detector.reportResult(servers[i]!, r);
    }
  };
  const count = 3 * n;
  const viaDetector = alternate(outcomes(detector), outcomes(counter));
  const viaResult = alternate(results, outcomes(counter));
  const viaObserver = alternate(outcomes(observer), outcomes(counter));
  perOutcome[n] = (viaDetector.ms * 1e6) / count;
  rows.push(
    `| ${n} | reportOutcome | ${fmt((viaDetector.ms * 1e6) / count)} ns | ${fmt((viaDetector.baseMs * 1e6) / count)} ns | ${viaDetector.ratio.toFixed(2)}× |`,
    `| ${n} | reportResult | ${fmt((viaResult.ms * 1e6) / count)} ns | ${fmt((viaResult.baseMs * 1e6) / count)} ns | ${viaResult.ratio.toFixed(2)}× |`,
    `| ${n} | PassiveObserver.reportOutcome (reference) | ${fmt((viaObserver.ms * 1e6) / count)} ns | ${fmt((viaObserver.baseMs * 1e6) / count)} ns | ${viaObserver.ratio.toFixed(2)}× |`,
  );
  // Sweep: fill one interval (untimed), then time the sweep alone.
  let sink = 0;
  const fill = (): void => {
    for (let i = 0; i < servers.length; i++) {
      detector.reportResult(servers[i]!, 'success');
      detector.reportResult(servers[i]!, i % 20 === 0 ? 'failure' : 'success');
    }
  };
  const sweepTimes: number[] = [];
  const baseTimes: number[] = [];
  const ratios: number[] = [];
  const baseline = (): void => {
    for (let i = 0; i < servers.length; i++) sink += servers[i]!.currentConnections;
  };
  for (let round = 0; round < ROUNDS + 2; round++) {
    fill();
    let t = performance.now();
    detector.sweep();
    const ts = performance.now() - t;
    t = performance.now();
    baseline();
    const tb = performance.now() - t;
    if (round < 2) continue;
    sweepTimes.push(ts);
    baseTimes.push(tb);
    ratios.push(ts / tb);
  }
  if (detector.stats().ejected !== 0 || detector.stats().overflow === 0) throw new Error('the sweep should have found outliers and ejected none');
  perSweep[n] = { ms: median(sweepTimes), ratio: median(ratios) };
  rows.push(`| ${n} | sweep (success rate over ${n} servers) | ${fmt(median(sweepTimes), 2)} ms (${fmt((median(sweepTimes) * 1e6) / n)} ns/server) | ${fmt(median(baseTimes), 3)} ms | ${median(ratios).toFixed(1)}× |`);
  await detector.close();
  if (sink < 0) console.log(sink);
}

console.log(`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${ROUNDS} rounds, median.\n`);
console.log('| servers | operation | time | baseline | ×base |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
const [small, large] = [SIZES[0]!, SIZES.at(-1)!];
if (perOutcome[small] !== undefined && perOutcome[large] !== undefined) {
  console.log(`\nper-outcome growth ${small} → ${large} servers: ${(perOutcome[large]! / perOutcome[small]!).toFixed(2)}× raw`);
  console.log(`sweep growth ${small} → ${large} servers: ${(perSweep[large]!.ms / perSweep[small]!.ms).toFixed(1)}× for ${large / small}× the servers`);
}
if (perSweep[10_000] !== undefined) console.log(`sweep at 10 000 servers: ${perSweep[10_000].ms.toFixed(2)} ms (budget 5 ms): ${perSweep[10_000].ms < 5 ? 'within' : 'OVER'}`);
