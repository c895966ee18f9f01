/**
 * One switchyard instance of a fleet, run as its own process by the etcd tests (test/etcd/helpers/fleet-child.ts):
 * a Pool of the given servers, FleetHealth over etcd, optionally a burst of balanced connections as soon as it is
 * ready. It reports everything as JSON lines on stdout and obeys JSON commands on stdin. Not a test file.
 */
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import type { Clock } from '../../../src/clock.js';
import { systemClock } from '../../../src/clock.js';
import { Balancer, Pool, sendExpectProbe, tcpConnectProbe } from '../../../src/index.js';
import { haproxyLog } from '../../../src/haproxy/index.js';
import type { Probe } from '../../../src/index.js';
import { FleetHealth } from '../../../src/etcd/index.js';

export interface InstanceConfig {
  readonly identity: string;
  readonly hosts: readonly string[];
  readonly pool: string;
  readonly servers: readonly { name: string; host: string; port: number; checkPort?: number }[];
  readonly leaseTtlSeconds: number;
  readonly interMs: number;
  readonly rise?: number;
  readonly fall?: number;
  /** `tcp` (plain check) or `expect` (send "PING\n", expect "PONG"). */
  readonly probe?: 'tcp' | 'expect';
  readonly restoreState?: boolean;
  /** Offset added to Date.now() and to the pool's clock: this instance's clocks disagree with the others'. */
  readonly skewMs?: number;
  /** Balanced connections to make, one after the other, as soon as the fleet is ready. */
  readonly connectOnReady?: number;
  /** Deadline of each etcd request, ms. */
  readonly deadlineMs?: number;
  /** FleetHealth's `spreadProbers` (default true). */
  readonly spreadProbers?: boolean;
  /** FleetHealth's `claimDelayMs`. */
  readonly claimDelayMs?: number;
}

const config = JSON.parse(process.argv[2]!) as InstanceConfig;
const out = (ev: string, data: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ ev, ...data })}\n`);
};

if (config.skewMs) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + config.skewMs!;
}
const clock: Clock = config.skewMs
  ? { now: () => systemClock.now() + config.skewMs!, setTimeout: (cb, ms, o) => systemClock.setTimeout(cb, ms, o) }
  : systemClock;

const client = new Etcd3({
  hosts: [...config.hosts],
  defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (config.deadlineMs ?? 2000) }),
});
const pool = new Pool(config.pool, {
  clock,
  servers: config.servers.map((s) => ({ name: s.name, host: s.host, port: s.port, check: true, rise: config.rise ?? 2, fall: config.fall ?? 2 })),
});
const base: Probe = config.probe === 'expect'
  ? sendExpectProbe([{ kind: 'send', data: 'PING\n' }, { kind: 'expect', match: 'string', pattern: 'PONG' }])
  : tcpConnectProbe();
const probe: Probe = (server, signal, context) => {
  out('probe', { server: server.name });
  return base(server, signal, context);
};
const perServer: Record<string, { port: number }> = {};
for (const s of config.servers) if (s.checkPort !== undefined) perServer[s.name] = { port: s.checkPort };

const fleet = new FleetHealth(pool, {
  client,
  identity: config.identity,
  leaseTtlSeconds: config.leaseTtlSeconds,
  restoreState: config.restoreState ?? true,
  checker: { interMs: config.interMs, probe, servers: perServer },
  timeoutMs: config.deadlineMs ?? 2000,
  retryMs: 200,
  maxRetryMs: 1000,
  spreadProbers: config.spreadProbers ?? true,
  ...(config.claimDelayMs === undefined ? {} : { claimDelayMs: config.claimDelayMs }),
});
fleet.on('fleet:mode', (mode, previous) => out('mode', { mode, previous }));
fleet.on('prober:change', (server, role, holder) => out('role', { server, role, holder }));
fleet.on('result:published', (server, record, revision) => out('published', { server, status: record.result.status, seq: record.seq, term: record.term, revision }));
fleet.on('result:applied', (server, result, revision) => out('applied', { server: server.name, status: result.status, by: result.by, revision, health: server.health, state: server.status }));
fleet.on('result:fenced', (server, record) => out('fenced', { server, status: record.result.status, seq: record.seq, term: record.term }));
fleet.on('result:ignored', (server, reason) => out('ignored', { server, reason }));
fleet.on('state:restored', (server, record) => out('restored', { server: server.name, up: record.up, state: server.status, by: record.by }));
fleet.on('fleet:error', (err) => out('error', { message: err instanceof Error ? err.message : String(err) }));
pool.on('server:down', (server, cause) => out('down', { server: server.name, by: cause.source === 'admin' ? undefined : cause.result.by }));
pool.on('server:up', (server, cause) => out('up', { server: server.name, by: cause.source === 'admin' ? undefined : cause.result.by }));
haproxyLog(pool, (line) => out('log', { line }));

const balancer = new Balancer(pool, { strategy: 'roundrobin' });

await fleet.ready();
out('ready', { mode: fleet.mode, states: Object.fromEntries(pool.servers.map((s) => [s.name, s.status])) });

if (config.connectOnReady) {
  const picks: Record<string, number> = {};
  let failed = 0;
  for (let i = 0; i < config.connectOnReady; i++) {
    try {
      const socket = await balancer.connect({ timeoutConnectMs: 1000, retries: 0 });
      const server = pool.servers.find((s) => s.port === socket.remotePort)?.name ?? String(socket.remotePort);
      picks[server] = (picks[server] ?? 0) + 1;
      socket.destroy();
    } catch {
      failed++;
    }
  }
  out('connected', { picks, failed });
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: string };
  if (cmd.cmd === 'stats') out('stats', { ...fleet.stats(), states: Object.fromEntries(pool.servers.map((s) => [s.name, s.status])) });
  else if (cmd.cmd === 'close') void shutdown();
});
rl.on('close', () => void shutdown());

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await fleet.close();
  await balancer.close();
  client.close();
  out('closed');
  process.exit(0);
}
