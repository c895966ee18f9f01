/**
 * Figures of shared health over etcd (`switchyard-lb/etcd`), measured (not asserted) with real processes on
 * loopback, each instance a process of its own (test/etcd/helpers/fleet-instance.ts):
 *   npm run bench:fleet        (node --import tsx bench/fleet.ts)
 * 1. probes per second reaching a backend with 5 instances, sharing vs. each checking alone (etcd unreachable);
 * 2. time from a backend's death to every instance marking it down;
 * 3. time for another instance to take over after the prober is SIGKILLed;
 * 4. connections sent to a server the fleet had marked down by an instance restarting (and without restoreState);
 * 5. how 10 servers' probing spreads over 5 instances (spreadProbers), and how long that takes to settle.
 * Every process it starts is stopped by PID before it exits. Needs Debian's etcd (apt-get install etcd-server).
 */
import { preferredProber } from '../src/etcd/prober-preference.js';
import { type FaultBackend, faultBackend } from '../src/testing/index.js';
import { type PongBackend, pongBackend } from '../test/etcd/helpers/backends.js';
import { FleetChild, closeAll } from '../test/etcd/helpers/fleet-child.js';
import type { InstanceConfig } from '../test/etcd/helpers/fleet-instance.js';
import { oneProber, roleOf, until } from '../test/etcd/helpers/until.js';
import { ETCD_SKIP, startEtcd } from '../test/helpers/servers/etcd.js';
import { freePort } from '../test/helpers/servers/process.js';

