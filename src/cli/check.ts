/**
 * `switchyard -c -f <file>`: checks a configuration and reports like `haproxy -c` (HAProxy 2.6): the same
 * alert and warning lines on stderr, `Configuration file is valid` on stdout, exit status 0 (valid),
 * 1 (errors) or 2 (valid but nothing to listen on).
 */
import { LbError } from '../errors.js';
import { buildFromHaproxyConfig } from '../haproxy/from-config.js';
import { formatDiagnostic, type ConfigDiagnostic } from '../haproxy/config/diagnostics.js';
import { inheritedSocketAlerts } from '../haproxy/build/listeners.js';
import { buildDiagnostics } from '../haproxy/config/library-options.js';
import { loadHaproxyConfigFile } from '../haproxy/config/file.js';
import type { ConfigEnv } from '../haproxy/config/tokenizer.js';
import type { HaproxyConfig } from '../haproxy/config/types.js';

/** What a check printed and its exit status; the caller writes it out. */
export interface CheckReport {
  readonly exitCode: 0 | 1 | 2;
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
}

/** Options of {@link checkConfigFiles}. */
export interface CheckOptions {
  /** Process id shown in the `[ALERT]    (<pid>)` prefix. */
  readonly pid: number;
  /** Version shown in the `[NOTICE]` header. */
  readonly version: string;
  /** Path shown as "path to executable". */
  readonly executable: string;
  /** `-q`: print nothing, only the exit status tells. @defaultValue false */
  readonly quiet?: boolean;
  /** Variables for `"${VAR}"` expansion. @defaultValue process.env */
  readonly env?: ConfigEnv;
}

/** Checks the files as one configuration and returns what `haproxy -c` would print. Never throws for bad input. */
export async function checkConfigFiles(paths: readonly string[], options: CheckOptions): Promise<CheckReport> {
  const { pid } = options;
  const notices = [
    `[NOTICE]   (${pid}) : switchyard version is ${options.version}`,
    `[NOTICE]   (${pid}) : path to executable is ${options.executable}`,
  ];
  const report = (exitCode: 0 | 1 | 2, stdout: string[], stderr: string[]): CheckReport =>
    options.quiet === true ? { exitCode, stdout: [], stderr: [] } : { exitCode, stdout, stderr };
  try {
    const loaded = await loadHaproxyConfigFile(paths, options.env === undefined ? {} : { env: options.env });
    // What the file allows but the objects cannot do: the builder refuses it, so the check does too.
    const fromBuild = [...buildDiagnostics(loaded), ...inheritedSocketAlerts(loaded)];
    const buildAlerts = fromBuild.filter((d) => d.severity === 'alert');
    const config = { ...loaded, warnings: [...loaded.warnings, ...fromBuild.filter((d) => d.severity === 'warning')] };
    if (buildAlerts.length > 0) {
      const stderr = [...notices, ...[...config.warnings, ...buildAlerts].map((d) => formatDiagnostic(d, pid))];
      for (const file of new Set(buildAlerts.map((d) => d.file))) stderr.push(`[ALERT]    (${pid}) : config : Error(s) found in configuration file : ${file}`);
      stderr.push(`[ALERT]    (${pid}) : config : Fatal errors found in configuration.`);
      return report(1, [], stderr);
    }
    // `haproxy -c` loads the saved server states too, and prints what loading them says.
    const stateLines = await serverStateWarnings(config, pid);
    // A warning HAProxy prints as a non-fatal [ALERT] is printed, but does not make `Warnings were found.`.
    const printed = config.warnings.length > 0 || stateLines.length > 0;
    const warned = config.warnings.some((w) => w.printedAs !== 'alert') || stateLines.length > 0;
    const stderr = printed ? [...notices, ...config.warnings.map((w) => formatDiagnostic(w, pid)), ...stateLines] : [];
    const stdout = warned ? ['Warnings were found.'] : [];
    if (listenerCount(config) === 0) {
      return report(2, [...stdout, 'Configuration file has no error but will not start (no listener) => exit(2).'], stderr);
    }
    return report(0, [...stdout, 'Configuration file is valid'], stderr);
  } catch (err) {
    if (!LbError.is(err) || err.code !== 'ERR_LB_CONFIG') throw err;
    const diagnostics = (err.details['diagnostics'] ?? []) as readonly ConfigDiagnostic[];
    const stderr = [...notices, ...diagnostics.map((d) => formatDiagnostic(d, pid))];
    const unreadable = diagnostics.some((d) => d.line === 0);
    if (!unreadable) {
      const files = [...new Set(diagnostics.filter((d) => d.severity === 'alert').map((d) => d.file))];
      for (const file of files) stderr.push(`[ALERT]    (${pid}) : config : Error(s) found in configuration file : ${file}`);
      stderr.push(`[ALERT]    (${pid}) : config : Fatal errors found in configuration.`);
    }
    return report(1, [], stderr);
  }
}

/**
 * What HAProxy counts as listeners when it decides whether to start (`src/haproxy.c`: every listener, the
 * `stats socket`s included): the `bind` lines of frontend and listen sections and the runtime API sockets. A
 * configuration whose only listener is a stats socket runs (its backends are checked and driven through the API).
 */
export function listenerCount(config: Pick<HaproxyConfig, 'frontends' | 'listens' | 'global'>): number {
  return [...config.frontends, ...config.listens].reduce((n, p) => n + p.binds.length, 0) + config.global.statsSockets.length;
}

/** What loading the configuration's server state files prints (`load-server-state-from-file`), line by line. */
async function serverStateWarnings(config: HaproxyConfig, pid: number): Promise<string[]> {
  if (config.global.serverStateFile === undefined && ![...config.backends, ...config.listens].some((b) => b.loadServerState !== 'none')) return [];
  const out: string[] = [];
  const instance = buildFromHaproxyConfig(config, { pid, statsSockets: false, stderr: (t) => out.push(...t.replace(/\n$/, '').split('\n')), stdout: () => {} });
  try {
    await instance._loadServerState();
  } finally {
    instance.destroy();
  }
  return out;
}
