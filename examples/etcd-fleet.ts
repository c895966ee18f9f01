/**
 * Three instances of a service sharing health over one etcd (`switchyard-lb/etcd`): one prober per backend
 * server for the whole fleet, every instance applying its results (same log lines, the prober named in `by`),
 * and a hand-over when the prober leaves.
 *
 * Run: node --import tsx examples/etcd-fleet.ts
 * It starts its own etcd (Debian `etcd-server`) on a free loopback port with a temp data dir, or uses
 * ETCD_ENDPOINTS=http://127.0.0.1:2379 if set; it stops everything it started before exiting.
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
function pongServer(): net.Server {
  return net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', () => socket.end('+PONG\r\n'));
  });
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
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
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
const r1 = pongServer();
const r2 = pongServer();
const ports = [await listen(r1), await listen(r2)];
const instances: { name: string; pool: Pool; fleet: FleetHealth; client: Etcd3 }[] = [];
try {
  for (const name of ['web-1', 'web-2', 'web-3']) {
    // Each instance would be its own process on its own machine; here they share one process.
    const client = new Etcd3({ hosts: etcd.hosts, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }) });
    const pool = new Pool('redis', {
      servers: [
        { name: 'r1', host: '127.0.0.1', port: ports[0]!, check: true, rise: 2, fall: 2 },
        { name: 'r2', host: '127.0.0.1', port: ports[1]!, check: true, rise: 2, fall: 2 },
      ],
    });
    haproxyLog(pool, (line) => console.log(`[${name}] ${line}`));
    pool.on('server:down', (server, cause) => {
      if (cause.source !== 'admin') console.log(`[${name}] ${server.name} down, checked by ${cause.result.by ?? name}`);
    });
    const fleet = new FleetHealth(pool, {
      client,
      identity: name,
      leaseTtlSeconds: 1,
      checker: { interMs: 300, probe: sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'string', pattern: '+PONG' }]) },
    });
    fleet.on('prober:change', (server, role) => {
      if (role === 'prober') console.log(`[${name}] now probes ${server} for the whole fleet`);
    });
    await fleet.ready();
    instances.push({ name, pool, fleet, client });
  }
  const prober = (server: string): string | undefined => instances.find((i) => i.fleet.role(server) === 'prober')?.name;
  await until(() => prober('r1') !== undefined && prober('r2') !== undefined, 5000, 'probers');
  console.log(`probers: r1 by ${prober('r1')}, r2 by ${prober('r2')}; the others follow`);

  console.log('--- r2 stops');
  await new Promise((resolve) => r2.close(resolve));
  for (const s of sockets) s.destroy();
  await until(() => instances.every((i) => i.pool.get('r2').status === 'DOWN'), 5000, 'r2 down everywhere');

  const leaving = instances.find((i) => i.name === prober('r1'))!;
  console.log(`--- ${leaving.name} (prober of r1) shuts down`);
  await leaving.fleet.close();
  leaving.client.close();
  instances.splice(instances.indexOf(leaving), 1);
  await until(() => prober('r1') !== undefined, 5000, 'a new prober of r1');
  console.log(`r1 is now probed by ${prober('r1')}`);

  console.log('--- r2 comes back');
  await listen(r2, ports[1]);
  await until(() => instances.every((i) => i.pool.get('r2').status === 'UP'), 5000, 'r2 up everywhere');
} finally {
  for (const i of instances) {
    await i.fleet.close();
    i.client.close();
  }
  for (const s of sockets) s.destroy();
  r1.close();
  r2.close();
  await etcd.stop();
}
