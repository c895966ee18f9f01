import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { Pool } from '../../src/pool.js';
import { faultBackend } from '../../src/testing/fault-backend.js';
import { followXdsCluster } from '../../src/xds/cluster-follower.js';
import { LoadReporter } from '../../src/xds/load-reporter.js';
import { XdsClient } from '../../src/xds/xds-client.js';
import { withTimeout } from '../helpers/timeout.js';
import { ManagementServer, type RecordedLoadReport } from './helpers/management-server.js';
import { assignment, bootstrapFor, edsCluster } from './helpers/resources.js';

describe('LRS load reporting', () => {
  it('reports per-locality connection attempts, errors and open connections on the interval the server asks for', async () => {
    const live = await faultBackend();
    const dead = await faultBackend();
    const deadPort = dead.port;
    await dead.close();
    const cp = await ManagementServer.start();
    cp.lrsIntervalMs = 5000;
    cp.set('cluster', [edsCluster('lrs', { extra: { lrs_server: { self: {} } } })]);
    cp.set('endpoints', [assignment('lrs', [{ zone: 'up', endpoints: [{ port: live.port }] }, { zone: 'down', endpoints: [{ port: deadPort }] }])]);
    const clock = new ManualClock();
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address, 'lrs-node'), clock });
    const pool = new Pool('lrs', { clock });
    const follower = followXdsCluster(pool, client, 'lrs');
    const balancer = new Balancer(pool, { strategy: 'roundrobin' });
    const reporter = new LoadReporter(client, follower, { clock });
    try {
      await withTimeout(follower.ready, 10_000, 'the endpoints');
      assert.equal(follower.cluster?.loadReporting, true);
      // The first request carries the node; the server answers with its interval and a timer starts.
      await withTimeout(new Promise<void>((resolve) => (cp.loadReports.length > 0 ? resolve() : cp.once('load-report', () => resolve()))), 10_000, 'the LRS hello');
      assert.equal((cp.loadReports[0]!.node as { id: string }).id, 'lrs-node');
      const timerSet = (): boolean => clock.pending > 0;
      for (let i = 0; i < 100 && !timerSet(); i++) await new Promise((r) => setImmediate(r));
      assert.ok(timerSet(), 'the report timer runs on the injected clock');
      const open = [];
      for (let i = 0; i < 4; i++) {
        try {
          open.push(await balancer.connect({ timeoutConnectMs: 2000, retries: 0, observer: reporter }));
        } catch {
          // the dead backend refuses: an error for locality "down"
        }
      }
      const report = new Promise<RecordedLoadReport>((resolve) => cp.once('load-report', resolve));
      clock.advance(5000);
      const r = await withTimeout(report, 10_000, 'a load report');
      const stats = r.clusterStats[0] as { cluster_name: string; upstream_locality_stats: { locality: { zone: string }; total_successful_requests: unknown; total_error_requests: unknown; total_issued_requests: unknown; total_requests_in_progress: unknown }[]; load_report_interval: { seconds: unknown } };
      assert.equal(stats.cluster_name, 'lrs');
      const byZone = Object.fromEntries(stats.upstream_locality_stats.map((l) => [l.locality.zone, [Number(l.total_issued_requests), Number(l.total_successful_requests), Number(l.total_error_requests), Number(l.total_requests_in_progress)]]));
      assert.deepEqual(byZone, { up: [2, 2, 0, 2], down: [2, 0, 2, 0] });
      assert.equal(Number(stats.load_report_interval.seconds), 5);
      for (const s of open) s.destroy();
    } finally {
      await reporter.close();
      await follower.close();
      await client.close();
      cp.stop();
      await live.close();
    }
  });
});
