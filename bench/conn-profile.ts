/**
 * `node --import tsx bench/conn-profile.ts`: where one proxied connection's CPU goes, per Node.js version, against
 * HAProxy 2.6 with `nbthread 1` and `nbthread 2`, in one interleaved run (issue 13).
 *
 * Workload: bench/proxy/loadgen.c `rate` (50 concurrent clients: connect, 64-byte echo, close), three C echo
 * backends, round robin, all on 127.0.0.1. Pinning as in bench/proxy.ts: generator and backends on CPU 0, the proxy
 * on CPU 1 (HAProxy `nbthread 2` on CPUs 0-1, sharing CPU 0 with the generator).
 *
 * 1. Rate, interleaved rounds: conn/s and the proxy's user and system CPU µs per connection (`/proc/<pid>/stat`).
 * 2. Perf pass (CP_PERF=1, on fresh processes): `perf stat` of the system calls per accepted connection (exact
 *    counts of the syscalls tracepoints, normalised by accept4), then `perf record -g` (cpu-clock) with Node run under
 *    `--perf-basic-prof --interpreted-frames-native-stack`: the share of each layer and phase
 *    (bench/proxy/perf-breakdown.ts), turned into µs per connection with the CPU µs per connection of pass 1.
 *
 * Environment: CP_NODES (20,22,24: majors; the running Node serves its own major, others come from
 * scripts/node-matrix.sh), CP_VARIANTS (haproxy1,haproxy2,naive,switchyard; also `raw`: bench/proxy/raw-floor.mjs, the
 * floor of a proxy on Node's TCP handles), CP_ROUNDS (3), CP_SECONDS (3),
 * CP_CONC (50), CP_PERF (1), CP_PERF_SECONDS (2), CP_JSON (a file to write every number to).
 * Every process it starts is bounded in time and killed by PID at the end; loopback only.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { breakdown } from './proxy/perf-breakdown.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);
const dist = path.join(repo, 'build', 'bench-proxy');
const ROUNDS = Number(process.env['CP_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['CP_SECONDS'] ?? 3);
const CONC = Number(process.env['CP_CONC'] ?? 50);
const PERF = (process.env['CP_PERF'] ?? '1') === '1';
const PERF_SECONDS = Number(process.env['CP_PERF_SECONDS'] ?? 2);
const NODES = (process.env['CP_NODES'] ?? '20,22,24').split(',').map(Number);
const KINDS = (process.env['CP_VARIANTS'] ?? 'haproxy1,haproxy2,naive,switchyard').split(',');
const WARMUP = 0.5;
const CPU_BACKEND = '0';
const CPU_PROXY = '1';
const SYSCALLS = [
  'accept', 'accept4', 'connect', 'socket', 'close', 'shutdown', 'read', 'write', 'readv', 'writev', 'recvfrom', 'sendto',
  'recvmsg', 'sendmsg', 'getpeername', 'getsockname', 'setsockopt', 'getsockopt', 'epoll_ctl', 'epoll_wait', 'epoll_pwait',
  'epoll_pwait2', 'io_uring_enter', 'futex', 'mmap', 'munmap', 'madvise', 'brk', 'mprotect', 'fcntl', 'ioctl', 'splice',
].filter((s) => existsSync(`/sys/kernel/tracing/events/syscalls/sys_enter_${s}`));

interface Variant {
  readonly label: string;
  readonly kind: string;
  readonly node?: string;
}

const started = new Set<ChildProcess>();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchyard-conn-profile-'));
const perfMaps = new Set<number>();
function cleanup(): void {
  for (const child of started) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  started.clear();
  for (const pid of perfMaps) rmSync(`/tmp/perf-${pid}.map`, { force: true });
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
const log = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function track(child: ChildProcess): ChildProcess {
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

function startProcess(cpu: string, command: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  const child = track(spawn('taskset', ['-c', cpu, command, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
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

function runBounded(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command} ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout + stderr),
    );
    track(child);
  });
}

/** utime and stime of a process (all its threads) so far, ms. */
function cpuMs(pid: number): { user: number; sys: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const tick = 1000 / 100;
  return { user: Number(f[11]) * tick, sys: Number(f[12]) * tick };
}

