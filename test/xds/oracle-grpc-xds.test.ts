/**
 * The real `@grpc/grpc-js-xds` client as an oracle: a gRPC channel resolving `xds:///oracle` and switchyard's
 * follower subscribe to the same management server; for each EDS update (locality weights, health,
 * priorities, removals) both must agree on which endpoints are usable and on each endpoint's share, within
 * TOLERANCE (gRPC's weighted_target picks localities at random: with REQUESTS picks the standard deviation of
 * a 50 % share is about 1.1 points, so 5 points is over 4 standard deviations).
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { followXdsCluster } from '../../src/xds/cluster-follower.js';
import { XdsClient } from '../../src/xds/xds-client.js';
import { XDS_TYPE_URLS } from '../../src/xds/xds-events.js';
import { nextEvent } from '../helpers/list-source.js';
import { withTimeout } from '../helpers/timeout.js';
import { ManagementServer } from './helpers/management-server.js';
import { type TestLocality, assignment, bootstrapFor, edsCluster } from './helpers/resources.js';

const REQUESTS = 2000;
const CONNECTIONS = 400;
const TOLERANCE = 0.05;
const METHOD = '/test.Echo/Who';
const identity = (b: Buffer): Buffer => b;

interface Backend {
  readonly id: string;
  readonly port: number;
  readonly server: Server;
}

async function grpcBackend(id: string): Promise<Backend> {
  const server = new Server();
  server.addService(
    { Who: { path: METHOD, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { Who: (_call: unknown, callback: (err: null, value: Buffer) => void) => callback(null, Buffer.from(id)) },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { id, port, server };
}

function shares(counts: Map<string, number>, total: number): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, n / total]));
}

describe('switchyard and grpc-js-xds agree on the same EDS updates', () => {
  let cp: ManagementServer;
  let backends: Backend[];
  let oracle: ChildProcessWithoutNullStreams;
  let answers: AsyncIterator<string>;
  const byPort = new Map<number, string>();

  before(async () => {
    cp = await ManagementServer.start();
    backends = await Promise.all(['b0', 'b1', 'b2', 'b3', 'b4', 'b5'].map(grpcBackend));
    for (const b of backends) byPort.set(b.port, b.id);
    cp.setGrpcListener('oracle', 'oracle-c');
    cp.set('cluster', [edsCluster('oracle-c')]);
    oracle = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/grpc-oracle.ts', import.meta.url))], {
      env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrapFor(cp.address, 'grpc-oracle')), ORACLE_TARGET: 'xds:///oracle', ORACLE_METHOD: METHOD },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    oracle.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    answers = readline.createInterface({ input: oracle.stdout })[Symbol.asyncIterator]();
  });

  after(async () => {
    if (oracle && oracle.exitCode === null) {
      const exited = once(oracle, 'exit');
      oracle.kill('SIGTERM');
      await exited;
    }
    cp?.stop();
    for (const b of backends ?? []) b.server.forceShutdown();
  });

  const port = (id: string): number => backends.find((b) => b.id === id)!.port;

  /** RPC shares through the gRPC channel in the child, once its picker has settled on a set of backends. */
  async function grpcShares(): Promise<Record<string, number>> {
    oracle.stdin.write(`${JSON.stringify({ requests: REQUESTS })}\n`);
    const next = await answers.next();
    if (next.done) throw new Error(`the grpc-js-xds child exited (${oracle.exitCode})`);
    const answer = JSON.parse(next.value) as { shares?: Record<string, number>; error?: string };
    if (answer.error !== undefined) throw new Error(`grpc-js-xds: ${answer.error}`);
    return answer.shares!;
  }

  /** Connection shares through switchyard: real TCP connections to the same backends. */
  async function switchyardShares(balancer: Balancer): Promise<Record<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < CONNECTIONS; i++) {
      const socket = await balancer.connect({ timeoutConnectMs: 2000 });
      const id = byPort.get(socket.remotePort!)!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      socket.destroy();
    }
    return shares(counts, CONNECTIONS);
  }

  it('on locality weights, unhealthy and draining endpoints, priority failover and removals', async (t) => {
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address, 'switchyard-oracle') });
    const pool = new Pool('oracle-c');
    const follower = followXdsCluster(pool, client, 'oracle-c');
    const balancer = new Balancer(pool, { strategy: 'roundrobin' });
    const scenarios: [string, TestLocality[]][] = [
      ['locality weights 1:2:1', [
        { zone: 'A', weight: 1, endpoints: [{ port: port('b0') }] },
        { zone: 'B', weight: 2, endpoints: [{ port: port('b1') }] },
        { zone: 'C', weight: 1, endpoints: [{ port: port('b2') }, { port: port('b3') }] },
      ]],
      ['an unhealthy endpoint empties its locality', [
        { zone: 'A', weight: 1, endpoints: [{ port: port('b0') }] },
        { zone: 'B', weight: 2, endpoints: [{ port: port('b1'), health: 'UNHEALTHY' }] },
        { zone: 'C', weight: 1, endpoints: [{ port: port('b2') }, { port: port('b3') }] },
      ]],
      ['priority 0 draining or unhealthy: priority 1 takes over', [
        { zone: 'A', weight: 1, endpoints: [{ port: port('b0'), health: 'DRAINING' }] },
        { zone: 'C', weight: 1, endpoints: [{ port: port('b2'), health: 'UNHEALTHY' }, { port: port('b3'), health: 'TIMEOUT' }] },
        { zone: 'D', weight: 1, priority: 1, endpoints: [{ port: port('b4') }, { port: port('b5') }] },
      ]],
      ['removals, and priority 0 back', [
        { zone: 'A', weight: 3, endpoints: [{ port: port('b0') }] },
        { zone: 'C', weight: 1, endpoints: [{ port: port('b3') }] },
        { zone: 'D', weight: 1, priority: 1, endpoints: [{ port: port('b4') }] },
      ]],
    ];
    try {
      for (const [what, localities] of scenarios) {
        const applied = nextEvent(follower, 'xds:endpoints');
        cp.set('endpoints', [assignment('oracle-c', localities)]);
        const version = cp.version('endpoints');
        await withTimeout(applied, 15_000, `switchyard applying "${what}"`);
        await withTimeout(cp.waitFor((r) => r.typeUrl === XDS_TYPE_URLS.endpoints && r.answersLast && r.version === version && r.errorDetail === undefined
          && cp.requests.some((q) => q.stream === r.stream && q.node?.id === 'grpc-oracle')), 15_000, () => `grpc-js-xds ACKing "${what}" (${JSON.stringify(cp.requests.filter((q) => cp.requests.some((n) => n.stream === q.stream && n.node?.id === 'grpc-oracle')).map((q) => [q.typeUrl.split('.').pop(), q.version, q.names, q.answersLast, q.errorDetail?.message]))})`);
        const expected = await withTimeout(grpcShares(), 60_000, `gRPC shares for "${what}"`);
        const actual = await withTimeout(switchyardShares(balancer), 60_000, `switchyard shares for "${what}"`);
        t.diagnostic(`${what}: grpc-js-xds ${JSON.stringify(round(expected))} · switchyard ${JSON.stringify(round(actual))}`);
        assert.deepEqual(Object.keys(actual), Object.keys(expected), `${what}: the same endpoints are usable`);
        for (const id of Object.keys(expected)) {
          assert.ok(Math.abs(actual[id]! - expected[id]!) <= TOLERANCE, `${what}: ${id} gets ${actual[id]} with switchyard, ${expected[id]} with gRPC`);
        }
      }
    } finally {
      await follower.close();
      await client.close();
    }
  });
});

function round(s: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(s).map(([k, x]) => [k, Math.round(x * 1000) / 1000]));
}

