import assert from 'node:assert/strict';
import { once } from 'node:events';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { faultBackend } from '../../src/testing/fault-backend.js';
import { followXdsCluster } from '../../src/xds/cluster-follower.js';
import { XdsClient } from '../../src/xds/xds-client.js';
import { nextEvent } from '../helpers/list-source.js';
import { withTimeout } from '../helpers/timeout.js';
import { ManagementServer } from './helpers/management-server.js';
import { type TestEndpoint, assignment, bootstrapFor, edsCluster, manyEndpoints } from './helpers/resources.js';

describe('a 10 000-endpoint EDS update', () => {
  it('is applied in one piece while live sessions keep flowing (the time is reported, not asserted: npm run bench:xds measures it)', async (t) => {
    const backends = await Promise.all([faultBackend(), faultBackend()]);
    const cp = await ManagementServer.start();
    const live: TestEndpoint[] = backends.map((b) => ({ port: b.port }));
    cp.set('cluster', [edsCluster('big')]);
    cp.set('endpoints', [assignment('big', [{ endpoints: live }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address) });
    const pool = new Pool('big');
    const follower = followXdsCluster(pool, client, 'big');
    const balancer = new Balancer(pool, { strategy: 'roundrobin' });
    const sessions: net.Socket[] = [];
    try {
      await withTimeout(follower.ready, 15_000, 'the first endpoints');
      for (let i = 0; i < 20; i++) sessions.push(await balancer.connect({ timeoutConnectMs: 2000 }));
      const closed: net.Socket[] = [];
      for (const s of sessions) s.on('close', () => closed.push(s));

      const applied = nextEvent(follower, 'xds:endpoints');
      const started = performance.now();
      cp.set('endpoints', [assignment('big', [{ endpoints: [...live, ...manyEndpoints(9_998)] }])]);
      const sentAt = performance.now();
      await withTimeout(applied, 15_000, 'the 10 000-endpoint update');
      const appliedMs = performance.now() - sentAt;
      t.diagnostic(`encode on the control plane ${(sentAt - started).toFixed(1)} ms; sent → applied to the pool ${appliedMs.toFixed(1)} ms`);
      assert.equal(pool.size, 10_000);

      for (const [i, s] of sessions.entries()) {
        s.write(`still-${i}`);
        const [chunk] = (await withTimeout(once(s, 'data'), 5_000, `session ${i}`)) as [Buffer];
        assert.equal(chunk.toString(), `still-${i}`);
      }
      assert.deepEqual(closed, [], 'no session was dropped');
      assert.equal(backends[0]!.connections + backends[1]!.connections, 20);
    } finally {
      for (const s of sessions) s.destroy();
      await follower.close();
      await client.close();
      cp.stop();
      await Promise.all(backends.map((b) => b.close()));
    }
  });
});
