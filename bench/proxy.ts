/**
 * `npm run bench:proxy`: switchyard's TcpProxy against HAProxy 2.6 (`nbthread 1`), a naive Node pipe() proxy and
 * direct connections, plus the multi-core rows (HAProxy with its default threads, switchyard's ProxyWorkers with
 * BENCH_WORKERS threads, default one per CPU; both may use every CPU), on loopback, runs interleaved. Four figures: bulk throughput (8 connections streaming
 * backend→client), connection rate (50 concurrent clients: connect, 64-byte echo, close), added latency (64-byte
 * ping-pong on one connection, everything pinned to one CPU) and memory per idle proxied connection (RSS delta
 * over BENCH_IDLE idle connections). The load generator and the backends are C (bench/proxy/loadgen.c), built
 * with gcc into a temporary directory; switchyard runs from a tsc build of src/ (build/bench-proxy/), as users
 * run it, not through a TypeScript loader.
 *
 * Environment: BENCH_ROUNDS (3), BENCH_SECONDS (3), BENCH_IDLE (9000), BENCH_VARIANTS (all), BENCH_JSON=1 for JSON,
 * BENCH_WARM_SECONDS (3: an unmeasured connection-rate run against every variant first; 0 = none, as before),
 * BENCH_PROFILE=1 to profile switchyard's connection-rate run instead (µs of main-thread time per connection,
 * by category and by function).
 * Every process it starts is bounded in time and killed by PID at the end; loopback only.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarise } from './proxy/cpuprofile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);
// Inside the repository (build/ is ignored by git) so the build resolves eventemitter3 and tslib from node_modules.
const dist = path.join(repo, 'build', 'bench-proxy');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP = 0.5;
/**
 * A connection-rate run of this many seconds against every variant before round 1, not measured: switchyard's
 * connection path is compiled by V8 (in each worker thread's isolate too) during its first seconds of traffic, which
 * a long-running proxy has behind it. HAProxy gets the same run.
 */
const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 3);
let IDLE = Number(process.env.BENCH_IDLE ?? 9000);
const LAT_WARMUP = 2000;
const LAT_ITERATIONS = 20_000;
const LAT_RUNS = 3;
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'direct,haproxy,haproxy-threads,naive,switchyard,switchyard-workers').split(',') as Variant[];
/** Threads of the multi-core variants: HAProxy's default `nbthread` (the CPUs it may use), switchyard's workers. */
const CORES = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
const CPU_BACKEND = '0';
const CPU_PROXY = '1';
/** Every CPU: where the multi-core variants run (on a 2-CPU machine, beside the load generator and the backends). */
const CPU_ALL = `0-${os.availableParallelism() - 1}`;
const cpuOf = (v: Variant): string => (v === 'haproxy-threads' || v === 'switchyard-workers' ? CPU_ALL : CPU_PROXY);

type Variant = 'direct' | 'haproxy' | 'haproxy-threads' | 'naive' | 'switchyard' | 'switchyard-workers';
interface Ports {
  readonly echo: number;
  readonly source: number;
}
interface Running {
  readonly child: ChildProcess | undefined;
  readonly ports: Ports;
}

const started = new Set<ChildProcess>();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));

