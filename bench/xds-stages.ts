/**
 * Where a 10 000-endpoint EDS update spends its time, stage by stage, without the transport: what
 * `npm run bench:xds` measures end to end, split so that a change to one stage can be judged on its own.
 *
 * Each round builds a pool with a round-robin balancer, applies a first set (empty pool → N servers), then an
 * update (weights of 90 % changed, the other 10 % replaced by new addresses) exactly as the client and the
 * cluster follower do: protobuf decode → validateAssignment → mapEndpointSet → validateServerList →
 * PoolReconciler.reconcile (one pool batch; the balancer follows it through `pool:lb`). Times are the main
 * thread's wall time per stage (nothing else runs in the process); the median over the rounds is printed, and
 * the sum of the medians.
 *
 * Run: node --import tsx bench/xds-stages.ts        Knobs: XDS_ENDPOINTS (10000), XDS_ROUNDS (15),
 * XDS_CPU_PROFILE (a directory: a V8 CPU profile of each update after the first two rounds, `stages-<round>.cpuprofile`)
 */
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
type Times = Record<(typeof STAGES)[number], number>;

function applyOnce(pool: Pool, reconciler: PoolReconciler, bytes: Uint8Array): Times {
  const rules = { defaults: {}, nameOf: defaultServerName, allowEmpty: false };
  gc();
  let t = performance.now();
  const lap = (): number => {
    const now = performance.now();
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
  if (pool.size !== N) throw new Error(`pool holds ${pool.size} servers`);
  return { decode, validateAssignment: validate, map, validateServerList: validateList, reconcile };
}

const first: Times[] = [];
const update: Times[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const a = bytesOf(2 * r);
  const b = bytesOf(2 * r + 1);
  const pool = new Pool(`bench-${r}`);
  new Balancer(pool, { strategy: 'roundrobin' });
  const reconciler = new PoolReconciler(pool, 'xds');
  first.push(applyOnce(pool, reconciler, a));
  const profile = profiler.enabled && r >= 2;
  if (profile) await profiler.start();
  update.push(applyOnce(pool, reconciler, b));
  if (profile) await profiler.stop(`stages-${r}`);
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
for (const [label, runs] of [['first set', first], ['update', update]] as const) {
  let sum = 0;
  const parts = STAGES.map((s) => {
    const m = median(runs.map((r) => r[s]));
    sum += m;
    return `${s} ${m.toFixed(1)}`;
  });
  const total = median(runs.map((r) => STAGES.reduce((acc, s) => acc + r[s], 0)));
  console.log(`${label}: ${parts.join(' · ')} ms; sum of medians ${sum.toFixed(1)}, median total ${total.toFixed(1)} ms`);
}
