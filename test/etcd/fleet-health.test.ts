import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { type PongBackend, pongBackend } from './helpers/backends.js';
import { FleetChild, closeAll } from './helpers/fleet-child.js';
import type { InstanceConfig } from './helpers/fleet-instance.js';
import { oneProber, until } from './helpers/until.js';

const TTL_S = 2;
const INTER_MS = 200;

describe('shared health over etcd (three instances as processes)', { skip: ETCD_SKIP, timeout: 120_000 }, () => {
  let etcd: EtcdCluster;
  let b1: PongBackend;
  let b2: PongBackend;
  const fleet: FleetChild[] = [];
  const config = (identity: string): InstanceConfig => ({
    identity,
    hosts: etcd.urls,
    pool: 'be',
    servers: [
      { name: 's1', host: '127.0.0.1', port: b1.port },
      { name: 's2', host: '127.0.0.1', port: b2.port },
    ],
    leaseTtlSeconds: TTL_S,
    interMs: INTER_MS,
    probe: 'expect',
  });

  before(async () => {
    etcd = await startEtcd();
    b1 = await pongBackend();
    b2 = await pongBackend();
    for (const id of ['A', 'B', 'C']) fleet.push(await FleetChild.start(config(id)));
  });
  after(async () => {
    await closeAll(fleet);
    await Promise.allSettled([b1?.backend.close(), b2?.backend.close()]);
    await etcd?.stop();
  });

  it('elects one prober per server, and only that instance probes it', async () => {
    for (const server of ['s1', 's2']) {
      const prober = await oneProber(fleet, server, 10_000);
      const from = fleet.map((c) => c.lines.length);
      await prober.waitFor((l) => l.ev === 'probe' && l['server'] === server, 5000, `a probe of ${server}`, from[fleet.indexOf(prober)]);
      // Ten more published results of the prober; in that time no other instance probed the server.
      const start = prober.events('published', server).length;
      await until(() => prober.events('published', server).length >= start + 10, 10_000, `10 results of ${server}`);
      for (const [i, c] of fleet.entries()) {
        if (c === prober) continue;
        const probes = c.lines.slice(from[i]).filter((l) => l.ev === 'probe' && l['server'] === server);
        assert.equal(probes.length, 0, `${c.identity} probed ${server} while ${prober.identity} was its prober`);
      }
    }
  });

  it('applies the prober\'s results everywhere: same transitions, same log lines, the prober named in the event', async () => {
    const prober = await oneProber(fleet, 's1', 10_000);
    const from = fleet.map((c) => c.lines.length);
    await b1.backend.set('refuse');
    const downs = await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'down' && l['server'] === 's1', 10_000, 's1 down', from[i])));
    for (const d of downs) assert.equal(d['by'], prober.identity);
    const logs = (await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'log' && String(l['line']).startsWith('Server be/s1 is DOWN'), 5000, 'the DOWN log line', from[i])))).map((l) => l['line']);
    assert.ok(logs[0], 'a DOWN log line');
    assert.deepEqual(logs, [logs[0], logs[0], logs[0]]);
    // Each instance's counter went through the same applied results, in the same revision order.
    await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'applied' && l['server'] === 's1' && l['state'] === 'DOWN', 5000, 'the applied line of the DOWN', from[i])));
    // Compared by revision: a result published just before `from` was taken may be applied by a slower instance
    // after it (CI once saw one instance start at revision 78, the others at 80).
    const applied = fleet.map((c, i) => c.lines.slice(from[i]).filter((l) => l.ev === 'applied' && l['server'] === 's1').map((l) => ({ revision: Number(l['revision']), state: String(l['state']) })));
    for (const a of applied) assert.deepEqual(a.map((x) => x.revision), a.map((x) => x.revision).sort((x, y) => x - y), 'applied in revision order');
    const states = applied.map((a) => new Map(a.map((x) => [x.revision, x.state])));
    const common = [...states[0]!.keys()].filter((r) => states.every((m) => m.has(r)));
    assert.ok(common.length >= 2, `at least two results applied by every instance: ${JSON.stringify(applied)}`);
    assert.ok(common.some((r) => states[0]!.get(r) === 'DOWN'), 'the DOWN among them');
    for (const m of states) assert.deepEqual(common.map((r) => `${r} ${m.get(r)}`), common.map((r) => `${r} ${states[0]!.get(r)}`));

    const back = fleet.map((c) => c.lines.length);
    await b1.backend.set('serve');
    const ups = await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'up' && l['server'] === 's1', 10_000, 's1 up', back[i])));
    for (const u of ups) assert.equal(u['by'], prober.identity);
  });

  it('hands a killed prober\'s servers to another instance within lease TTL + inter', async () => {
    const prober = await oneProber(fleet, 's2', 10_000);
    const others = fleet.filter((c) => c !== prober);
    const from = others.map((c) => c.lines.length);
    await prober.kill();
    const next = await oneProber(others, 's2', (TTL_S * 1000 + INTER_MS) * 5);
    assert.notEqual(next, prober);
    // Every remaining instance applies a result of the new prober.
    await Promise.all(others.map((c, i) => c.waitFor((l) => l.ev === 'applied' && l['server'] === 's2' && l['by'] === next.identity, 10_000, `a result of ${next.identity}`, from[i])));
  });
});
