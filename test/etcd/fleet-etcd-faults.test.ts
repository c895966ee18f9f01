import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { type PongBackend, pongBackend } from './helpers/backends.js';
import { DelayProxy } from './helpers/delay-proxy.js';
import { FleetChild, closeAll } from './helpers/fleet-child.js';
import type { InstanceConfig } from './helpers/fleet-instance.js';
import { oneProber, until } from './helpers/until.js';

const modeOf = (c: FleetChild): string | undefined => c.events('mode').at(-1)?.['mode'] as string | undefined;

describe('shared health when etcd is down or slow', { skip: ETCD_SKIP, timeout: 180_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function setup(): Promise<{ etcd: EtcdCluster; b1: PongBackend; config: (id: string, hosts?: string[], extra?: Partial<InstanceConfig>) => InstanceConfig }> {
    const etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const b1 = await pongBackend();
    cleanups.push(() => b1.backend.close());
    const config = (identity: string, hosts = etcd.urls, extra: Partial<InstanceConfig> = {}): InstanceConfig => ({
      identity, hosts, pool: 'be', servers: [{ name: 's1', host: '127.0.0.1', port: b1.port }], leaseTtlSeconds: 1, interMs: 200, probe: 'expect', ...extra,
    });
    return { etcd, b1, config };
  }

  async function start(configs: InstanceConfig[]): Promise<FleetChild[]> {
    const fleet: FleetChild[] = [];
    cleanups.push(() => closeAll(fleet));
    for (const c of configs) fleet.push(await FleetChild.start(c));
    return fleet;
  }

  it('etcd down: each instance checks on its own and keeps marking servers down; one prober again once etcd is back', async () => {
    const { etcd, b1, config } = await setup();
    const fleet = await start([config('A'), config('B')]);
    await oneProber(fleet, 's1', 10_000);
    await etcd.members[0]!.stop();
    await until(() => fleet.every((c) => modeOf(c) === 'local'), 15_000, () => `local mode: ${fleet.map(modeOf).join(' ')}`);
    const from = fleet.map((c) => c.lines.length);
    await b1.backend.set('refuse');
    const downs = await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'down' && l['server'] === 's1', 10_000, 's1 down (local)', from[i])));
    assert.deepEqual(downs.map((d) => d['by']), ['A', 'B'], 'each instance marked it down by its own check');

    await etcd.members[0]!.start();
    await until(() => fleet.every((c) => modeOf(c) === 'shared'), 20_000, () => `shared mode: ${fleet.map(modeOf).join(' ')}`);
    const prober = await oneProber(fleet, 's1', 20_000);
    const back = fleet.map((c) => c.lines.length);
    await b1.backend.set('serve');
    const ups = await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'up' && l['server'] === 's1', 10_000, 's1 up (shared)', back[i])));
    assert.deepEqual(ups.map((u) => u['by']), [prober.identity, prober.identity]);
  });

  it('etcd slow: the prober keeps publishing in order while answers come within the lease; past it, another takes over', async () => {
    const { etcd, b1, config } = await setup();
    const slow = await DelayProxy.start(etcd.members[0]!.clientPort, 150); // 300 ms round trips
    cleanups.push(() => slow.close());
    const [a, b] = await start([
      // Spreading off: this test is about A, the first to claim, probing over a slow link.
      config('A', [slow.url], { leaseTtlSeconds: 2, deadlineMs: 4000, spreadProbers: false }),
      config('B', etcd.urls, { leaseTtlSeconds: 2, spreadProbers: false }),
    ]);
    const fleet = [a!, b!];
    assert.equal(await oneProber(fleet, 's1', 15_000), a, 'A claimed first');
    const seen = b!.events('applied', 's1').length;
    await until(() => b!.events('applied', 's1').length >= seen + 10, 20_000, 'ten results of A applied by B');
    const revisions = b!.events('applied', 's1').map((l) => Number(l['revision']));
    assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y), 'applied in revision order');
    assert.equal(new Set(revisions).size, revisions.length, 'none applied twice');
    assert.ok(fleet.every((c) => c.events('mode').every((l) => l['mode'] !== 'local')), 'nobody fell back to local checks');
    assert.equal(a!.events('fenced').length, 0);

    const from = fleet.map((c) => c.lines.length);
    await b1.backend.set('refuse');
    const downs = await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'down' && l['server'] === 's1', 10_000, 's1 down', from[i])));
    assert.deepEqual(downs.map((d) => d['by']), ['A', 'A']);

    slow.delayMs = 5000; // longer than the lease: A cannot keep it
    await a!.waitFor((l) => l.ev === 'mode' && l['mode'] === 'local', 15_000, 'A falls back to local checks');
    await b!.waitFor((l) => l.ev === 'role' && l['server'] === 's1' && l['role'] === 'prober', 15_000, 'B takes over s1');
  });
});