const loadgen = path.join(tmp, 'loadgen');
const rateArgs = (port: number, warmup: number, seconds: number) => [loadgen, 'rate', String(port), String(CONC), String(warmup), String(seconds)];

function nodeBinary(major: number): string {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const out = execFileSync(path.join(repo, 'scripts', 'node-matrix.sh'), [String(major)], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  return out.trim().split('=')[1]!;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startVariant(v: Variant, echo: number[], nodeFlags: string[]): Promise<{ child: ChildProcess; port: number }> {
  if (v.kind.startsWith('haproxy')) {
    const threads = v.kind === 'haproxy2' ? 2 : 1;
    const port = await freePort();
    const cfg = path.join(tmp, `${v.label}.cfg`);
    writeFileSync(
      cfg,
      `global\n  nbthread ${threads}\n  maxconn 4000\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\n` +
        `listen echo\n  bind 127.0.0.1:${port}\n  balance roundrobin\n${echo.map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`).join('\n')}\n`,
    );
    const child = track(spawn('taskset', ['-c', threads === 2 ? '0,1' : CPU_PROXY, '/usr/sbin/haproxy', '-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'inherit'] }));
    for (let i = 0; i < 100; i++) {
      const ok = await runBounded(loadgen, ['rate', String(port), '1', '0', '0.05'], 5000).then((o) => /RATE [1-9]/.test(o), () => false);
      if (child.exitCode !== null) break;
      if (ok) return { child, port };
      await sleep(50);
    }
    throw new Error(`${v.label} did not listen on ${port}`);
  }
  const groups = JSON.stringify({ echo, source: echo });
  const script = v.kind === 'naive' ? [path.join(here, 'proxy', 'naive.mjs'), groups] : v.kind === 'raw' ? [path.join(here, 'proxy', 'raw-floor.mjs'), groups] : [path.join(here, 'proxy', 'switchyard-proxy.mjs'), dist, groups];
  const { child, line } = await startProcess(CPU_PROXY, v.node!, [...nodeFlags, ...script], /^LISTENING /);
  if (nodeFlags.length > 0) perfMaps.add(child.pid!);
  return { child, port: Number(line.trim().split(' ')[1]) };
}

async function rate(pid: number, port: number, seconds: number): Promise<{ perSecond: number; userUs: number; sysUs: number; errors: number }> {
  const before = cpuMs(pid);
  const out = await runBounded('taskset', ['-c', CPU_BACKEND, ...rateArgs(port, WARMUP, seconds)], (WARMUP + seconds + 15) * 1000);
  const after = cpuMs(pid);
  const m = /RATE (\d+) ERRORS (\d+)/.exec(out)!;
  const perSecond = Number(m[1]);
  const conns = perSecond * (WARMUP + seconds);
  return { perSecond, userUs: ((after.user - before.user) * 1000) / conns, sysUs: ((after.sys - before.sys) * 1000) / conns, errors: Number(m[2]) };
}

/** Runs the generator and, once it is warm, `perfArgs` against the proxy for PERF_SECONDS. Returns perf's stderr. */
async function underLoad(port: number, perfArgs: string[]): Promise<{ perf: string; perSecond: number }> {
  const load = runBounded('taskset', ['-c', CPU_BACKEND, ...rateArgs(port, 0, PERF_SECONDS + 1.2)], (PERF_SECONDS + 20) * 1000);
  await sleep(600);
  const perf = await runBounded('perf', [...perfArgs, '--', 'sleep', String(PERF_SECONDS)], (PERF_SECONDS + 30) * 1000);
  const out = await load;
  return { perf, perSecond: Number(/RATE (\d+)/.exec(out)![1]) };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  execFileSync('gcc', ['-O2', '-o', loadgen, path.join(here, 'proxy', 'loadgen.c')], { stdio: 'inherit' });
  try {
    const build = ['-p', path.join(repo, 'tsconfig.build.json'), '--outDir', dist, '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'];
    execFileSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), ...build], { stdio: 'ignore', timeout: 120_000 });
  } catch {
    log('tsc reported errors while building src/; using what it emitted');
  }
  const binaries = new Map(NODES.map((m) => [m, nodeBinary(m)]));
  const variants: Variant[] = [];
  for (const kind of KINDS) {
    if (kind.startsWith('haproxy')) variants.push({ label: kind, kind });
    else for (const [major, bin] of binaries) variants.push({ label: `${kind}@${major}`, kind, node: bin });
  }
  const versions = Object.fromEntries([...binaries].map(([m, b]) => [m, execFileSync(b, ['--version']).toString().trim()]));
  const machine = {
    date: new Date().toISOString(),
    cpu: `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`,
    kernel: `${os.type()} ${os.release()}`,
    nodes: versions,
    haproxy: execFileSync('/usr/sbin/haproxy', ['-v']).toString().split('\n')[0]!,
    loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    rounds: ROUNDS,
    seconds: SECONDS,
    concurrency: CONC,
  };
  log(`machine: ${JSON.stringify(machine)}`);
  const backends = await startProcess(CPU_BACKEND, loadgen, ['serve', 'echo', '3'], /^PORTS /);
  const echo = backends.line.trim().split(' ').slice(1).map(Number);

  // 1. Interleaved rate rounds.
  const running = new Map<string, { child: ChildProcess; port: number }>();
  for (const v of variants) running.set(v.label, await startVariant(v, echo, []));
  for (const v of variants) await runBounded('taskset', ['-c', CPU_BACKEND, ...rateArgs(running.get(v.label)!.port, 0, 1)], 20_000); // warm-up
  const results = new Map<string, { perSecond: number[]; userUs: number[]; sysUs: number[] }>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const v of variants) {
      const r = running.get(v.label)!;
      const m = await rate(r.child.pid!, r.port, SECONDS);
      const acc = results.get(v.label) ?? { perSecond: [], userUs: [], sysUs: [] };
      acc.perSecond.push(m.perSecond);
      acc.userUs.push(m.userUs);
      acc.sysUs.push(m.sysUs);
      results.set(v.label, acc);
      log(`round ${round} ${v.label}: ${m.perSecond} conn/s, ${m.userUs.toFixed(1)} µs user + ${m.sysUs.toFixed(1)} µs sys per connection${m.errors ? `, ${m.errors} errors` : ''}`);
    }
  }
  for (const r of running.values()) await stop(r.child);
  const rows = variants.map((v) => {
    const r = results.get(v.label)!;
    // Per-round ratios against HAProxy nbthread 1 of the same round: the machine's noise cancels within a round.
    const h = results.get('haproxy1');
    const ratio = (a: number[], b: number[] | undefined) => (b === undefined ? NaN : median(a.map((x, i) => x / b[i]!)));
    const total = r.userUs.map((u, i) => u + r.sysUs[i]!);
    const hTotal = h?.userUs.map((u, i) => u + h.sysUs[i]!);
    return {
      variant: v.label,
      connPerSec: median(r.perSecond),
      rateVsH1: ratio(r.perSecond, h?.perSecond),
      userUs: median(r.userUs),
      sysUs: median(r.sysUs),
      cpuUs: median(total),
      cpuVsH1: ratio(total, hTotal),
    };
  });

  // 2. Perf pass.
  const perfRows: Record<string, unknown>[] = [];
  if (PERF) {
    for (const v of variants) {
      const flags = v.node === undefined ? [] : ['--perf-basic-prof', '--interpreted-frames-native-stack'];
      const r = await startVariant(v, echo, flags);
      try {
        const pid = r.child.pid!;
        // 3 s of warm-up: V8 has finished compiling the hot path (its compiler threads would show in the profile).
        await runBounded('taskset', ['-c', CPU_BACKEND, ...rateArgs(r.port, 0, 3)], 30_000);
        const stat = await underLoad(r.port, ['stat', '-x,', '-p', String(pid), ...SYSCALLS.flatMap((s) => ['-e', `syscalls:sys_enter_${s}`]), '-e', 'syscalls:sys_exit_accept4', '--filter', 'ret >= 0']);
        const counts = new Map<string, number>();
        for (const line of stat.perf.split('\n')) {
          const [value, , event] = line.split(',');
          const m = /syscalls:sys_(enter|exit)_(\w+)/.exec(event ?? '');
          if (m && Number(value) > 0) counts.set(m[1] === 'exit' ? 'accepted' : m[2]!, Number(value));
        }
        // Per accepted connection: accept4 calls that returned a socket (HAProxy's threads also make failing ones).
        const accepted = counts.get('accepted') ?? NaN;
        counts.delete('accepted');
        const perConn = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, Number((n / accepted).toFixed(3))]));
        const data = path.join(tmp, `${v.label}.perf.data`);
        const rec = await underLoad(r.port, ['record', '-q', '-e', 'cpu-clock', '-F', '1999', '-g', '-p', String(pid), '-o', data]);
        const b = breakdown(data, pid);
        const row = rows.find((x) => x.variant === v.label)!;
        const all = b.mainSamples + b.otherSamples;
        const us = (n: number) => Number(((n / all) * row.cpuUs).toFixed(1));
        const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, c) => c[1] - a[1]).map(([k, n]) => [k, us(n)]));
        perfRows.push({
          variant: v.label,
          syscallsPerConn: perConn,
          syscallsTotal: Number(Object.values(perConn).reduce((a, c) => a + c, 0).toFixed(2)),
          samples: all,
          perfUsPerConn: Number(((all / 1999) * 1e6 / (rec.perSecond * PERF_SECONDS)).toFixed(1)),
          layersUs: sorted(b.byLayer),
          phasesUs: sorted(b.byPhase),
          syscallCallers: Object.fromEntries(
            [...b.bySyscall].sort((a, c) => c[1].samples - a[1].samples).map(([k, e]) => [k, { us: us(e.samples), by: [...e.callers].sort((a, c) => c[1] - a[1]).slice(0, 3).map(([c]) => c) }]),
          ),
          topFunctionsUs: Object.fromEntries([...b.byFunction].sort((a, c) => c[1] - a[1]).slice(0, 25).map(([k, n]) => [k, us(n)])),
        });
        log(`perf ${v.label}: ${JSON.stringify(perConn)}`);
        rmSync(data, { force: true });
      } finally {
        await stop(r.child);
      }
    }
  }
  await stop(backends.child);
  const report = { machine: { ...machine, loadAfter: os.loadavg().map((l) => l.toFixed(2)).join(' ') }, rows, raw: Object.fromEntries(results), perf: perfRows };
  if (process.env['CP_JSON']) writeFileSync(process.env['CP_JSON'], JSON.stringify(report, null, 2));
  printReport(report);
}

function printReport(report: { machine: Record<string, unknown>; rows: Record<string, number | string>[]; perf: Record<string, any>[] }): void {
  const f = (x: unknown, d = 1) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
  console.log(`machine: ${JSON.stringify(report.machine)}\n`);
  console.log('| variant | conn/s | ×HAProxy nbthread 1 | CPU µs/conn user | sys | total | ×HAProxy nbthread 1 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of report.rows) {
    console.log(`| ${r['variant']} | ${f(r['connPerSec'], 0)} | ${f(r['rateVsH1'], 2)}× | ${f(r['userUs'])} | ${f(r['sysUs'])} | ${f(r['cpuUs'])} | ${f(r['cpuVsH1'], 2)}× |`);
  }
  for (const p of report.perf) {
    console.log(`\n### ${p['variant']}: ${p['syscallsTotal']} system calls per connection; perf's own CPU estimate ${p['perfUsPerConn']} µs/conn`);
    console.log(`syscalls per connection: ${Object.entries(p['syscallsPerConn']).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    console.log('\n| layer | µs/conn |\n|---|---|');
    for (const [k, n] of Object.entries(p['layersUs'])) if ((n as number) >= 0.5) console.log(`| ${k} | ${n} |`);
    console.log('\n| phase (main thread) | µs/conn |\n|---|---|');
    for (const [k, n] of Object.entries(p['phasesUs'])) console.log(`| ${k} | ${n} |`);
    console.log('\nsystem calls, µs/conn (made by):');
    for (const [k, e] of Object.entries(p['syscallCallers'] as Record<string, { us: number; by: string[] }>)) if (e.us >= 0.5) console.log(`  ${String(e.us).padStart(6)}  ${k}  (${e.by.join('; ')})`);
    console.log('\ntop functions (self, builtins charged to their caller), µs/conn:');
    for (const [k, n] of Object.entries(p['topFunctionsUs']).slice(0, 15)) console.log(`  ${String(n).padStart(6)}  ${k}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    log(String(err?.stack ?? err));
    process.exit(1);
  },
);
