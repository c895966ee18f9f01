import assert from 'node:assert/strict';
import { once } from 'node:events';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import type { DiscoveryChange } from '../../src/discovery/follow-servers.js';
import { Pool } from '../../src/pool.js';
import { type FaultBackend, faultBackend } from '../../src/testing/fault-backend.js';
import type { XdsCluster } from '../../src/xds/cds.js';
import { followXdsCluster } from '../../src/xds/cluster-follower.js';
import type { MappedEndpoint } from '../../src/xds/endpoint-mapping.js';
import { XdsClient } from '../../src/xds/xds-client.js';
import { XDS_TYPE_URLS, type XdsConnectionDetail, type XdsConnectionState } from '../../src/xds/xds-events.js';
import { nextEvent } from '../helpers/list-source.js';
import { withTimeout } from '../helpers/timeout.js';
import { ManagementServer } from './helpers/management-server.js';
import { type TestEndpoint, assignment, bootstrapFor, edsCluster } from './helpers/resources.js';

const guard = <T>(p: Promise<T>, what: string): Promise<T> => withTimeout(p, 15_000, what);
const endpointsApplied = (f: ReturnType<typeof followXdsCluster>): Promise<[DiscoveryChange, readonly MappedEndpoint[]]> =>
  nextEvent<[DiscoveryChange, readonly MappedEndpoint[]]>(f, 'xds:endpoints');
const names = (servers: readonly { name: string }[]): string[] => servers.map((s) => s.name).sort();

/** One round trip through a balanced socket: write, read the echo, end. */
async function roundTrip(balancer: Balancer, payload: string): Promise<string> {
  const socket: net.Socket = await balancer.connect({ timeoutConnectMs: 2000 });
  socket.write(payload);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.end();
  return chunk.toString();
}