if (ETCD_SKIP) {
  console.log(ETCD_SKIP);
  process.exit(0);
}
const INTER_MS = 200;
const TTL_S = 1;
const N = 5;
const etcd = await startEtcd();
const check1: PongBackend = await pongBackend();
const check2: PongBackend = await pongBackend();
const data2: FaultBackend = await faultBackend();
const data2Accepted: number[] = [];
data2.on('connection', () => data2Accepted.push(performance.now()));
const fleet: FleetChild[] = [];
const config = (identity: string, extra: Partial<InstanceConfig> = {}): InstanceConfig => ({
  identity, hosts: etcd.urls, pool: 'be',
  servers: [
    { name: 's1', host: '127.0.0.1', port: check1.port },
    { name: 's2', host: '127.0.0.1', port: data2.port, checkPort: check2.port },
  ],
  leaseTtlSeconds: TTL_S, interMs: INTER_MS, probe: 'expect', ...extra,
});
const ms = (x: number): string => `${Math.round(x)} ms`;
const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${ms(s[Math.floor(s.length / 2)]!)}, min ${ms(s[0]!)}, max ${ms(s[s.length - 1]!)} (n=${s.length})`;
};

try {
  for (let i = 1; i <= N; i++) fleet.push(await FleetChild.start(config(`i${i}`)));
  await oneProber(fleet, 's1', 10_000);

  // 1. Probes per second at s1's port over 5 s.
  const window = async (): Promise<number> => {
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 5000));
    return check1.since(t0) / ((performance.now() - t0) / 1000);
  };
  const shared = await window();
  console.log(`1. probes/s reaching s1, ${N} instances sharing (inter ${INTER_MS} ms): ${shared.toFixed(1)} (one instance's worth: ${(1000 / INTER_MS).toFixed(1)})`);

  // 2. Backend death to every instance marking it down (5 rounds).
  const downTimes: number[] = [];
  for (let round = 0; round < 5; round++) {
    const from = fleet.map((c) => c.lines.length);
    const t0 = performance.now();
    await check1.backend.set('refuse');
    const downs = await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'down' && l['server'] === 's1', 10_000, 's1 down', from[i])));
    downTimes.push(Math.max(...downs.map((d) => d.at)) - t0);
    const back = fleet.map((c) => c.lines.length);
    await check1.backend.set('serve');
    await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'up' && l['server'] === 's1', 10_000, 's1 up', back[i])));
  }
  console.log(`2. backend death -> all ${N} instances DOWN (rise 2, fall 2, inter ${INTER_MS} ms): ${stats(downTimes)}`);

  // 3. SIGKILL the prober of s1; time until every survivor applied a result of the new prober (3 rounds).
  const takeovers: number[] = [];
  for (let round = 0; round < 3; round++) {
    const prober = await oneProber(fleet, 's1', 10_000);
    const survivors = fleet.filter((c) => c !== prober && !c.exited);
    const from = survivors.map((c) => c.lines.length);
    const t0 = performance.now();
    await prober.kill();
    const next = await oneProber(survivors, 's1', 10_000);
    const applied = await Promise.all(survivors.map((c, i) => c.waitFor((l) => l.ev === 'applied' && l['server'] === 's1' && l['by'] === next.identity, 10_000, 'new prober result', from[i])));
    takeovers.push(Math.max(...applied.map((a) => a.at)) - t0);
    fleet.splice(fleet.indexOf(prober), 1);
    fleet.push(await FleetChild.start(config(`r${round}`)));
  }
  console.log(`3. prober SIGKILLed -> every survivor applies the new prober's result (TTL ${TTL_S} s, inter ${INTER_MS} ms): ${stats(takeovers)}`);

  // 4. s2's health endpoint fails (its data port still accepts): restart an instance 3 times with a burst of 100 connections.
  const from = fleet.map((c) => c.lines.length);
  await check2.backend.set('refuse');
  await Promise.all(fleet.map((c, i) => c.waitFor((l) => l.ev === 'down' && l['server'] === 's2', 10_000, 's2 down', from[i])));
  const restored: string[] = [];
  const control: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const [restoreState, into] of [[true, restored], [false, control]] as const) {
      const victim = fleet.shift()!;
      await victim.kill();
      const t0 = performance.now();
      const child = await FleetChild.start(config(`${restoreState ? 'k' : 'n'}${round}`, { connectOnReady: 100, restoreState }));
      fleet.push(child);
      await child.waitFor((l) => l.ev === 'connected', 30_000, 'burst');
      // How the instance started: shared (it read the fleet's state) or local (etcd did not answer in time).
      const ready = child.events('ready')[0]!;
      const s2 = (ready['states'] as Record<string, string>)['s2'];
      into.push(`${data2Accepted.filter((at) => at >= t0).length} (${String(ready['mode'])}, s2 ${s2} at ready)`);
    }
  }
  console.log(`4. connections reaching s2 (fleet: DOWN) from a restarted instance's first 100: with restoreState ${restored.join(', ')}; without ${control.join(', ')}`);

  // 5. Spreading: 10 servers, 5 instances started one after the other; time from the 5th ready to every server
  //    probed by its preferred instance, and the servers each instance probes then.
  await closeAll(fleet);
  fleet.length = 0;
  const names = Array.from({ length: 10 }, (_, i) => `srv${i + 1}`);
  const spreadConfig = (identity: string): InstanceConfig => ({
    identity, hosts: etcd.urls, pool: 'spread', servers: names.map((name) => ({ name, host: '127.0.0.1', port: check1.port })),
    leaseTtlSeconds: TTL_S, interMs: INTER_MS, probe: 'expect',
  });
  for (let i = 1; i <= N; i++) fleet.push(await FleetChild.start(spreadConfig(`w${i}`)));
  const t5 = performance.now();
  const ids = fleet.map((c) => c.identity);
  await until(() => names.every((s) => fleet.every((c) => roleOf(c, s) === (c.identity === preferredProber(s, ids) ? 'prober' : 'follower'))), 30_000, 'spread settles');
  const settledMs = performance.now() - t5;
  const share = fleet.map((c) => `${c.identity} ${names.filter((s) => roleOf(c, s) === 'prober').length}`).join(', ');
  console.log(`5. 10 servers over ${N} instances started one after the other: settled ${ms(settledMs)} after the last was ready; servers probed: ${share}`);

  // 1b. Control: the same 5 instances with etcd unreachable each check alone.
  await closeAll(fleet);
  fleet.length = 0;
  await check1.backend.set('serve');
  const dead = `http://127.0.0.1:${await freePort()}`;
  for (let i = 1; i <= N; i++) fleet.push(await FleetChild.start(config(`l${i}`, { hosts: [dead], deadlineMs: 500 })));
  await until(() => fleet.every((c) => c.events('mode').some((l) => l['mode'] === 'local')), 10_000, 'local mode');
  const alone = await window();
  console.log(`1b. probes/s reaching s1, ${N} instances each checking alone (etcd unreachable): ${alone.toFixed(1)}`);
} finally {
  await closeAll(fleet);
  await Promise.allSettled([check1.backend.close(), check2.backend.close(), data2.close()]);
  await etcd.stop();
}
