/**
 * `npm run test:package`: the package as a user gets it, on this machine, in well under three minutes.
 *
 * 1. `npm pack` the checkout (its `prepack` builds dist/ from a clean state) into a temporary directory, and check
 *    the tarball: every `exports` and `bin` target is in it, LICENSE too; no source map, no src/; publint (strict)
 *    and attw (`--profile esm-only`) find nothing.
 * 2. Install the tarball into an empty project under os.tmpdir() with the peer clients (pg, mysql2, ioredis,
 *    undici, etcd3, and @grpc/grpc-js, protobufjs, @grpc/grpc-js-xds for the xds entry) and @types/node, @types/pg at the versions of this repository's package-lock.json.
 * 3. (a) import every `exports` entry from plain ESM; (b) type-check scripts/package-test/consumer.ts and a file
 *    importing every entry under `strict` with `skipLibCheck: false`, with `node16` and with `bundler`
 *    resolution, and walk the declarations for `any` in exported signatures; (c) run the installed `switchyard`:
 *    `ProxyWorkers` relaying one connection through a worker thread (its entry file, from the installed package),
 *    `npx switchyard -c -f haproxy.cfg` (the walk-through configuration), `npx switchyard --version`,
 *    `node_modules/.bin/switchyard --help`.
 *
 * Prints one line per check and exits 1 when any failed. The temporary directories are removed in every case.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { findAnyInExports } from './package-test/find-any.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HERE = fileURLToPath(new URL('package-test/', import.meta.url));
/** Every child process is killed after this long: the test never hangs. */
const STEP_TIMEOUT_MS = 150_000;

/** What a program must export, per entry: a new entry in `exports` without a line here fails the test. */
const EXPECTED_EXPORTS: Readonly<Record<string, readonly string[]>> = {
  '.': ['Balancer', 'Pool', 'Server', 'LbError', 'ActiveChecker', 'PassiveObserver', 'TcpProxy', 'ManualClock', 'createStrategy'],
  './haproxy': ['parseHaproxyConfig', 'loadHaproxyConfigFile', 'buildFromHaproxyConfig', 'HaproxyInstance', 'formatHaproxyLog', 'haproxyLog'],
  './metrics': ['toPrometheus', 'toShowStat', 'showStatRecords'],
  './discovery': ['followServers', 'Discovery', 'DnsSource'],
  './etcd': ['EtcdSource', 'registerServer', 'Registration', 'FleetHealth', 'FleetKeys'],
  './stats': ['createStatsHandler', 'STATS_PAGE_CSP'],
  './adapters/http': ['BalancedAgent', 'balancedCreateConnection'],
  './adapters/undici': ['balancedConnector'],
  './adapters/pg': ['pgStream', 'pgRoleProbe', 'pgRolePools'],
  './adapters/mysql2': ['mysql2Stream'],
  './adapters/ioredis': ['balancedRedisConnector'],
  './testing': ['faultBackend', 'FaultBackend', 'ManualClock'],
  './xds': ['XdsClient', 'followXdsCluster', 'XdsClusterFollower', 'LoadReporter', 'loadBootstrap', 'mapEndpointSet'],
};
/** Installed next to the tarball, at the lock file's versions: the peer clients and the types a user has. */
const COMPANIONS = ['pg', 'mysql2', 'ioredis', 'undici', 'etcd3', '@grpc/grpc-js', 'protobufjs', '@grpc/grpc-js-xds', '@types/node', '@types/pg'];

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly exports: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  readonly bin: Readonly<Record<string, string>>;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr: err !== null && err.killed ? `${stderr}\n(killed after ${STEP_TIMEOUT_MS} ms)` : stderr });
    });
  });
}

/** The run with how long it took, as ` (12.3 s)`. */
async function timed(pending: Promise<Run>): Promise<Run & { readonly took: string }> {
  const t0 = performance.now();
  const r = await pending;
  return { ...r, took: since(t0) };
}

