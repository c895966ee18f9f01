/**
 * Where a 10 000-endpoint EDS update spends its time, stage by stage, without the transport: what
 * `npm run bench:xds` measures end to end, split so that a change to one stage can be judged on its own.
 *
 * Each round builds a pool with a round-robin balancer, applies a first set (empty pool → N servers), then an
 * update (weights of 90 % changed, the other 10 % replaced by new addresses) exactly as the client and the
 * cluster follower do: protobuf decode → validateAssignment → mapEndpointSet → validateServerList →
 * PoolReconciler.reconcile (one pool batch; the balancer follows it through `pool:lb`). Times are the main
 * thread's wall time per stage (nothing else runs in the process); the median over the rounds is printed, and
 * the sum of the medians, and the median CPU time of the process over the whole update (all threads: on a shared
 * machine the wall time also measures the other processes, the CPU time much less).
 *
 * Run: node --import tsx bench/xds-stages.ts        Knobs: XDS_ENDPOINTS (10000), XDS_ROUNDS (15), XDS_GC_EACH=1, XDS_CLOCK=thread
 * (stages timed by the main thread's CPU time instead of the wall clock, Linux only),
 * XDS_CPU_PROFILE (a directory: a V8 CPU profile of each update after the first two rounds, `stages-<round>.cpuprofile`)
 */
import fs from 'node:fs';
import { type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { Balancer } from '../src/balancer.js';
import { PoolReconciler } from '../src/discovery/pool-reconciler.js';
import { defaultServerName, validateServerList } from '../src/discovery/server-list.js';
import { Pool } from '../src/pool.js';
import { validateAssignment } from '../src/xds/eds.js';
import { mapEndpointSet, tierOptionsOf } from '../src/xds/endpoint-mapping.js';
import { encodeMessage, loadXdsProtos } from '../src/xds/protos.js';
import { assignment } from '../test/xds/helpers/resources.js';
import { ENDPOINTS as N, gc, roundEndpoints, windowProfiler } from './xds-common.js';

const ROUNDS = Number(process.env['XDS_ROUNDS'] ?? 15);
const profiler = await windowProfiler();
const protos = loadXdsProtos();

/** The bytes of the round's set, as bench/xds-apply.ts sends them. */
function bytesOf(offset: number): Uint8Array {
  return encodeMessage(protos.ClusterLoadAssignment, assignment('bench', [{ endpoints: roundEndpoints(offset) }]));
}

const STAGES = ['decode', 'validateAssignment', 'map', 'validateServerList', 'reconcile'] as const;
/**
 * Wall time per stage, the CPU time of the whole process (all threads, GC helpers included) over the update, and
 * the main thread's garbage-collection pauses within it (perf_hooks `gc` entries: count and milliseconds).
 */
type Times = Record<(typeof STAGES)[number] | 'cpu' | 'gcCount' | 'gcMs', number>;

/** The `gc` entries of the window being measured. */
let gcEntries: PerformanceEntry[] = [];
new PerformanceObserver((list) => {
  gcEntries.push(...list.getEntries());
}).observe({ entryTypes: ['gc'] });

/**
 * The stage clock: wall time, or with XDS_CLOCK=thread the main thread's time on a CPU (Linux
 * /proc/thread-self/schedstat, ns): on a shared machine that one counts this thread's work, not the others' turns.
 */
const THREAD_CLOCK = process.env['XDS_CLOCK'] === 'thread';
const clock = THREAD_CLOCK
  ? (): number => Number(fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6
  : (): number => performance.now();

const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** As in bench/xds-apply.ts: one full collection before the first window, or before each with XDS_GC_EACH=1. */
const GC_EACH = process.env['XDS_GC_EACH'] === '1';

function applyOnce(pool: Pool, reconciler: PoolReconciler, bytes: Uint8Array): Times {
  const rules = { defaults: {}, nameOf: defaultServerName, allowEmpty: false };
  if (GC_EACH) gc();
  const from = performance.now();
  let t = clock();
  const cpu0 = cpuMs();
  const lap = (): number => {
    const now = clock();
    const d = now - t;
    t = now;
    return d;
  };
  const message = protos.ClusterLoadAssignment.decode(bytes);
  const decode = lap();
  const set = validateAssignment(protos, message).value!;
  const validate = lap();
  const mapped = mapEndpointSet(set);
  tierOptionsOf(set, 'auto', false);
  const list = mapped.map((m) => m.server);
  const map = lap();
  const desired = validateServerList(list, rules);
  const validateList = lap();
  reconciler.reconcile(desired);
  const reconcile = lap();
  const cpu = cpuMs() - cpu0;
  const to = performance.now();
  if (pool.size !== N) throw new Error(`pool holds ${pool.size} servers`);
  // gc entries are delivered after the window; the caller reads them once it has let the observer run.
  return { decode, validateAssignment: validate, map, validateServerList: validateList, reconcile, cpu, gcCount: from, gcMs: to };
}

/** Replaces the window bounds left in gcCount/gcMs by the count and duration of the collections inside it. */
async function withGc(times: Times): Promise<Times> {
  // perf_hooks delivers gc entries some turns of the event loop later (not within one setImmediate).
  await new Promise((resolve) => setTimeout(resolve, 50));
  const inside = gcEntries.filter((e) => e.startTime >= times.gcCount && e.startTime < times.gcMs);
  gcEntries = [];
  return { ...times, gcCount: inside.length, gcMs: inside.reduce((sum, e) => sum + e.duration, 0) };
}

const first: Times[] = [];
const update: Times[] = [];
const sets = Array.from({ length: 2 * ROUNDS }, (_, k) => bytesOf(k));
gc();
for (let r = 0; r < ROUNDS; r++) {
  const a = sets[2 * r]!;
  const b = sets[2 * r + 1]!;
  const pool = new Pool(`bench-${r}`);
  new Balancer(pool, { strategy: 'roundrobin' });
  const reconciler = new PoolReconciler(pool, 'xds');
  first.push(await withGc(applyOnce(pool, reconciler, a)));
  const profile = profiler.enabled && r >= 2;
  if (profile) await profiler.start();
  const u = applyOnce(pool, reconciler, b);
  if (profile) await profiler.stop(`stages-${r}`);
  update.push(await withGc(u));
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
console.log(`stage clock: ${THREAD_CLOCK ? 'main-thread CPU time' : 'wall time'}`);
for (const [label, runs] of [['first set', first], ['update', update]] as const) {
  let sum = 0;
  const parts = STAGES.map((s) => {
    const m = median(runs.map((r) => r[s]));
    sum += m;
    return `${s} ${m.toFixed(1)}`;
  });
  const total = median(runs.map((r) => STAGES.reduce((acc, s) => acc + r[s], 0)));
  const cpu = median(runs.map((r) => r.cpu));
  const gcs = `${median(runs.map((r) => r.gcCount))} GCs, ${median(runs.map((r) => r.gcMs)).toFixed(1)} ms`;
  console.log(`${label}: ${parts.join(' · ')} ms; sum of medians ${sum.toFixed(1)}, median total ${total.toFixed(1)} ms; CPU ${cpu.toFixed(1)} ms; GC pauses ${gcs}`);
}
