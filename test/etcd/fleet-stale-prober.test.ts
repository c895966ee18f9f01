import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { after, afterEach, describe, it } from 'node:test';
import { FleetKeys } from '../../src/etcd/index.js';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { type PongBackend, pongBackend } from './helpers/backends.js';
import { FleetChild, closeAll } from './helpers/fleet-child.js';
import type { InstanceConfig } from './helpers/fleet-instance.js';
import { oneProber } from './helpers/until.js';

describe('fencing and ordering: a paused prober, skewed clocks', { skip: ETCD_SKIP, timeout: 180_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  afterEach(cleanup);
  after(cleanup);

  async function setup(replyDelayMs: number): Promise<{ etcd: EtcdCluster; b1: PongBackend; config: (id: string, extra?: Partial<InstanceConfig>) => InstanceConfig }> {
    const etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const b1 = await pongBackend(replyDelayMs);
    cleanups.push(() => b1.backend.close());
    const config = (identity: string, extra: Partial<InstanceConfig> = {}): InstanceConfig => ({
      identity, hosts: etcd.urls, pool: 'be', servers: [{ name: 's1', host: '127.0.0.1', port: b1.port }], leaseTtlSeconds: 1, interMs: 1000, probe: 'expect', ...extra,
    });
    return { etcd, b1, config };
  }

  async function readResult(etcd: EtcdCluster): Promise<Record<string, unknown>> {
    const client = new Etcd3({ hosts: etcd.urls });
    try {
      return JSON.parse((await client.get(new FleetKeys('switchyard/health/', 'be').result('s1')).string())!) as Record<string, unknown>;
    } finally {
      client.close();
    }
  }

  it('a prober paused past its lease publishes on waking: etcd refuses the write, nobody applies it', async () => {
    // The backend answers 300 ms after the probe connects: the pause lands while A's probe is in flight, and the
    // answer is waiting in A's socket when it wakes, so A publishes before it can notice its lease is gone.
    const { etcd, config } = await setup(300);
    // Spreading off: A, the first to claim, stays the prober until it is paused.
    const a = await FleetChild.start(config('A', { spreadProbers: false }));
    cleanups.push(() => a.close());
    await oneProber([a], 's1', 10_000);
    const b = await FleetChild.start(config('B', { spreadProbers: false }));
    cleanups.push(() => b.close());
    await b.waitFor((l) => l.ev === 'applied' && l['by'] === 'A', 10_000, 'B applies a result of A');

    await a.waitFor((l) => l.ev === 'probe', 10_000, 'a probe by A in flight', a.lines.length);
    a.pause();
    const takeover = await b.waitFor((l) => l.ev === 'role' && l['server'] === 's1' && l['role'] === 'prober', 10_000, 'B takes over s1');
    const takeoverIndex = b.lines.indexOf(takeover);
    await b.waitFor((l) => l.ev === 'applied' && l['by'] === 'B', 10_000, 'B applies its own first result', takeoverIndex);

    const woke = a.lines.length;
    a.resume();
    const fenced = await a.waitFor((l) => l.ev === 'fenced' && l['server'] === 's1', 10_000, 'A\'s stale write refused', woke);
    assert.equal(a.lines.slice(woke).filter((l) => l.ev === 'published').length, 0, 'A published nothing after waking');
    // Give A's stale write every chance to show up, then check that nobody applied anything of A since the takeover.
    await b.waitFor((l) => l.ev === 'applied' && l['by'] === 'B', 10_000, 'a later result of B', b.lines.length);
    assert.deepEqual(b.lines.slice(takeoverIndex).filter((l) => l.ev === 'applied' && l['by'] !== 'B'), []);
    assert.equal((await readResult(etcd))['by'], 'B');
    assert.ok(Number(fenced['term']) < Number(b.events('published', 's1').at(-1)!['term']), 'the fenced write carried the old term');
    await a.waitFor((l) => l.ev === 'role' && l['server'] === 's1' && l['role'] !== 'prober', 10_000, 'A gives up s1', woke);
  });

  it('orders results by etcd revision, never by clocks: instances an hour apart agree', async () => {
    const { etcd, b1, config } = await setup(0);
    const hour = 3_600_000;
    const fleet: FleetChild[] = [];
    cleanups.push(() => closeAll(fleet));
    // Spreading off: 'ahead', the first to claim, stays the prober until it is killed.
    fleet.push(await FleetChild.start(config('ahead', { skewMs: hour, interMs: 200, spreadProbers: false })));
    await oneProber(fleet, 's1', 10_000);
    fleet.push(await FleetChild.start(config('behind', { skewMs: -hour, interMs: 200, spreadProbers: false })));
    fleet.push(await FleetChild.start(config('exact', { interMs: 200, spreadProbers: false })));
    const [ahead, behind, exact] = fleet as [FleetChild, FleetChild, FleetChild];
    await Promise.all([behind, exact].map((c) => c.waitFor((l) => l.ev === 'applied' && l['by'] === 'ahead', 10_000, 'a result of the prober an hour ahead')));

    await ahead.kill();
    const next = await oneProber([behind, exact], 's1', 10_000);
    const from = [behind, exact].map((c) => c.lines.length);
    await b1.backend.set('refuse');
    const downs = await Promise.all([behind, exact].map((c, i) => c.waitFor((l) => l.ev === 'down' && l['server'] === 's1', 10_000, 's1 down', from[i])));
    assert.deepEqual(downs.map((d) => d['by']), [next.identity, next.identity], 'the new prober\'s results apply after those of a clock an hour ahead');
    for (const c of [behind, exact]) {
      const revisions = c.events('applied', 's1').map((l) => Number(l['revision']));
      assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y));
    }
    // What is published carries revisions and counters, no time of day.
    assert.deepEqual(Object.keys(await readResult(etcd)).sort(), ['addr', 'by', 'fall', 'health', 'result', 'rise', 'seq', 'term', 'up', 'v']);
  });
});
