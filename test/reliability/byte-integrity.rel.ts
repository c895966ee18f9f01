import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import type { ConnectionRecord } from '../../src/proxy/tcp-proxy.js';
import { faultBackend } from '../../src/testing/index.js';
import {
  type BackendResult, destroyClients, proxyUnderTest, WORKERS, expectedHash, integrityClient, integrityHandler, makePlans, MiB, report, SEED, size, track, until, withLoopDelay,
} from './support.js';

/** Connections, all open at once. */
const CONNECTIONS = size(300, 1000);
/** Largest stream each way (see makePlans for the distribution; the maximum itself is drawn). */
const MAX_BYTES = size(4 * MiB, 16 * MiB);
const BACKENDS = 3;
/** Hang guard of the whole run. */
const HANG_GUARD_MS = size(120_000, 1_200_000);

describe('byte integrity through the proxy', () => {
  after(destroyClients);
  it(`relays ${CONNECTIONS} concurrent connections of up to ${MAX_BYTES / MiB} MiB each way, random chunks and pauses, half-close both ways, every byte intact`, { timeout: HANG_GUARD_MS }, async () => {
    const plans = makePlans(CONNECTIONS, MAX_BYTES);
    const atBackends = new Map<number, BackendResult>();
    const handler = integrityHandler(plans, (r) => atBackends.set(r.id, r));
    const backends = await Promise.all(Array.from({ length: BACKENDS }, () => faultBackend({ handler })));
    const pool = new Pool('integrity', { servers: backends.map((b, i) => ({ name: `b${i}`, ...b.address })) });
    const balancer = new Balancer(pool, { strategy: 'leastconn' });
    const proxy = proxyUnderTest(balancer, { timeoutConnectMs: 5000 });
    const records: ConnectionRecord[] = [];
    proxy.on('connection:close', (r) => records.push(r));
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    try {
      const { result: clients, maxMs } = await withLoopDelay(() => Promise.all(plans.map((p) => integrityClient(port, p))));
      await proxy.close();
      await until(() => atBackends.size === CONNECTIONS, () => `backend reports: ${atBackends.size}/${CONNECTIONS}`);

      let bytes = 0;
      for (const c of clients) {
        const p = c.plan;
        const at = atBackends.get(p.id);
        assert.equal(c.error, undefined, `connection ${p.id}: client error ${c.error}`);
        assert.ok(at !== undefined && at.clean, `connection ${p.id}: the backend saw a clean end both ways`);
        assert.equal(at.receivedBytes, p.up, `connection ${p.id}: bytes client→backend`);
        assert.equal(at.receivedHash, c.sentHash, `connection ${p.id}: SHA-256 client→backend`);
        assert.equal(c.receivedBytes, p.down, `connection ${p.id}: bytes backend→client`);
        assert.equal(c.receivedHash, at.sentHash, `connection ${p.id}: SHA-256 backend→client`);
        assert.ok(c.ended, `connection ${p.id}: the client saw the backend's FIN`);
        bytes += p.up + p.down;
      }
      // The hashes the sides computed are the hashes of the planned streams (the generator is checked too).
      for (const p of plans.filter((_, i) => i % 50 === 0)) {
        assert.equal(atBackends.get(p.id)!.receivedHash, expectedHash(p.upOffset, p.up));
        assert.equal(atBackends.get(p.id)!.sentHash, expectedHash(p.downOffset, p.down));
      }
      assert.equal(records.length, CONNECTIONS);
      const byId = new Map(records.map((r) => [r.clientPort, r]));
      assert.equal(byId.size, CONNECTIONS);
      for (const r of records) assert.equal(r.termination, '--', `termination of a clean connection: ${r.termination}`);
      const stats = await proxy.stats();
      assert.equal(stats.bytesIn, plans.reduce((n, p) => n + 8 + p.up, 0));
      assert.equal(stats.bytesOut, plans.reduce((n, p) => n + p.down, 0));
      const orders = { 'client-first': 0, 'server-first': 0, both: 0 };
      for (const p of plans) orders[p.order]++;
      report('byte-integrity', {
        workers: WORKERS, seed: SEED, connections: CONNECTIONS, maxBytes: MAX_BYTES, bytes, largest: Math.max(...plans.map((p) => Math.max(p.up, p.down))),
        halfClose: orders, lost: 0, corrupted: 0, loopDelayMaxMs: Math.round(maxMs),
      });
    } finally {
      await proxy.destroy();
      balancer.destroy();
      await Promise.all(backends.map((b) => b.close()));
    }
  });
});