function cleanup(): void {
  for (const child of started) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  started.clear();
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Starts a long-running process pinned to `cpu`; resolves with it and the first stdout line matching `ready`. */
function startProcess(cpu: string, command: string, args: string[], ready: RegExp | undefined): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn('taskset', ['-c', cpu, command, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.add(child);
  child.on('exit', () => started.delete(child));
  if (ready === undefined) return Promise.resolve({ child, line: '' });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${command} did not start within 15 s`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split('\n').find((l) => ready.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve({ child, line });
      }
    });
    child.on('exit', (code) => reject(new Error(`${command} exited with ${code} before it was ready`)));
  });
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** Runs a bounded command pinned to `cpu`, returning its stdout. */
function runBounded(cpu: string, command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('taskset', ['-c', cpu, command, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout) =>
      err ? reject(new Error(`${command} ${args.join(' ')}: ${err.message}`)) : resolve(stdout),
    );
    started.add(child);
    child.on('exit', () => started.delete(child));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

const loadgen = path.join(tmp, 'loadgen');

async function startBackends(): Promise<{ echo: number[]; source: number[] }> {
  const echo = await startProcess(CPU_BACKEND, loadgen, ['serve', 'echo', '3'], /^PORTS /);
  const source = await startProcess(CPU_BACKEND, loadgen, ['serve', 'source', '3'], /^PORTS /);
  const ports = (line: string) => line.trim().split(' ').slice(1).map(Number);
  return { echo: ports(echo.line), source: ports(source.line) };
}

async function startVariant(variant: Variant, backends: { echo: number[]; source: number[] }): Promise<Running> {
  const groups = JSON.stringify(backends);
  if (variant === 'direct') return { child: undefined, ports: { echo: backends.echo[0]!, source: backends.source[0]! } };
  if (variant === 'haproxy' || variant === 'haproxy-threads') {
    const echo = await freePort();
    const source = await freePort();
    const servers = (list: number[]) => list.map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`).join('\n');
    const cfg = path.join(tmp, `haproxy-${echo}.cfg`);
    writeFileSync(
      cfg,
      `global\n${variant === 'haproxy' ? '  nbthread 1\n' : ''}  maxconn ${IDLE + 500}\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\n` +
        `listen echo\n  bind 127.0.0.1:${echo}\n  balance roundrobin\n${servers(backends.echo)}\n\n` +
        `listen source\n  bind 127.0.0.1:${source}\n  balance roundrobin\n${servers(backends.source)}\n`,
    );
    const { child } = await startProcess(cpuOf(variant), '/usr/sbin/haproxy', ['-db', '-f', cfg], undefined);
    await waitListening(echo);
    await waitListening(source);
    return { child, ports: { echo, source } };
  }
  const args =
    variant === 'naive'
      ? [path.join(here, 'proxy', 'naive.mjs'), groups]
      : [path.join(here, 'proxy', 'switchyard-proxy.mjs'), dist, groups, variant === 'switchyard-workers' ? String(CORES) : '0'];
  const { child, line } = await startProcess(cpuOf(variant), process.execPath, args, /^LISTENING /);
  const [echo, source] = line.trim().split(' ').slice(1).map(Number) as [number, number];
  return { child, ports: { echo, source } };
}

