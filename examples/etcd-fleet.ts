/**
 * Three instances of a service sharing health over one etcd (`switchyard-lb/etcd`): one prober per backend
 * server for the whole fleet, spread over the instances; every instance applying every result (the same log
 * lines, the prober named in `by`); a hand-over when a prober leaves.
 *
 * Run: node --import tsx examples/etcd-fleet.ts
 * It starts its own etcd (Debian `etcd-server`) on free loopback ports with a temp data dir, or uses
 * ETCD_ENDPOINTS=http://127.0.0.1:2379 if set; it stops everything it started before exiting (also on Ctrl-C).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { FleetHealth } from '../src/etcd/index.js';
import { haproxyLog } from '../src/haproxy/index.js';
import { Pool, sendExpectProbe } from '../src/index.js';

const sockets = new Set<net.Socket>();
/** A backend that answers PING with +PONG, counting the connections (the probes) it accepts. */
function pongServer(): net.Server & { probes: number } {
  const server = net.createServer((socket) => {
    server.probes++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', () => socket.end('+PONG\r\n'));
  }) as net.Server & { probes: number };
  server.probes = 0;
  return server;
}
async function listen(server: net.Server, port = 0): Promise<number> {
  server.listen({ host: '127.0.0.1', port });
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}
async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}
/** Resolves when `condition()` holds, checking every 50 ms for at most `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Our own etcd, unless ETCD_ENDPOINTS points at one. */
async function startEtcd(): Promise<{ hosts: string[]; stop(): Promise<void> }> {
  if (process.env['ETCD_ENDPOINTS']) return { hosts: process.env['ETCD_ENDPOINTS'].split(','), stop: async () => {} };
  const [client, peer] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'sy-etcd-example-'));
  const child: ChildProcess = spawn('etcd', [
    '--name', 'e1', '--data-dir', dir,
    '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `e1=http://127.0.0.1:${peer}`, '--heartbeat-interval', '50', '--election-timeout', '500',
    '--logger', 'zap', '--log-level', 'error',
  ], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop().then(() => process.exit(130)));
  const probe = new Etcd3({ hosts: `http://127.0.0.1:${client}` });
  try {
    await until(() => child.exitCode === null, 1000, 'etcd to start');
    for (let i = 0; ; i++) {
      try {
        await probe.get('ping').string();
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    probe.close();
  }
  return { hosts: [`http://127.0.0.1:${client}`], stop };
}

const etcd = await startEtcd();
const INTER_MS = 300;
const names = ['cache-a', 'cache-b', 'cache-c'];
const backends = names.map(() => pongServer());
const ports: number[] = [];
for (const b of backends) ports.push(await listen(b));
const instances: { name: string; pool: Pool; fleet: FleetHealth; client: Etcd3 }[] = [];
try {
  for (const name of ['web-1', 'web-2', 'web-3']) {
    // Each instance would be its own process on its own machine; here they share one process.
    const client = new Etcd3({ hosts: etcd.hosts, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }) });
    const pool = new Pool('cache', {
      servers: names.map((server, i) => ({ name: server, host: '127.0.0.1', port: ports[i]!, check: true, rise: 2, fall: 2 })),
    });
    haproxyLog(pool, (line) => console.log(`[${name}] ${line}`));
    pool.on('server:down', (server, cause) => {
      if (cause.source !== 'admin') console.log(`[${name}] ${server.name} is down here, as checked by ${cause.result.by ?? name}`);
    });
    const fleet = new FleetHealth(pool, {
      client,
      identity: name,
      leaseTtlSeconds: 2,
      checker: { interMs: INTER_MS, probe: sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'string', pattern: '+PONG' }]) },
    });
    await fleet.ready();
    instances.push({ name, pool, fleet, client });
  }
  const prober = (server: string): string | undefined => {
    const p = instances.filter((i) => i.fleet.role(server) === 'prober');
    return p.length === 1 && instances.every((i) => i.fleet.role(server) !== 'local') ? p[0]!.name : undefined;
  };
  // The first instance claimed every server; as the others joined it handed each to its preferred prober.
  await until(() => new Set(names.map(prober)).size === 3 && names.every((n) => prober(n) !== undefined), 10_000, 'one prober per server');
  console.log(`probers: ${names.map((n) => `${n} by ${prober(n)}`).join(', ')}; every instance follows the others`);

  const before = backends.map((b) => b.probes);
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const seconds = (performance.now() - t0) / 1000;
  const rates = backends.map((b, i) => ((b.probes - before[i]!) / seconds).toFixed(1));
  console.log(`probes per second at each backend, 3 instances: ${rates.join(', ')} (one instance's worth: ${(1000 / INTER_MS).toFixed(1)})`);

  console.log('--- cache-b stops');
  await new Promise((resolve) => backends[1]!.close(resolve));
  for (const s of sockets) s.destroy();
  await until(() => instances.every((i) => i.pool.get('cache-b').status === 'DOWN'), 10_000, 'cache-b down everywhere');

  const leaving = instances.find((i) => i.name === prober('cache-a'))!;
  console.log(`--- ${leaving.name} (prober of cache-a) shuts down`);
  await leaving.fleet.close();
  leaving.client.close();
  instances.splice(instances.indexOf(leaving), 1);
  await until(() => prober('cache-a') !== undefined, 10_000, 'a new prober of cache-a');
  console.log(`cache-a is now probed by ${prober('cache-a')}`);

  console.log('--- cache-b comes back');
  await listen(backends[1]!, ports[1]);
  await until(() => instances.every((i) => i.pool.get('cache-b').status === 'UP'), 10_000, 'cache-b up everywhere');
} finally {
  for (const i of instances) {
    await i.fleet.close();
    i.client.close();
  }
  for (const s of sockets) s.destroy();
  for (const b of backends) b.close();
  await etcd.stop();
}
