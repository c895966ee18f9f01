/**
 * Interleaved A/B runs of issue 13's experiments on loopback: `node --import tsx bench/experiments/ab.ts <suite>`.
 * Each variant is a long-running process that prints `LISTENING <port>` and relays (or echoes) 64-byte exchanges;
 * bench/proxy/loadgen.c `rate` drives it (AB_CONC clients: connect, 64-byte echo, close). Per round every variant
 * runs once, in the same order; each figure is reported as the median over rounds and as the median of the
 * per-round ratio (or difference) to its group's baseline (the first variant of the group), which cancels most of
 * the noise of a shared machine.
 *
 * Suites:
 *   opts     bench/experiments/lean-proxy.mjs flags, the switchyard bench proxy, per Node major (experiment b)
 *   accept   bench/experiments/accept-echo.mjs: one listener vs several (reusePort / duplicated fds) (experiment a)
 *   workers  bench/experiments/workers-proxy.mjs: one process vs worker threads vs cluster, 1 and 2 (experiment c)
 *   hotpath  the switchyard bench proxy with the client read by `onread` and by `data` events
 *            (SWITCHYARD_NO_CLIENT_ONREAD=1), and AB_BEFORE_DIST (a tsc build of an earlier commit) if given
 *
 * Environment: AB_NODES (20,22,24), AB_ROUNDS (5), AB_SECONDS (2), AB_CONC (50), AB_ONLY (comma-separated words:
 * only variants whose label contains one), AB_SYSCALLS=1 (a perf stat pass: system calls per accepted connection),
 * AB_JSON (file for every number). Generator and backends on CPU 0; a variant on CPU 1 unless it says otherwise.
 * Every process is bounded in time and killed by PID at the end.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bench = path.dirname(here);
const repo = path.dirname(bench);
const suite = process.argv[2] ?? 'opts';
/** Majors (22) or exact versions (20.2.0) of Node, from scripts/node-matrix.sh unless it is the running one. */
const NODES = (process.env['AB_NODES'] ?? '20,22,24').split(',');
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['AB_SECONDS'] ?? 2);
const CONC = Number(process.env['AB_CONC'] ?? 50);
const ONLY = process.env['AB_ONLY']?.split(',');
const WARMUP = 0.5;

interface Variant {
  readonly label: string;
  readonly group: string;
  readonly cmd: readonly string[];
  readonly env?: Record<string, string>;
  /** CPUs the variant runs on (taskset -c). */
  readonly cpus?: string;
}

const started = new Set<ChildProcess>();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchyard-ab-'));
process.on('exit', () => {
  for (const c of started) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
const log = (m: string) => process.stderr.write(`${m}\n`);
const loadgen = path.join(tmp, 'loadgen');

function track<T extends ChildProcess>(c: T): T {
  started.add(c);
  c.on('exit', () => started.delete(c));
  return c;
}

function runBounded(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    track(
      execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${command} ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout + stderr),
      ),
    );
  });
}

async function start(cpus: string, cmd: readonly string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = track(spawn('taskset', ['-c', cpus, ...cmd], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } }));
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not start within 20 s`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const m = /LISTENING (\d+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code} before it listened`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** user and system CPU ms of a process and all its descendants (threads included in each process's figure). */
function treeCpuMs(pid: number): { user: number; sys: number } {
  let user = 0;
  let sys = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      user += Number(f[11]) * 10;
      sys += Number(f[12]) * 10;
      for (const t of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) if (t) stack.push(Number(t));
    } catch {
      // exited meanwhile
    }
  }
  return { user, sys };
}