function pin(child: ChildProcess | undefined, cpu: string): void {
  if (child?.pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', cpu, String(child.pid)], { stdio: 'ignore' });
}

/** CPU time (user + system) of a process so far, ms. */
function cpuMs(child: ChildProcess | undefined): number {
  if (child?.pid === undefined) return NaN;
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

const boundMs = (seconds: number) => (WARMUP + seconds + 15) * 1000;

/** Bulk throughput, GB/s, and the proxy's CPU time per GB relayed (s/GB), a figure less sensitive to a busy machine. */
async function bulk(v: Variant, r: Running): Promise<[number, number]> {
  const cpu = v === 'direct' ? CPU_PROXY : CPU_BACKEND;
  const before = cpuMs(r.child);
  const out = await runBounded(cpu, loadgen, ['bulk', String(r.ports.source), '8', String(WARMUP), String(SECONDS)], boundMs(SECONDS));
  const used = cpuMs(r.child) - before;
  const gbps = Number(/BULK (\d+)/.exec(out)![1]) / 1e9;
  return [gbps, used / 1000 / (gbps * (WARMUP + SECONDS))];
}

/** Connections per second, and the proxy's CPU time per connection (µs). */
async function rate(v: Variant, r: Running): Promise<[number, number]> {
  const cpu = v === 'direct' ? CPU_PROXY : CPU_BACKEND;
  const before = cpuMs(r.child);
  const out = await runBounded(cpu, loadgen, ['rate', String(r.ports.echo), '50', String(WARMUP), String(SECONDS)], boundMs(SECONDS));
  const used = cpuMs(r.child) - before;
  const m = /RATE (\d+) ERRORS (\d+)/.exec(out)!;
  if (Number(m[2]) > 0) log(`  ${v}: ${m[2]} failed connections during the rate run`);
  const perSecond = Number(m[1]);
  return [perSecond, (used * 1000) / (perSecond * (WARMUP + SECONDS))];
}

/** p50 round trip, µs: the median of LAT_RUNS runs of LAT_ITERATIONS ping-pongs, everything pinned to one CPU. */
async function latency(v: Variant, r: Running): Promise<number> {
  pin(r.child, CPU_BACKEND);
  try {
    const p50s: number[] = [];
    for (let i = 0; i < LAT_RUNS; i++) {
      const out = await runBounded(CPU_BACKEND, loadgen, ['latency', String(r.ports.echo), String(LAT_WARMUP), String(LAT_ITERATIONS)], 60_000);
      p50s.push(Number(/LAT ([\d.]+)/.exec(out)![1]));
    }
    return median(p50s);
  } finally {
    pin(r.child, cpuOf(v));
  }
}

/** RSS growth per idle proxied connection, KiB, measured on a fresh process after a short warm-up. */
async function memory(v: Variant, backends: { echo: number[]; source: number[] }): Promise<number> {
  const r = await startVariant(v, backends);
  try {
    await runBounded(CPU_BACKEND, loadgen, ['rate', String(r.ports.echo), '50', '0', '1'], boundMs(1));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = rssKiB(r.child!.pid!);
    const idle = await startProcess(CPU_BACKEND, loadgen, ['idle', String(r.ports.echo), String(IDLE), '120'], /^IDLE_READY /);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = rssKiB(r.child!.pid!);
    idle.child.stdin!.end();
    await stop(idle.child);
    return (after - before) / IDLE;
  } finally {
    await stop(r.child);
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Profiles switchyard during a connection-rate run and prints where the time of one connection goes. */
async function profileRate(backends: { echo: number[]; source: number[] }): Promise<void> {
  const file = path.join(tmp, 'rate.cpuprofile');
  const child = spawn('taskset', ['-c', CPU_PROXY, process.execPath, path.join(here, 'proxy', 'switchyard-proxy.mjs'), dist, JSON.stringify(backends)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SWITCHYARD_CPU_PROFILE: file },
  });
  started.add(child);
  const line = await new Promise<string>((resolve) => child.stdout!.on('data', (d: Buffer) => /^LISTENING /.test(String(d)) && resolve(String(d))));
  const port = Number(line.trim().split(' ')[1]);
  const cpuBefore = cpuMs(child);
  const out = await runBounded(CPU_BACKEND, loadgen, ['rate', String(port), '50', '0', String(SECONDS)], boundMs(SECONDS));
  const cpuUsed = cpuMs(child) - cpuBefore;
  const connections = Number(/RATE (\d+)/.exec(out)![1]) * SECONDS;
  await stop(child);
  const { totalMs, byCategory, top } = summarise(file);
  const us = (ms: number) => ((ms * 1000) / connections).toFixed(1);
  console.log(`switchyard, connection rate: ${connections / SECONDS} conn/s, process CPU ${((cpuUsed * 1000) / connections).toFixed(1)} µs per connection`);
  console.log(`main thread, profiled ${totalMs.toFixed(0)} ms for ${connections} connections:\n`);
  console.log('| where | µs per connection | share |');
  console.log('|---|---|---|');
  for (const [c, ms] of [...byCategory].sort((a, b) => b[1] - a[1])) console.log(`| ${c} | ${us(ms)} | ${((ms / totalMs) * 100).toFixed(1)} % |`);
  console.log('\ntop functions (self time):\n');
  for (const [name, ms] of top) console.log(`  ${us(ms).padStart(6)} µs  ${name}`);
}

async function main(): Promise<void> {
  execFileSync('gcc', ['-O2', '-o', loadgen, path.join(here, 'proxy', 'loadgen.c')], { stdio: 'inherit' });
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = ['-p', path.join(repo, 'tsconfig.build.json'), '--outDir', dist, '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'];
  // Type errors elsewhere in the tree must not stop the bench: tsc still emits, and the run fails loudly if it cannot import.
  try {
    execFileSync(process.execPath, [tsc, ...build], { stdio: 'ignore', timeout: 120_000 });
  } catch {
    log('tsc reported errors while building src/ for the bench; using what it emitted');
  }
  const nofile = Number(execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim());
  if (nofile < 2 * IDLE + 1000) {
    IDLE = Math.floor((nofile - 1000) / 2);
    log(`the hard fd limit is ${nofile}: idle connections reduced to ${IDLE}`);
  }
  const machine = {
    date: new Date().toISOString(),
    cpu: `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    haproxy: execFileSync('/usr/sbin/haproxy', ['-v']).toString().split('\n')[0]!,
    loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    rounds: ROUNDS,
    seconds: SECONDS,
    idle: IDLE,
    warmSeconds: WARM_SECONDS,
  };
  log(`machine: ${JSON.stringify(machine)}`);
  const backends = await startBackends();
  if (process.env.BENCH_PROFILE === '1') return profileRate(backends);
  const running = new Map<Variant, Running>();
  for (const v of VARIANTS) running.set(v, await startVariant(v, backends));
  if (WARM_SECONDS > 0) {
    for (const v of VARIANTS) {
      const r = running.get(v)!;
      await runBounded(v === 'direct' ? CPU_PROXY : CPU_BACKEND, loadgen, ['rate', String(r.ports.echo), '50', '0', String(WARM_SECONDS)], boundMs(WARM_SECONDS));
    }
    log(`warmed every variant with a ${WARM_SECONDS} s connection-rate run (BENCH_WARM_SECONDS)`);
  }
  const results: Record<string, Record<Variant, number[]>> = { bulk: {}, bulkCpu: {}, rate: {}, rateCpu: {}, latency: {}, memory: {} } as never;
  const push = (metric: string, v: Variant, value: number) => ((results[metric]![v] ??= []).push(value));
  // Each figure is measured for every variant in turn before the next figure, so the runs compared (switchyard's
  // and HAProxy's connection-rate runs, say) are seconds apart, not a whole round (minutes on a shared machine
  // whose speed drifts); and the order of the variants turns by one each round, so none always runs first.
  for (let round = 1; round <= ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!);
    for (const v of order) {
      const [gbps, sPerGB] = await bulk(v, running.get(v)!);
      push('bulk', v, gbps);
      push('bulkCpu', v, sPerGB);
    }
    for (const v of order) {
      const [perSecond, usPerConn] = await rate(v, running.get(v)!);
      push('rate', v, perSecond);
      push('rateCpu', v, usPerConn);
    }
    for (const v of order) push('latency', v, await latency(v, running.get(v)!));
    for (const v of order) if (v !== 'direct') push('memory', v, await memory(v, backends));
    for (const v of order) {
      log(`round ${round} ${v}: bulk ${results.bulk![v].at(-1)!.toFixed(2)} GB/s, rate ${results.rate![v].at(-1)} conn/s ` +
        `(${v === 'direct' ? '—' : results.rateCpu![v].at(-1)!.toFixed(1)} µs CPU each), p50 ${results.latency![v].at(-1)} µs` +
        `${v === 'direct' ? '' : `, ${results.memory![v].at(-1)!.toFixed(2)} KiB/conn`}`);
    }
  }
  for (const r of running.values()) await stop(r.child);
  const med = (metric: string, v: Variant) => (results[metric]![v] ? median(results[metric]![v]) : NaN);
  const added = (v: Variant) => med('latency', v) - med('latency', 'direct');
  const rows = VARIANTS.map((v) => ({
    variant: v,
    bulkGBps: med('bulk', v),
    connPerSec: med('rate', v),
    p50us: med('latency', v),
    addedP50us: v === 'direct' ? 0 : added(v),
    memKiB: v === 'direct' ? NaN : med('memory', v),
    cpuSecondsPerGB: v === 'direct' ? NaN : med('bulkCpu', v),
    cpuMicrosPerConn: v === 'direct' ? NaN : med('rateCpu', v),
  }));
  machine['loadAfter' as keyof typeof machine] = os.loadavg().map((l) => l.toFixed(2)).join(' ') as never;
  if (process.env.BENCH_JSON === '1') {
    console.log(JSON.stringify({ machine, rows, raw: results }, null, 2));
    return;
  }
  const h = rows.find((r) => r.variant === 'haproxy');
  const d = rows.find((r) => r.variant === 'direct');
  const ratio = (x: number, y: number | undefined) => (y === undefined || !Number.isFinite(x) || !Number.isFinite(y) || y === 0 ? '—' : `${(x / y).toFixed(2)}×`);
  const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
  console.log(`machine: ${machine.cpu}, ${machine.kernel}, Node ${machine.node}, ${machine.haproxy}`);
  console.log(`date: ${machine.date}; load average before ${machine.loadBefore}, after ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(
    `medians of ${ROUNDS} interleaved rounds (each figure measured for every variant in turn, the order turning each round); ${SECONDS} s per throughput run; latency: median of ${LAT_RUNS} × ${LAT_ITERATIONS} ping-pongs per round; ${IDLE} idle connections\n`,
  );
  console.log('| variant | bulk GB/s | ×HAProxy | ×direct | conn/s | ×HAProxy | ×direct | p50 µs | added p50 µs | ×HAProxy added | KiB/idle conn | ×HAProxy |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.variant} | ${fmt(r.bulkGBps, 2)} | ${ratio(r.bulkGBps, h?.bulkGBps)} | ${ratio(r.bulkGBps, d?.bulkGBps)} | ${fmt(r.connPerSec, 0)} | ` +
        `${ratio(r.connPerSec, h?.connPerSec)} | ${ratio(r.connPerSec, d?.connPerSec)} | ${fmt(r.p50us, 1)} | ${fmt(r.addedP50us, 1)} | ` +
        `${r.variant === 'direct' ? '—' : ratio(r.addedP50us, h?.addedP50us)} | ${fmt(r.memKiB, 1)} | ${ratio(r.memKiB, h?.memKiB)} |`,
    );
  }
  console.log('\nCPU time of the proxy process (user + system), a figure that depends less on what else runs on the machine:\n');
  console.log('| variant | CPU s per GB relayed | ×HAProxy | CPU µs per connection | ×HAProxy |');
  console.log('|---|---|---|---|---|');
  for (const r of rows.filter((x) => x.variant !== 'direct')) {
    console.log(
      `| ${r.variant} | ${fmt(r.cpuSecondsPerGB, 3)} | ${ratio(r.cpuSecondsPerGB, h?.cpuSecondsPerGB)} | ${fmt(r.cpuMicrosPerConn, 1)} | ${ratio(r.cpuMicrosPerConn, h?.cpuMicrosPerConn)} |`,
    );
  }
  const ht = rows.find((r) => r.variant === 'haproxy-threads');
  const sw = rows.find((r) => r.variant === 'switchyard-workers');
  if (ht !== undefined && sw !== undefined) {
    console.log(`\nall cores (${CORES}): switchyard-workers ${ratio(sw.connPerSec, ht.connPerSec)} HAProxy default threads' conn/s; CPU µs per connection ${ratio(sw.cpuMicrosPerConn, ht.cpuMicrosPerConn)}`);
  }
  // The same comparisons round by round (runs seconds apart), and their median: a check on the ratios of medians above.
  const perRound = (metric: string, a: Variant, b: Variant): number[] =>
    (results[metric]![a] ?? []).map((x, i) => x / (results[metric]![b]?.[i] ?? NaN)).filter((x) => Number.isFinite(x));
  const rounds = (label: string, xs: number[]) =>
    xs.length > 0 && console.log(`  ${label}: ${xs.map((x) => `${x.toFixed(2)}×`).join(', ')} (median ${median(xs).toFixed(2)}×)`);
  console.log('\nround by round:');
  rounds('switchyard / haproxy, conn/s', perRound('rate', 'switchyard', 'haproxy'));
  rounds('switchyard / haproxy, CPU µs per connection', perRound('rateCpu', 'switchyard', 'haproxy'));
  rounds('switchyard / haproxy, bulk', perRound('bulk', 'switchyard', 'haproxy'));
  rounds('switchyard-workers / haproxy-threads, conn/s', perRound('rate', 'switchyard-workers', 'haproxy-threads'));
  console.log(
    '\ntargets (issue 13, switchyard against HAProxy nbthread 1): CPU per connection ≤ 1.8×, conn/s ≥ 0.55×, bulk ≥ 1.5×, added p50 ≤ 1.1×, ≤ 8 KiB per idle connection; ' +
      'workers: conn/s ≥ 0.6× HAProxy default threads',
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    log(String(err?.stack ?? err));
    process.exit(1);
  },
);
