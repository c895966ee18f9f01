/**
 * xDS at scale: how long a 10 000-endpoint EDS update takes from the moment the control plane sends it to
 * the moment the pool has applied it (transport on loopback, protobuf decode, validation, mapping,
 * followServers, the pool and a round-robin balancer's strategy), for a first set (empty pool → 10 000
 * servers) and for an update that changes the weights of 90 % of them and replaces the other 10 %.
 *
 * Run: node --import tsx bench/xds-apply.ts
 * Wall time is what the goal is about; the CPU time of the process over the same window is printed beside it
 * because on a shared machine the wall time mostly measures the other processes.
 *
 * Each round follows its own cluster (`bench-<round>`), so no cached resource of an earlier round is applied
 * inside a measured window, and each window waits for the set it sent: an earlier version of this bench reused
 * one cluster, so a new follower first applied the client's cached set, and each window could end on the set
 * sent before it.
 *
 * Knobs (environment): XDS_ENDPOINTS (10000), XDS_ROUNDS (12), XDS_GC_EACH=1 (a full collection before each window
 * instead of one before the first: see below), XDS_LIMIT_MS (100: the bound the median of the
 * updates must meet; the process exits 1 above it), XDS_CPU_PROFILE (a directory: a V8 CPU profile of each measured
 * update window after the first two rounds is written there, `update-<round>.cpuprofile`, for Chrome DevTools).
 */
import { Balancer } from '../src/balancer.js';
import { Pool } from '../src/pool.js';
import { type XdsClusterFollower, followXdsCluster } from '../src/xds/cluster-follower.js';
import { encodeMessage } from '../src/xds/protos.js';
import { XdsClient } from '../src/xds/xds-client.js';
import { XDS_TYPE_URLS } from '../src/xds/xds-events.js';
import { ManagementServer } from '../test/xds/helpers/management-server.js';
import { assignment, bootstrapFor, edsCluster } from '../test/xds/helpers/resources.js';
import { ENDPOINTS as N, gc, roundEndpoints, windowProfiler } from './xds-common.js';

const ROUNDS = Number(process.env['XDS_ROUNDS'] ?? 12);
const LIMIT_MS = Number(process.env['XDS_LIMIT_MS'] ?? 100);
// The control plane shares this process: its garbage (10 000 endpoints built and encoded) is collected before the
// clock starts, so that the time measured is the client's alone.
const profiler = await windowProfiler();

const cp = await ManagementServer.start();
const claType = cp.protos.root.lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment');
const client = new XdsClient({ bootstrap: bootstrapFor(cp.address) });

const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

// Building and encoding the resources is the control plane's work: every round's is done before the first window,
// and its garbage collected once (XDS_GC_EACH=1: before each window instead, as this bench did at first; a full
// collection right before each window also drops the optimized code that embedded objects of the round before,
// which a long-running process does not pay on each update).
const GC_EACH = process.env['XDS_GC_EACH'] === '1';
const values = Array.from({ length: 2 * ROUNDS }, (_, k) => encodeMessage(claType, assignment(`bench-${k >> 1}`, [{ endpoints: roundEndpoints(k) }])));
gc();

/** Sends the round's endpoints (`offset` varies weights and ports) and measures send → applied: [wall, CPU] ms. */
async function applyOnce(cluster: string, pool: Pool, follower: XdsClusterFollower, offset: number, profile = false): Promise<[number, number]> {
  const value = values[offset]!;
  const applied = new Promise<void>((resolve) => follower.once('xds:endpoints', () => resolve()));
  if (GC_EACH) gc();
  if (profile) await profiler.start();
  const cpu0 = cpuMs();
  const sent = performance.now();
  cp.setRaw('endpoints', [{ name: cluster, value }]);
  await applied;
  const wall = performance.now() - sent;
  const cpu = cpuMs() - cpu0;
  if (profile) await profiler.stop(`update-${offset}`);
  const expected = `127.1.0.10:${10_000 + offset}`;
  if (pool.size !== N || pool.find(expected) === undefined) throw new Error(`pool ${pool.name} does not hold the set sent (${pool.size} servers)`);
  return [wall, cpu];
}

const firsts: number[] = [];
const updates: number[] = [];
const cpuFirsts: number[] = [];
const cpuUpdates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const cluster = `bench-${r}`;
  cp.set('cluster', [edsCluster(cluster)]);
  const pool = new Pool(cluster);
  new Balancer(pool, { strategy: 'roundrobin' });
  const subscribed = cp.waitFor((q) => q.typeUrl === XDS_TYPE_URLS.endpoints && q.names.includes(cluster));
  const follower = followXdsCluster(pool, client, cluster);
  await subscribed; // the follower has the cluster and asks for its endpoints, which do not exist yet
  const [wallFirst, cpuFirst] = await applyOnce(cluster, pool, follower, 2 * r);
  const [wallUpdate, cpuUpdate] = await applyOnce(cluster, pool, follower, 2 * r + 1, profiler.enabled && r >= 2);
  firsts.push(wallFirst);
  cpuFirsts.push(cpuFirst);
  updates.push(wallUpdate);
  cpuUpdates.push(cpuUpdate);
  await follower.close();
}
await client.close();
cp.stop();

const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]!.toFixed(1)} · median ${s[s.length >> 1]!.toFixed(1)} · max ${s[s.length - 1]!.toFixed(1)} ms`;
};
const median = [...updates].sort((a, b) => a - b)[updates.length >> 1]!;
console.log(`${N} endpoints, ${ROUNDS} rounds (first round included: cold JIT)`);
console.log(`first set (empty pool → ${N} servers): ${stats(firsts)}`);
console.log(`update (weights of 90 % changed, 10 % of addresses replaced): ${stats(updates)}`);
console.log(`CPU time of the process, first set: ${stats(cpuFirsts)}; update: ${stats(cpuUpdates)}`);
console.log(`median update ${median.toFixed(1)} ms ${median < LIMIT_MS ? '<' : '≥'} ${LIMIT_MS} ms`);
process.exitCode = median < LIMIT_MS ? 0 : 1;
