/**
 * xDS at scale: how long a 10 000-endpoint EDS update takes from the moment the control plane sends it to
 * the moment the pool has applied it (transport on loopback, protobuf decode, validation, mapping,
 * followServers, the pool and a round-robin balancer's strategy), for a first set and for updates that
 * change weights and replace 10 % of the addresses.
 *
 * Run: node --import tsx bench/xds-apply.ts
 * Wall time is what the goal is about; the CPU time of the process is printed beside it because on a shared
 * machine the wall time mostly measures the other processes.
 *
 * Knobs (environment): XDS_ENDPOINTS (10000), XDS_ROUNDS (12), XDS_LIMIT_MS (100: the bound the median of the
 * updates must meet; the process exits 1 above it).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { Balancer } from '../src/balancer.js';
import { Pool } from '../src/pool.js';
import { followXdsCluster } from '../src/xds/cluster-follower.js';
import { encodeMessage } from '../src/xds/protos.js';
import { XdsClient } from '../src/xds/xds-client.js';
import { ManagementServer } from '../test/xds/helpers/management-server.js';
import { assignment, bootstrapFor, edsCluster, manyEndpoints } from '../test/xds/helpers/resources.js';

const N = Number(process.env['XDS_ENDPOINTS'] ?? 10_000);
const ROUNDS = Number(process.env['XDS_ROUNDS'] ?? 12);
const LIMIT_MS = Number(process.env['XDS_LIMIT_MS'] ?? 100);

// The control plane shares this process: its garbage (10 000 endpoints built and encoded) is collected before the
// clock starts, so that the time measured is the client's alone.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const cp = await ManagementServer.start();
const claType = cp.protos.root.lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment');
cp.set('cluster', [edsCluster('bench')]);
const client = new XdsClient({ bootstrap: bootstrapFor(cp.address) });

/** CPU time (user + system) of this process per update: on a shared machine it says more than wall time. */
const cpuFirsts: number[] = [];
const cpuUpdates: number[] = [];

async function applyOnce(pool: Pool, follower: ReturnType<typeof followXdsCluster>, offset: number, cpu: number[]): Promise<number> {
  const applied = new Promise<void>((resolve) => follower.once('xds:endpoints', () => resolve()));
  // Building and encoding the resource is the control plane's work: done, and its garbage collected, before the clock.
  const eps = manyEndpoints(N, offset).map((e, i) => (i % 10 === 0 ? { ...e, port: e.port + offset } : { ...e, weight: 1 + ((i + offset) % 7) }));
  const value = encodeMessage(claType, assignment('bench', [{ endpoints: eps }]));
  gc();
  const cpu0 = process.cpuUsage();
  const sent = performance.now();
  cp.setRaw('endpoints', [{ name: 'bench', value }]);
  await applied;
  const ms = performance.now() - sent;
  const c = process.cpuUsage(cpu0);
  cpu.push((c.user + c.system) / 1000);
  if (pool.size !== N) throw new Error(`pool has ${pool.size} servers, expected ${N}`);
  return ms;
}

const firsts: number[] = [];
const updates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const pool = new Pool(`bench-${r}`);
  new Balancer(pool, { strategy: 'roundrobin' });
  const follower = followXdsCluster(pool, client, 'bench');
  firsts.push(await applyOnce(pool, follower, r * 2, cpuFirsts));
  updates.push(await applyOnce(pool, follower, r * 2 + 1, cpuUpdates));
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
console.log(`update (weights changed, 10 % of addresses replaced): ${stats(updates)}`);
console.log(`CPU time of the process, first set: ${stats(cpuFirsts)}; update: ${stats(cpuUpdates)}`);
console.log(`median update ${median.toFixed(1)} ms ${median < LIMIT_MS ? '<' : '≥'} ${LIMIT_MS} ms`);
process.exitCode = median < LIMIT_MS ? 0 : 1;
