/**
 * Health checks at scale: a pool of 10 000 checked servers, all pointing at one loopback listener, plain TCP
 * checks every 2 s for 30 s. Reports how many probes ran at once (must stay within `concurrency`), the
 * checks completed, the process's CPU share, event-loop delay, and the sockets/timers before and after (a
 * leak shows up as more after than before).
 *
 * Run: npm run bench:health
 * Knobs (environment): HEALTH_SERVERS (10000), HEALTH_INTER_MS (2000), HEALTH_SECONDS (30), HEALTH_CONCURRENCY (100),
 * HEALTH_PROBE (`tcp`, or `noop` for a probe without I/O: the checker's own scheduling cost).
 *
 * The listener runs in a child process so the CPU share measured here is the checker's alone; the child exits
 * when its stdin closes, i.e. with this process. Before the run, the bench measures how many plain
 * `net.connect()` + reset cycles this machine does per second with the same number in flight: the ceiling any
 * TCP checker in one Node.js thread could reach here.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ActiveChecker, Pool, type Probe, tcpConnectProbe } from '../src/index.js';

const SERVERS = Number(process.env['HEALTH_SERVERS'] ?? 10_000);
const INTER_MS = Number(process.env['HEALTH_INTER_MS'] ?? 2000);
const SECONDS = Number(process.env['HEALTH_SECONDS'] ?? 30);
const CONCURRENCY = Number(process.env['HEALTH_CONCURRENCY'] ?? 100);
const PROBE = process.env['HEALTH_PROBE'] ?? 'tcp';

const LISTENER = `
const net = require('node:net');
// The checker resets each connection right after it is established: wait for that, never close first
// (a close from this side would leave TIME_WAIT entries that pin the checker's ephemeral ports).
const server = net.createServer((socket) => { socket.on('error', () => {}); });
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

function tally(resources: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of resources) out[r] = (out[r] ?? 0) + 1;
  return out;
}

async function settle(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

const child = spawn(process.execPath, ['-e', LISTENER], { stdio: ['pipe', 'pipe', 'inherit'] });
const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
const port = Number(chunk.toString().trim());

/** Plain connect + reset cycles per second with `inFlight` at a time, for `ms`. */
async function connectCeiling(inFlight: number, ms: number): Promise<number> {
  let done = 0;
  const until = performance.now() + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('error', () => resolve());
        s.once('connect', () => {
          s.resetAndDestroy();
          resolve();
        });
      });
      done++;
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - t) / 1000);
}

const ceiling = PROBE === 'tcp' ? await connectCeiling(CONCURRENCY, 3000) : undefined;
await settle(50);
const before = tally(process.getActiveResourcesInfo());

const pool = new Pool('bench', {
  servers: Array.from({ length: SERVERS }, (_, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port, check: true })),
});
let running = 0;
let maxRunning = 0;
const tcp: Probe = PROBE === 'noop' ? async () => ({ status: 'L4OK' }) : tcpConnectProbe();
const counted: Probe = async (server, signal, ctx) => {
  running++;
  if (running > maxRunning) maxRunning = running;
  try {
    return await tcp(server, signal, ctx);
  } finally {
    running--;
  }
};
const statuses: Record<string, number> = {};
pool.on('check:pass', (_s, cause) => void (statuses[cause.result.status] = (statuses[cause.result.status] ?? 0) + 1));
pool.on('check:fail', (_s, cause) => void (statuses[cause.result.status] = (statuses[cause.result.status] ?? 0) + 1));
let downs = 0;
pool.on('server:down', () => void downs++);

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const checker = new ActiveChecker(pool, { interMs: INTER_MS, concurrency: CONCURRENCY, probe: counted });

// The checker's timers are unref'd (they never keep a host alive): this one keeps the bench running.
await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));

const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - t0;
loopDelay.disable();
const stats = checker.stats();
await checker.close();
await settle(50);
const after = tally(process.getActiveResourcesInfo());

child.stdin.end();
await once(child, 'exit');

const cpuShare = (cpu.user + cpu.system) / 1000 / wallMs;
const checks = Object.values(statuses).reduce((a, b) => a + b, 0);
const leaked = ['TCPSocketWrap', 'Timeout', 'TCPConnectWrap'].filter((k) => (after[k] ?? 0) > (before[k] ?? 0));
console.log(`servers ${SERVERS}, interMs ${INTER_MS}, concurrency ${CONCURRENCY}, probe ${PROBE}, ${(wallMs / 1000).toFixed(1)} s`);
if (ceiling !== undefined) console.log(`this machine's ceiling: ${ceiling.toFixed(0)} plain connect+reset/s with ${CONCURRENCY} in flight`);
console.log(`checks completed ${checks} (${(checks / (wallMs / 1000)).toFixed(0)}/s, expected ≈ ${(SERVERS / (INTER_MS / 1000)).toFixed(0)}/s), results ${JSON.stringify(statuses)}, servers marked down ${downs}`);
console.log(`probes at once: max ${maxRunning} (checker saw ${stats.maxRunning}; limit ${CONCURRENCY})`);
console.log(`CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s over ${(wallMs / 1000).toFixed(1)} s = ${(cpuShare * 100).toFixed(1)}% of one core (user ${(cpu.user / 1e6).toFixed(2)} s, system ${(cpu.system / 1e6).toFixed(2)} s)`);
console.log(`event-loop delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`);
console.log(`resources before ${JSON.stringify(before)}`);
console.log(`resources after  ${JSON.stringify(after)}`);
if (maxRunning > CONCURRENCY || leaked.length > 0) {
  console.error(`FAILED: ${maxRunning > CONCURRENCY ? 'concurrency exceeded; ' : ''}${leaked.length > 0 ? `leaked ${leaked.join(', ')}` : ''}`);
  process.exitCode = 1;
}