describe('following an xDS cluster into a Pool', () => {
  let server: ManagementServer;
  before(async () => {
    server = await ManagementServer.start();
  });
  after(() => server.stop());

  it('takes the strategy and connect timeout from CDS and servers, weights, health and priorities from EDS', async () => {
    const ep = (port: number, e: Partial<TestEndpoint> = {}): TestEndpoint => ({ host: '127.0.0.1', port, ...e });
    server.set('cluster', [edsCluster('follow', { lbPolicy: 'LEAST_REQUEST', connectTimeoutMs: 250, serviceName: 'follow-eds' })]);
    server.set('endpoints', [assignment('follow-eds', [{ endpoints: [ep(8001, { weight: 2 }), ep(8002), ep(8003)] }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(server.address) });
    const pool = new Pool('follow', { clock: new ManualClock() });
    const follower = followXdsCluster(pool, client, 'follow');
    try {
      const [cluster] = await guard(nextEvent<[XdsCluster]>(follower, 'xds:cluster'), 'the cluster');
      assert.equal(cluster.strategy, 'p2c');
      assert.equal(cluster.connectTimeoutMs, 250);
      assert.equal(cluster.edsServiceName, 'follow-eds');
      await guard(follower.ready, 'the first endpoints');
      assert.deepEqual(names(pool.servers), ['127.0.0.1:8001', '127.0.0.1:8002', '127.0.0.1:8003']);
      assert.equal(pool.get('127.0.0.1:8001').weight, 2);
      assert.equal(follower.origin('127.0.0.1:8001')?.locality, 'test/a/');
      assert.deepEqual(pool.get('127.0.0.1:8001').tags, { 'xds.cluster': 'follow-eds', locality: 'test/a/' });
      assert.equal(pool.tiered, true, 'Envoy\'s panic threshold (50 %) applies when the cluster sets none');

      // Health and priority: 8002 unhealthy, 8003 draining, 8004 joins at priority 1.
      let applied = endpointsApplied(follower);
      server.set('endpoints', [assignment('follow-eds', [
        { endpoints: [ep(8001, { weight: 2 }), ep(8002, { health: 'UNHEALTHY' }), ep(8003, { health: 'DRAINING' })] },
        { zone: 'b', priority: 1, endpoints: [ep(8004)] },
      ])]);
      await guard(applied, 'the health update');
      assert.deepEqual(names(pool.activeUsable), ['127.0.0.1:8001', '127.0.0.1:8004']);
      assert.deepEqual(Object.fromEntries(pool.get('127.0.0.1:8002').holds), { xds: 'out' });
      assert.deepEqual(Object.fromEntries(pool.get('127.0.0.1:8003').holds), { xds: 'drain' });
      assert.equal(pool.get('127.0.0.1:8002').adminState, 'ready', 'the control plane leaves the admin state to the operator');
      assert.equal(pool.get('127.0.0.1:8004').priority, 1);
      assert.equal(pool.get('127.0.0.1:8004').tags.locality, 'test/b/');
      // Priority 0: 8001 usable, 8002 held out (counted), 8003 draining (not counted): health ⌊1.4 × 1/2⌋ = 70 %,
      // the other 30 % spill to priority 1 (Envoy's overprovisioning factor).
      assert.deepEqual(pool.tiers.map((t) => [t.priority, t.loadPercent, t.panic]), [[0, 70, false], [1, 30, false]]);

      // An operator's own drain survives the control plane saying healthy; the control plane's holds lift.
      pool.setAdminState('127.0.0.1:8001', 'drain');
      applied = endpointsApplied(follower);
      server.set('endpoints', [assignment('follow-eds', [{ endpoints: [ep(8001, { weight: 2 }), ep(8002), ep(8003)] }])]);
      const [change] = await guard(applied, 'the recovery');
      assert.equal(pool.get('127.0.0.1:8001').adminState, 'drain', 'the operator\'s drain stays');
      assert.equal(pool.get('127.0.0.1:8002').hold, undefined);
      assert.equal(pool.get('127.0.0.1:8003').hold, undefined);
      assert.deepEqual(names(pool.activeUsable), ['127.0.0.1:8002', '127.0.0.1:8003']);
      assert.deepEqual(names(change.removed), ['127.0.0.1:8004']);
      assert.equal(pool.find('127.0.0.1:8004'), undefined);

      // A server added while the control plane holds it is never usable to the strategies, not even for a moment.
      const seenUsable: string[] = [];
      pool.on('server:lb', (s) => {
        if (s.usable) seenUsable.push(s.name);
      });
      pool.on('pool:lb', (changes) => {
        for (const s of changes.keys()) if (s.usable) seenUsable.push(s.name);
      });
      applied = endpointsApplied(follower);
      server.set('endpoints', [assignment('follow-eds', [{ endpoints: [ep(8001, { weight: 2 }), ep(8002), ep(8003), ep(8005, { health: 'DRAINING' }), ep(8006, { health: 'TIMEOUT' })] }])]);
      await guard(applied, 'the held additions');
      assert.deepEqual(seenUsable, []);
      assert.equal(pool.get('127.0.0.1:8005').hold, 'drain');
      assert.equal(pool.get('127.0.0.1:8006').hold, 'out');
    } finally {
      await follower.close();
      await client.close();
    }
  });

  it('makes a server usable only when the control plane and the local checks both say so', async () => {
    const a = '127.0.0.1:8101';
    const b = '127.0.0.1:8102';
    const eds = (bHealth: NonNullable<TestEndpoint['health']>): void => server.set('endpoints', [assignment('both', [{ endpoints: [{ port: 8101 }, { port: 8102, health: bHealth }] }])]);
    server.set('cluster', [edsCluster('both')]);
    eds('HEALTHY');
    const client = new XdsClient({ bootstrap: bootstrapFor(server.address) });
    const pool = new Pool('both', { clock: new ManualClock() });
    const follower = followXdsCluster(pool, client, 'both', { defaults: { check: true, rise: 1, fall: 1 } });
    try {
      await guard(follower.ready, 'the endpoints');
      assert.deepEqual(names(pool.activeUsable), [a, b]);
      // Local check fails, control plane says healthy: not usable.
      pool.reportCheck(pool.get(a), { status: 'L4CON' });
      assert.deepEqual(names(pool.activeUsable), [b]);
      // Control plane says unhealthy, local check passes: not usable.
      let applied = endpointsApplied(follower);
      eds('UNHEALTHY');
      await guard(applied, 'b unhealthy');
      pool.reportCheck(pool.get(b), { status: 'L4OK' });
      assert.deepEqual(names(pool.activeUsable), []);
      // The control plane's word alone does not bring back a server its checks took down.
      applied = endpointsApplied(follower);
      eds('HEALTHY');
      await guard(applied, 'b healthy');
      assert.deepEqual(names(pool.activeUsable), [b]);
      pool.reportCheck(pool.get(a), { status: 'L4OK' });
      assert.deepEqual(names(pool.activeUsable), [a, b]);
    } finally {
      await follower.close();
      await client.close();
    }
  });

  it('keeps serving with no connection error while the control plane is killed and restarted mid-traffic, then resubscribes', async () => {
    const backends: FaultBackend[] = await Promise.all([faultBackend(), faultBackend(), faultBackend()]);
    const cp = await ManagementServer.start();
    const clock = new ManualClock();
    const eps = (ports: number[]): Record<string, unknown> => assignment('live', [{ endpoints: ports.map((port) => ({ port })) }]);
    cp.set('cluster', [edsCluster('live')]);
    cp.set('endpoints', [eps([backends[0]!.port, backends[1]!.port])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address), clock, random: () => 0.5 });
    const pool = new Pool('live', { allBackups: true });
    const follower = followXdsCluster(pool, client, 'live');
    const balancer = new Balancer(pool, { strategy: 'roundrobin' });
    const errors: unknown[] = [];
    let ok = 0;
    const traffic = async (n: number): Promise<void> => {
      await Promise.all(Array.from({ length: n }, async (_, i) => {
        try {
          const echoed = await roundTrip(balancer, `ping-${i}`);
          if (echoed === `ping-${i}`) ok++;
          else errors.push(new Error(`echo mismatch: ${echoed}`));
        } catch (err) {
          errors.push(err);
        }
      }));
    };
    let session: net.Socket | undefined;
    try {
      await guard(follower.ready, 'the first endpoints');
      // A long-lived session that must survive everything below.
      session = await balancer.connect({ timeoutConnectMs: 2000 });
      await traffic(20);
      const version = client.version('endpoints');

      const down = nextEvent<[XdsConnectionState, XdsConnectionDetail]>(client, 'xds:connection');
      cp.stop();
      await guard(down, 'the disconnection');
      await traffic(20);
      assert.deepEqual(names(pool.servers), names([{ name: `127.0.0.1:${backends[0]!.port}` }, { name: `127.0.0.1:${backends[1]!.port}` }]), 'the last set is kept');
      // Failed reconnections while the control plane is down, each followed by more traffic.
      for (let i = 0; i < 3; i++) {
        const failed = new Promise<XdsConnectionDetail>((resolve) => {
          const on = (s: XdsConnectionState, d: XdsConnectionDetail): void => {
            if (s !== 'disconnected') return;
            client.off('xds:connection', on);
            resolve(d);
          };
          client.on('xds:connection', on);
        });
        clock.advance(clock.pending > 0 ? 60_000 : 0);
        await guard(failed, `failed reconnection ${i}`);
        await traffic(10);
      }

      const before = cp.requests.length;
      await cp.listen();
      const resubscribed = cp.waitFor((r) => cp.requests.indexOf(r) >= before && r.typeUrl === XDS_TYPE_URLS.endpoints);
      clock.advance(60_000);
      const req = await guard(resubscribed, 'the resubscription');
      assert.equal(req.version, version, 'resubscribed with the last accepted version');
      assert.deepEqual(req.names, ['live']);

      // The restarted control plane moves traffic to a third backend.
      const applied = endpointsApplied(follower);
      cp.set('endpoints', [eps([backends[1]!.port, backends[2]!.port])]);
      await guard(applied, 'the update after the restart');
      await traffic(20);
      assert.ok(backends[2]!.accepted > 0, 'the new backend takes traffic');
      assert.deepEqual(errors, [], 'no connection error for users of the pool');
      assert.equal(ok, 90);
      session.write('still-there');
      const [chunk] = (await guard(once(session, 'data'), 'the long-lived session')) as [Buffer];
      assert.equal(chunk.toString(), 'still-there', 'the live session survived the outage and the update');
    } finally {
      session?.destroy();
      await follower.close();
      await client.close();
      cp.stop();
      await Promise.all(backends.map((b) => b.close()));
    }
  });
});
