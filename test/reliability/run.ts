/**
 * `npm run test:reliability [-- --full]`: runs the reliability suites (test/reliability/*.rel.ts), one process per
 * file and one file at a time, at the CI sizes or with `--full` at the full sizes (SWITCHYARD_RELIABILITY=full
 * does the same). Extra arguments are file filters: `npm run test:reliability -- soak`. `--workers=2` runs the suites
 * that take a proxy (byte integrity, faults under load, soak) with `ProxyWorkers` on 2 threads instead of one `TcpProxy`.
 *
 * The soak suite holds tens of thousands of sockets: when running as root the open-file limit of the suites is
 * raised (`ulimit -n`) first; otherwise the suite sizes its idle connections to the limit it finds and says so.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const full = args.includes('--full') || process.env['SWITCHYARD_RELIABILITY'] === 'full';
/** `--workers=N`: the suites that take a proxy (integrity, faults under load, soak) run it as ProxyWorkers with N threads. */
const workers = Number(args.find((a) => a.startsWith('--workers='))?.slice('--workers='.length) ?? 0);
const filters = args.filter((a) => !a.startsWith('--'));
if (workers > 0 && filters.length === 0) filters.push('byte-integrity', 'faults-under-load', 'soak-leaks');
const files = readdirSync(here, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.rel.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => `test/reliability/${f}`);
/** Open files wanted by the full soak (10 000 idle connections hold four descriptors each in one process). */
const NOFILE = 65_536;
/** The whole run's hang guard: CI sizes take about a minute, the full sizes about ten (SWITCHYARD_RELIABILITY_GUARD_S sets it). */
const GUARD_MS = Number(process.env['SWITCHYARD_RELIABILITY_GUARD_S'] ?? (full ? 3600 : 480)) * 1000;

const node = ['node', '--expose-gc', '--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files].map((a) => `'${a}'`).join(' ');
const command = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n hard 2>/dev/null || true; exec ${node}`;
const started = performance.now();
process.stdout.write(`== reliability suites, ${full ? 'full' : 'ci'} sizes${workers > 0 ? `, ${workers} proxy workers` : ''}: ${files.join(' ')}\n`);
const child = spawn('bash', ['-c', command], {
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, SWITCHYARD_RELIABILITY: full ? 'full' : 'ci', SWITCHYARD_RELIABILITY_WORKERS: String(workers) },
});
// Every test has its own timeout, but a test that timed out can leave a listener open and keep its file's
// process alive: end the whole run (this child's process group, nothing else) after a bound, as a failure.
const guard = setTimeout(() => {
  process.stdout.write(`== reliability suites still running after ${GUARD_MS / 1000} s: ending them (process group ${child.pid})\n`);
  endGroup('SIGKILL');
}, GUARD_MS);
/** Signals the suites' process group (started detached so that it can be ended as a whole). */
function endGroup(signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => endGroup(signal));
child.on('exit', (code, signal) => {
  clearTimeout(guard);
  process.stdout.write(`== reliability suites done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  process.exitCode = code ?? (signal === null ? 1 : 128);
});
