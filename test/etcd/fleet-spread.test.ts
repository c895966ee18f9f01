import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { FleetHealth } from '../../src/etcd/index.js';
import { preferredProber } from '../../src/etcd/prober-preference.js';
import { Pool } from '../../src/pool.js';
import { type FaultBackend, faultBackend } from '../../src/testing/index.js';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { until } from './helpers/until.js';

const SERVERS = ['web1', 'web2', 'web3', 'web4', 'web5', 'web6'];

/** Three instances in one process (each with its own client and lease) balancing six servers. */
describe('spreading the probing over the instances', { skip: ETCD_SKIP, timeout: 60_000 }, () => {
  let etcd: EtcdCluster;
  let backend: FaultBackend;
  const closers: (() => unknown)[] = [];
  before(async () => {
    etcd = await startEtcd();
    backend = await faultBackend();
  });
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await backend?.close();
    await etcd?.stop();
  });

  function instance(identity: string, spreadProbers = true, poolName = 'spread'): FleetHealth {
    const client = new Etcd3({ hosts: etcd.urls, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }) });
    closers.push(() => client.close());
    const pool = new Pool(poolName, { servers: SERVERS.map((name) => ({ name, host: '127.0.0.1', port: backend.port, check: true })) });
    const fleet = new FleetHealth(pool, { client, identity, leaseTtlSeconds: 2, spreadProbers, checker: { interMs: 150 } });
    closers.push(() => fleet.close());
    return fleet;
  }

  /** Server → the one instance probing it, once every server has exactly one prober and the others follow it. */
  const probers = (fleets: readonly FleetHealth[]): Map<string, string> | undefined => {
    const out = new Map<string, string>();
    for (const s of SERVERS) {
      const roles = fleets.map((f) => f.role(s));
      const p = fleets.filter((f) => f.role(s) === 'prober');
      if (p.length !== 1 || roles.some((r) => r !== 'prober' && r !== 'follower')) return undefined;
      out.set(s, p[0]!.identity);
    }
    return out;
  };
  const preferred = (members: readonly string[]): Map<string, string> => new Map(SERVERS.map((s) => [s, preferredProber(s, members)!]));
  const same = (a: Map<string, string> | undefined, b: Map<string, string>): boolean => a !== undefined && [...b].every(([k, v]) => a.get(k) === v);

  it('each server ends with its preferred prober, though the first instance claimed them all; a leaving one\'s servers alone move', async () => {
    const a = instance('A');
    await a.ready();
    await until(() => SERVERS.every((s) => a.role(s) === 'prober'), 10_000, 'A, alone, probes every server');
    const b = instance('B');
    const c = instance('C');
    await Promise.all([b.ready(), c.ready()]);
    const fleet = [a, b, c];
    const want = preferred(['A', 'B', 'C']);
    assert.ok(new Set(want.values()).size === 3, 'these names spread over all three');
    await until(() => same(probers(fleet), want), 15_000, () => `preferred probers: ${JSON.stringify([...(probers(fleet) ?? [])])}`);
    assert.deepEqual(fleet.map((f) => f.stats().probing), fleet.map((f) => [...want.values()].filter((p) => p === f.identity).length));
    assert.deepEqual(a.members(), ['A', 'B', 'C']);

    // C leaves: only its servers get a new prober, each its preferred one among A and B.
    const changes: string[] = [];
    for (const f of [a, b]) f.on('prober:change', (server) => changes.push(server));
    await c.close();
    const next = preferred(['A', 'B']);
    await until(() => same(probers([a, b]), next), 15_000, () => `after C left: ${JSON.stringify([...(probers([a, b]) ?? [])])}`);
    const moved = SERVERS.filter((s) => want.get(s) === 'C');
    assert.deepEqual([...new Set(changes)].sort(), moved.sort(), 'no server of A or B changed hands');
  });

  it('with spreadProbers off, the first instance to claim keeps every server', async () => {
    const d = instance('D', false, 'first-keeps');
    await d.ready();
    await until(() => SERVERS.every((s) => d.role(s) === 'prober') && d.stats().published >= SERVERS.length * 2, 10_000, 'D probes every server');
    const e = instance('E', false, 'first-keeps');
    await e.ready();
    await until(() => SERVERS.every((s) => e.role(s) === 'follower'), 10_000, 'E follows every server');
    // Some results later, D still probes them all.
    const published = d.stats().published;
    await until(() => d.stats().published >= published + SERVERS.length * 2, 10_000, 'two more rounds');
    assert.ok(SERVERS.every((s) => d.role(s) === 'prober' && e.role(s) === 'follower'));
  });
});