function nodeBinary(spec: string): string {
  if (spec === process.versions.node || (!spec.includes('.') && process.versions.node.split('.')[0] === spec)) return process.execPath;
  return execFileSync(path.join(repo, 'scripts', 'node-matrix.sh'), [spec], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim().split('=')[1]!;
}

function variants(backendPorts: number[]): Variant[] {
  const ports = backendPorts.join(',');
  const out: Variant[] = [];
  for (const spec of NODES) {
    const node = nodeBinary(spec);
    const major: string | number = spec;
    const reusePort = Number(spec.split('.')[0]) >= 22;
    const g = `node ${major}`;
    if (suite === 'opts') {
      const lean = path.join(here, 'lean-proxy.mjs');
      for (const flags of ['base', 'nopeer', 'lnodelay', 'snodelay', 'pause', 'fastclose', 'cread', 'nopeer,lnodelay,pause,fastclose', 'nopeer,lnodelay,fastclose,cread', 'rawup', 'nopeer,lnodelay,rawup', 'raw']) {
        out.push({ label: `${major} ${flags}`, group: g, cmd: [node, lean, flags, ports] });
      }
      out.push({ label: `${major} base UV_USE_IO_URING=0`, group: g, cmd: [node, lean, 'base', ports], env: { UV_USE_IO_URING: '0' } });
      const groups = JSON.stringify({ echo: backendPorts, source: backendPorts });
      out.push({ label: `${major} switchyard`, group: g, cmd: [node, path.join(bench, 'proxy', 'switchyard-proxy.mjs'), path.join(repo, 'build', 'bench-proxy'), groups] });
    } else if (suite === 'hotpath') {
      const proxy = path.join(bench, 'proxy', 'switchyard-proxy.mjs');
      const groups = JSON.stringify({ echo: backendPorts, source: backendPorts });
      const before = process.env['AB_BEFORE_DIST'];
      if (before !== undefined) out.push({ label: `${major} switchyard before`, group: g, cmd: [node, proxy, before, groups] });
      out.push({ label: `${major} switchyard data`, group: g, cmd: [node, proxy, path.join(repo, 'build', 'bench-proxy'), groups], env: { SWITCHYARD_NO_CLIENT_ONREAD: '1' } });
      out.push({ label: `${major} switchyard onread`, group: g, cmd: [node, proxy, path.join(repo, 'build', 'bench-proxy'), groups] });
      if (reusePort) {
        for (const n of [2, 4]) {
          out.push({ label: `${major} switchyard onread, ${n} reusePort listeners`, group: g, cmd: [node, proxy, path.join(repo, 'build', 'bench-proxy'), groups], env: { SWITCHYARD_LISTENERS: String(n) } });
        }
      }
    } else if (suite === 'accept') {
      const echo = path.join(here, 'accept-echo.mjs');
      out.push({ label: `${major} 1 listener`, group: g, cmd: [node, echo, 'one', '1'] });
      out.push({ label: `${major} 2 listeners, dup fd`, group: g, cmd: [node, echo, 'dup', '2'] });
      out.push({ label: `${major} 4 listeners, dup fd`, group: g, cmd: [node, echo, 'dup', '4'] });
      if (reusePort) {
        out.push({ label: `${major} 2 listeners, reusePort`, group: g, cmd: [node, echo, 'reuseport', '2'] });
        out.push({ label: `${major} 4 listeners, reusePort`, group: g, cmd: [node, echo, 'reuseport', '4'] });
      }
    } else if (suite === 'workers') {
      const w = path.join(here, 'workers-proxy.mjs');
      const dist = path.join(repo, 'build', 'bench-proxy');
      const both = '0,1';
      out.push({ label: `${major} one process`, group: g, cmd: [node, w, 'single', '1', dist, ports] });
      out.push({ label: `${major} one process (CPUs 0-1)`, group: g, cmd: [node, w, 'single', '1', dist, ports], cpus: both });
      for (const n of [1, 2]) {
        const cpus = n === 1 ? '1' : both;
        out.push({ label: `${major} threads ×${n}${reusePort ? ' reusePort' : ' shared fd'}`, group: g, cmd: [node, w, 'threads', String(n), dist, ports], cpus });
        out.push({ label: `${major} cluster ×${n} rr`, group: g, cmd: [node, w, 'cluster-rr', String(n), dist, ports], cpus });
        out.push({ label: `${major} cluster ×${n} shared handle`, group: g, cmd: [node, w, 'cluster-shared', String(n), dist, ports], cpus });
        if (reusePort) out.push({ label: `${major} cluster ×${n} reusePort`, group: g, cmd: [node, w, 'cluster-reuseport', String(n), dist, ports], cpus });
      }
    }
  }
  if (suite === 'hotpath') out.push({ label: 'haproxy nbthread 1', group: 'haproxy', cmd: ['haproxy', '1', ports], cpus: '1' });
  if (suite === 'workers' || suite === 'opts') {
    for (const n of [1, 2]) out.push({ label: `haproxy nbthread ${n}`, group: 'haproxy', cmd: ['haproxy', String(n), ports], cpus: n === 1 ? '1' : '0,1' });
  }
  return ONLY === undefined ? out : out.filter((v) => ONLY.some((w) => v.label.includes(w)));
}

async function startVariant(v: Variant): Promise<{ child: ChildProcess; port: number }> {
  if (v.cmd[0] === 'haproxy') {
    const cfgPort = await freePort();
    const cfg = path.join(tmp, `haproxy-${cfgPort}.cfg`);
    const servers = v.cmd[2]!.split(',').map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`).join('\n');
    writeFileSync(cfg, `global\n  nbthread ${v.cmd[1]}\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\nlisten echo\n  bind 127.0.0.1:${cfgPort}\n  balance roundrobin\n${servers}\n`);
    const child = track(spawn('taskset', ['-c', v.cpus ?? '1', '/usr/sbin/haproxy', '-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'ignore'] }));
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      if (/RATE [1-9]/.test(await runBounded(loadgen, ['rate', String(cfgPort), '1', '0', '0.05'], 5000).catch(() => ''))) return { child, port: cfgPort };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('haproxy did not start');
  }
  return start(v.cpus ?? '1', v.cmd, v.env);
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const median = (xs: number[]) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  execFileSync('gcc', ['-O2', '-o', loadgen, path.join(bench, 'proxy', 'loadgen.c')], { stdio: 'inherit' });
  if (suite === 'opts' || suite === 'workers' || suite === 'hotpath') {
    try {
      execFileSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(repo, 'tsconfig.build.json'), '--outDir', path.join(repo, 'build', 'bench-proxy'), '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'], { stdio: 'ignore', timeout: 120_000 });
    } catch {
      log('tsc reported errors; using what it emitted');
    }
  }
  const backends = await new Promise<{ child: ChildProcess; ports: number[] }>((resolve, reject) => {
    const child = track(spawn('taskset', ['-c', '0', loadgen, 'serve', 'echo', '3'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    child.stdout!.once('data', (d: Buffer) => resolve({ child, ports: String(d).trim().split(' ').slice(1).map(Number) }));
    child.on('exit', () => reject(new Error('backends exited')));
  });
  const list = variants(backends.ports);
  const machine = { date: new Date().toISOString(), suite, cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`, kernel: os.release(), loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(' '), rounds: ROUNDS, seconds: SECONDS, conc: CONC };
  log(`machine: ${JSON.stringify(machine)}; ${list.length} variants`);
  const running = new Map<string, { child: ChildProcess; port: number }>();
  for (const v of list) {
    running.set(v.label, await startVariant(v));
    await runBounded('taskset', ['-c', '0', loadgen, 'rate', String(running.get(v.label)!.port), String(CONC), '0', '1'], 20_000); // warm-up
  }
  const res = new Map<string, { rate: number[]; cpu: number[]; user: number[] }>(list.map((v) => [v.label, { rate: [], cpu: [], user: [] }]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const v of list) {
      const r = running.get(v.label)!;
      const before = treeCpuMs(r.child.pid!);
      const out = await runBounded('taskset', ['-c', '0', loadgen, 'rate', String(r.port), String(CONC), String(WARMUP), String(SECONDS)], (SECONDS + 20) * 1000);
      const after = treeCpuMs(r.child.pid!);
      const used = after.user + after.sys - before.user - before.sys;
      const m = /RATE (\d+) ERRORS (\d+)/.exec(out)!;
      const perSecond = Number(m[1]);
      const us = (used * 1000) / (perSecond * (WARMUP + SECONDS));
      res.get(v.label)!.rate.push(perSecond);
      res.get(v.label)!.cpu.push(us);
      res.get(v.label)!.user.push(((after.user - before.user) * 1000) / (perSecond * (WARMUP + SECONDS)));
      log(`round ${round} ${v.label}: ${perSecond} conn/s, ${us.toFixed(1)} µs CPU/conn${Number(m[2]) ? `, ${m[2]} errors` : ''}`);
    }
  }
  const syscalls = new Map<string, Record<string, number>>();
  if (process.env['AB_SYSCALLS'] === '1') {
    const names = ['accept4', 'connect', 'recvfrom', 'sendto', 'fcntl', 'socket', 'close', 'shutdown', 'read', 'write', 'writev', 'recvmsg', 'sendmsg', 'getpeername', 'setsockopt', 'getsockopt', 'epoll_ctl', 'epoll_pwait', 'epoll_wait', 'io_uring_enter', 'futex', 'madvise', 'mmap', 'munmap'].filter((s) =>
      existsSync(`/sys/kernel/tracing/events/syscalls/sys_enter_${s}`),
    );
    for (const v of list) {
      const r = running.get(v.label)!;
      const load = runBounded('taskset', ['-c', '0', loadgen, 'rate', String(r.port), String(CONC), '0', '2.5'], 30_000);
      await new Promise((x) => setTimeout(x, 500));
      // -a would count the whole machine; -p with the process tree's pids counts this variant only.
      const pids = treePids(r.child.pid!);
      const out = await runBounded('perf', ['stat', '-x,', '-p', pids.join(','), ...names.flatMap((n) => ['-e', `syscalls:sys_enter_${n}`]), '-e', 'syscalls:sys_exit_accept4', '--filter', 'ret >= 0', '--', 'sleep', '1.5'], 30_000);
      await load;
      const counts: Record<string, number> = {};
      for (const line of out.split('\n')) {
        const [value, , event] = line.split(',');
        const m = /sys_(enter|exit)_(\w+)/.exec(event ?? '');
        if (m && Number(value) > 0) counts[m[1] === 'exit' ? 'accepted' : m[2]!] = Number(value);
      }
      // Per accepted connection (accept4 calls that returned a socket); failed accept4 calls stay visible.
      const acc = counts['accepted'] ?? NaN;
      delete counts['accepted'];
      const per = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, Number((n / acc).toFixed(2))]));
      syscalls.set(v.label, per);
      log(`syscalls ${v.label}: ${JSON.stringify(per)}`);
    }
  }
  for (const r of running.values()) await stop(r.child);
  await stop(backends.child);
  const rows = list.map((v) => {
    const base = list.find((b) => b.group === v.group)!;
    const a = res.get(v.label)!;
    const b = res.get(base.label)!;
    return {
      label: v.label,
      group: v.group,
      connPerSec: median(a.rate),
      rateVsBase: median(a.rate.map((x, i) => x / b.rate[i]!)),
      cpuUs: median(a.cpu),
      userUs: median(a.user),
      cpuVsBase: median(a.cpu.map((x, i) => x / b.cpu[i]!)),
      cpuDeltaUs: median(a.cpu.map((x, i) => x - b.cpu[i]!)),
      syscalls: syscalls.get(v.label),
    };
  });
  const report = { machine: { ...machine, loadAfter: os.loadavg().map((l) => l.toFixed(2)).join(' ') }, rows, raw: Object.fromEntries(res) };
  if (process.env['AB_JSON']) writeFileSync(process.env['AB_JSON'], JSON.stringify(report, null, 2));
  console.log(`machine: ${JSON.stringify(report.machine)}\n`);
  console.log('| variant | conn/s | ×base (per-round median) | CPU µs/conn | of which user | ×base | Δ µs vs base | syscalls/conn |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const sc = r.syscalls ? `${Object.values(r.syscalls).reduce((x, y) => x + y, 0).toFixed(1)} (${Object.entries(r.syscalls).map(([k, n]) => `${k} ${n}`).join(', ')})` : '';
    console.log(`| ${r.label} | ${r.connPerSec.toFixed(0)} | ${r.rateVsBase.toFixed(2)}× | ${r.cpuUs.toFixed(1)} | ${r.userUs.toFixed(1)} | ${r.cpuVsBase.toFixed(2)}× | ${r.cpuDeltaUs >= 0 ? '+' : ''}${r.cpuDeltaUs.toFixed(1)} | ${sc} |`);
  }
}

function treePids(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    try {
      for (const t of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) if (t) stack.push(Number(t));
    } catch {
      // exited
    }
  }
  return out;
}

main().then(
  () => process.exit(0),
  (err) => {
    log(String(err?.stack ?? err));
    process.exit(1);
  },
);