function since(t0: number): string {
  return ` (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
}

const failures: string[] = [];
const started = performance.now();

function pass(what: string): void {
  console.log(`ok    ${what}`);
}

function fail(what: string, detail = ''): void {
  failures.push(what);
  console.log(`FAIL  ${what}${detail === '' ? '' : `\n${detail.trimEnd().replace(/^/gm, '      ')}`}`);
}

function check(ok: boolean, what: string, detail = ''): boolean {
  if (ok) pass(what);
  else fail(what, detail);
  return ok;
}

function entrySpecifier(name: string, entry: string): string {
  return entry === '.' ? name : `${name}/${entry.slice(2)}`;
}

function exportTargets(pkg: PackageJson): string[] {
  return Object.values(pkg.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)));
}

/** The version of `name` this repository's package-lock.json installs. */
function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name);
const tscPath = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const entries = Object.keys(pkg.exports).filter((e) => e !== './package.json');

const work = mkdtempSync(join(tmpdir(), 'switchyard-package-'));
try {
  await main();
} catch (err) {
  fail('the test itself', String((err as Error).stack ?? err));
} finally {
  rmSync(work, { recursive: true, force: true });
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  console.log(`\n${failures.length} check(s) failed in ${seconds} s: ${failures.join('; ')}`);
  process.exitCode = 1;
} else {
  console.log(`\nthe packed package passed every check in ${seconds} s`);
}

async function main(): Promise<void> {
  // 1. Pack: prepack builds dist/ from a clean state.
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  const packed = await timed(run(npm, ['pack', '--pack-destination', packDir, '--loglevel', 'warn'], ROOT));
  const tarballs = packed.code === 0 ? readdirSync(packDir).filter((f) => f.endsWith('.tgz')) : [];
  if (!check(tarballs.length === 1, `npm pack (prepack builds dist/)${packed.took}`, `${packed.stdout}\n${packed.stderr}`)) return;
  const tarball = join(packDir, tarballs[0] ?? '');

  const listed = await run('tar', ['-tzf', tarball], ROOT);
  const files = new Set(listed.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/^package\//, '')));
  const norm = (p: string): string => p.replace(/^\.\//, '');
  const missing = [...exportTargets(pkg), ...Object.values(pkg.bin), 'LICENSE', 'README.md', 'dist/cli/main.js'].map(norm).filter((p) => !files.has(p));
  check(missing.length === 0, `the tarball holds every exports and bin target, LICENSE and README (${files.size} files)`, `missing: ${missing.join(', ')}`);
  const maps = [...files].filter((f) => f.endsWith('.map'));
  const sources = [...files].filter((f) => f.startsWith('src/') || f.startsWith('test/'));
  check(maps.length === 0 && sources.length === 0, 'no source maps and no src/ or test/ in the tarball', [...maps, ...sources].slice(0, 10).join('\n'));

  // 2. Lint the tarball while an empty project installs it with the peer clients.
  const project = join(work, 'project');
  const companions = COMPANIONS.map((name) => `${name}@${lockedVersion(name)}`);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'switchyard-package-test', private: true, type: 'module' }, null, 2)}\n`);
  const [publint, attw, install] = await Promise.all([
    timed(run(bin('publint'), ['run', tarball, '--strict'], ROOT)),
    timed(run(bin('attw'), [tarball, '--profile', 'esm-only', '--no-definitely-typed', '--format', 'ascii', '--no-color', '--no-emoji'], ROOT)),
    timed(run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'warn', tarball, ...companions], project)),
  ]);
  check(publint.code === 0, `publint --strict${publint.took}`, publint.stdout + publint.stderr);
  check(attw.code === 0, `attw --profile esm-only${attw.took}`, attw.stdout + attw.stderr);
  if (!check(install.code === 0, `npm install <tarball> ${companions.join(' ')}${install.took}`, install.stdout + install.stderr)) return;
  const installedDir = join(project, 'node_modules', pkg.name);

  // 3. Everything below reads the installed project only: start the child processes together.
  const unlisted = entries.filter((e) => EXPECTED_EXPORTS[e] === undefined);
  check(unlisted.length === 0, 'every exports entry has its expected names listed in scripts/test-package.ts', `not listed: ${unlisted.join(', ')}`);
  // (a) Every entry from plain ESM.
  const importCode = [
    `const expected = ${JSON.stringify(Object.fromEntries(entries.map((e) => [entrySpecifier(pkg.name, e), EXPECTED_EXPORTS[e] ?? []])))};`,
    'const problems = [];',
    'for (const [spec, names] of Object.entries(expected)) {',
    '  try {',
    '    const ns = await import(spec);',
    '    const absent = names.filter((n) => ns[n] === undefined);',
    '    if (Object.keys(ns).length === 0 || absent.length > 0) problems.push(`${spec}: missing ${absent.join(", ") || "every export"}`);',
    '  } catch (err) { problems.push(`${spec}: ${err.code ?? ""} ${err.message}`); }',
    '}',
    `const own = await import('${pkg.name}/package.json', { with: { type: 'json' } });`,
    `if (own.default.version !== '${pkg.version}') problems.push('package.json: version ' + own.default.version);`,
    'if (problems.length > 0) { console.error(problems.join("\\n")); process.exit(1); }',
  ].join('\n');
  const imported = timed(run(process.execPath, ['--input-type=module', '-e', importCode], project));
  // (a') ProxyWorkers from the installed package: its worker threads load dist/workers/proxy-worker.js next to the
  // module. One connection through a worker (the main thread does not accept) to a backend on loopback; bounded.
  const workersCode = [
    `import net from 'node:net'; import { Balancer, Pool, ProxyWorkers } from '${pkg.name}';`,
    'const backend = net.createServer((s) => s.end("hello")); await new Promise((r) => backend.listen(0, "127.0.0.1", r));',
    'const pool = new Pool("p", { servers: [{ name: "a", host: "127.0.0.1", port: backend.address().port }] });',
    'const proxy = new ProxyWorkers(new Balancer(pool), { workers: 1, acceptOnMainThread: false });',
    'const guard = setTimeout(() => { console.error("timed out"); process.exit(1); }, 20000);',
    'const { port } = await proxy.listen({ host: "127.0.0.1" });',
    'const got = await new Promise((resolve, reject) => { let d = ""; const c = net.connect(port, "127.0.0.1"); c.on("data", (b) => (d += b)); c.on("end", () => resolve(d)); c.on("error", reject); });',
    'const threads = await proxy.threadStats(); await proxy.close(); backend.close(); clearTimeout(guard);',
    'if (got !== "hello" || threads.length !== 1 || threads[0].stats.total !== 1) { console.error(JSON.stringify({ got, threads })); process.exit(1); }',
  ].join('\n');
  const workers = timed(run(process.execPath, ['--input-type=module', '-e', workersCode], project));

  // (b) Types: every entry and a program using them; strict, skipLibCheck false, node16 and bundler.
  copyFileSync(join(HERE, 'consumer.ts'), join(project, 'consumer.ts'));
  writeFileSync(join(project, 'entries.ts'), entries.map((e, i) => `import * as e${i} from '${entrySpecifier(pkg.name, e)}';\nvoid e${i};\n`).join(''));
  const common = { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', lib: ['ES2023'], types: ['node'] };
  const configs: Record<string, Record<string, unknown>> = {
    node16: { ...common, module: 'node16', moduleResolution: 'node16' },
    bundler: { ...common, module: 'esnext', moduleResolution: 'bundler', exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true },
  };
  // node16 in this process (the same program feeds the walk below), bundler in a child process meanwhile.
  writeFileSync(join(project, 'tsconfig.bundler.json'), `${JSON.stringify({ compilerOptions: configs['bundler'], files: ['entries.ts', 'consumer.ts'] }, null, 2)}\n`);
  const bundler = timed(run(process.execPath, [tscPath, '-p', 'tsconfig.bundler.json'], project));

  // (c) The command, from the installed package, as a user types it. `yes=false` and `offline`: never fetch a
  // `switchyard` from the registry (that name is another package) when the installed bin is missing.
  copyFileSync(join(ROOT, 'examples', 'haproxy.cfg'), join(project, 'haproxy.cfg'));
  const npxEnv = { ...process.env, npm_config_yes: 'false', npm_config_offline: 'true' };
  const checked = run(npx, ['switchyard', '-c', '-f', 'haproxy.cfg'], project, npxEnv);
  const version = run(npx, ['switchyard', '--version'], project, npxEnv);
  const help = run(join(project, 'node_modules', '.bin', 'switchyard'), ['--help'], project);

  const t0 = performance.now();
  const options = ts.convertCompilerOptionsFromJson(configs['node16'], project).options;
  const program = ts.createProgram({ rootNames: [join(project, 'entries.ts'), join(project, 'consumer.ts')], options });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  check(diagnostics.length === 0, `tsc: every entry and consumer.ts, strict, skipLibCheck false, moduleResolution node16${since(t0)}`,
    ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => project, getNewLine: () => '\n' }));
  const t1 = performance.now();
  const findings = findAnyInExports(program, join(project, 'entries.ts'), installedDir);
  check(findings.length === 0, `no \`any\` in the exported signatures of any entry (compiler API walk)${since(t1)}`,
    findings.map((f) => `${f.path}${f.declaredIn === undefined ? '' : ` (${f.declaredIn})`}`).join('\n'));

  const i = await imported;
  check(i.code === 0, `import every entry from plain ESM (${entries.length} entries and package.json)${i.took}`, i.stderr);
  const w = await workers;
  check(w.code === 0, `ProxyWorkers from the installed package: one connection relayed by a worker thread${w.took}`, w.stdout + w.stderr);
  const b = await bundler;
  check(b.code === 0, `tsc: every entry and consumer.ts, strict, skipLibCheck false, moduleResolution bundler${b.took}`, b.stdout + b.stderr);
  const c = await checked;
  check(c.code === 0 && c.stdout === 'Configuration file is valid\n' && c.stderr === '',
    'npx switchyard -c -f haproxy.cfg: "Configuration file is valid", exit 0', JSON.stringify(c));
  const v = await version;
  check(v.code === 0 && v.stdout.startsWith(`switchyard version ${pkg.version} `), `npx switchyard --version: ${v.stdout.split('\n')[0] ?? ''}`, JSON.stringify(v));
  const h = await help;
  check(h.code === 0 && h.stdout.includes('Usage : switchyard') && h.stdout.includes('SIGHUP') && h.stdout.includes('show servers state'),
    'node_modules/.bin/switchyard --help: usage, signals and runtime API on stdout, exit 0', JSON.stringify(h));
}
