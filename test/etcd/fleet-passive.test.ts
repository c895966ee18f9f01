import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { FleetHealth } from '../../src/etcd/index.js';
import { Pool } from '../../src/pool.js';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { type PongBackend, pongBackend } from './helpers/backends.js';
import { until } from './helpers/until.js';

/** Two instances in one process (each with its own client and lease): passive observation stays local, and can ask the prober to check. */
describe('passive observation in a fleet', { skip: ETCD_SKIP, timeout: 60_000 }, () => {
  let etcd: EtcdCluster;
  let b1: PongBackend;
  const clients: Etcd3[] = [];
  const fleets: FleetHealth[] = [];
  before(async () => {
    etcd = await startEtcd();
    b1 = await pongBackend();
  });
  after(async () => {
    for (const f of fleets) await f.close();
    for (const c of clients) c.close();
    await b1?.backend.close();
    await etcd?.stop();
  });

  function instance(identity: string, publishPassive: boolean): { pool: Pool; fleet: FleetHealth } {
    const client = new Etcd3({ hosts: etcd.urls, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }) });
    clients.push(client);
    const pool = new Pool('pp', { servers: [{ name: 's1', host: '127.0.0.1', port: b1.port, check: true, rise: 2, fall: 3 }] });
    // A long interval: any check after the first one within the test's bound was asked for.
    // Spreading off: A, the first to claim, stays the prober.
    const fleet = new FleetHealth(pool, { client, identity, leaseTtlSeconds: 2, publishPassive, spreadProbers: false, checker: { interMs: 60_000 } });
    fleets.push(fleet);
    return { pool, fleet };
  }

  it('a follower\'s error limit lowers only its own counter, and with publishPassive makes the prober check at once', async () => {
    const a = instance('A', false);
    await a.fleet.ready();
    await until(() => a.fleet.role('s1') === 'prober' && a.fleet.stats().published >= 1, 10_000, 'A probes s1');
    const b = instance('B', true);
    await b.fleet.ready();
    await until(() => b.fleet.role('s1') === 'follower', 10_000, 'B follows');
    const publishedBefore = a.fleet.stats().published;
    const healthA = a.pool.get('s1').health;
    const healthB = b.pool.get('s1').health;

    b.pool.reportErrorLimit(b.pool.get('s1'), 'fail-check', { status: 'HANA', info: 'Detected 10 consecutive errors, last one was: L4 unsuccessful connection' });
    assert.equal(b.pool.get('s1').health, healthB - 1, 'the local counter took the passive failure');
    assert.equal(a.pool.get('s1').health, healthA, 'no other instance did');
    await until(() => a.fleet.stats().published > publishedBefore, 5000, 'the prober checked on the report, long before its interval');
    await until(() => b.pool.get('s1').health === healthB, 5000, 'B applied the prober\'s passing result on top of its own verdict');
  });
});
