/**
 * `buildFromHaproxyConfig(config)`: the objects a parsed configuration describes — per backend (or listen) a
 * `Pool`, a `Balancer`, an `ActiveChecker` when servers have `check`, a `PassiveObserver` when they have
 * `observe layer4`; per frontend (or listen) a `TcpProxy` towards its backend — wired to HAProxy's log lines.
 * Nothing listens, checks or logs until {@link HaproxyInstance.start}.
 */
import type http from 'node:http';
import type net from 'node:net';
import { type Clock, systemClock } from '../clock.js';
import { LbError } from '../errors.js';
import * as v from '../internal/validate.js';
import { type HaproxyFrontend, HaproxyInstance } from './build/instance.js';
import { configError } from './config/diagnostics.js';
import { buildDiagnostics, type StatsSection } from './config/library-options.js';
import type { HaproxyConfig } from './config/types.js';
import { RuntimeApi } from './runtime/api.js';

export { HaproxyInstance } from './build/instance.js';
export type { HaproxyBackend, HaproxyFrontend, HaproxyCloseOptions } from './build/instance.js';

/** Options of {@link buildFromHaproxyConfig}. */
export interface BuildHaproxyOptions {
  /** Source of time for checks, timeouts and queues. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Wall-clock time for log headers and `tcplog` dates. @defaultValue () => new Date() */
  readonly date?: () => Date;
  /** Writes to standard error: `log stderr` targets and the `[WARNING]` copies of state messages. @defaultValue process.stderr */
  readonly stderr?: (text: string) => void;
  /** Writes to standard output: `log stdout` targets. @defaultValue process.stdout */
  readonly stdout?: (text: string) => void;
  /** Process id shown in `[WARNING]  (<pid>)` lines, syslog headers and `show info`. @defaultValue process.pid */
  readonly pid?: number;
  /**
   * Print HAProxy's stderr copy of every state message (`[WARNING]  (<pid>) : Server web/s1 is DOWN…`,
   * `[ALERT]    (<pid>) : backend 'web' has no server available!`), as `haproxy -db` does. @defaultValue true
   */
  readonly warnings?: boolean;
  /** Open the `stats socket` listeners (the runtime API) on start. @defaultValue true */
  readonly statsSockets?: boolean;
  /** Program name in syslog headers (HAProxy's `log-tag`). @defaultValue 'haproxy' */
  readonly logTag?: string;
  /** Version reported by `show info` and `show version`. @defaultValue 'switchyard' */
  readonly version?: string;
  /** Uniform random numbers in [0, 1) for `balance random` and `spread-checks`. @defaultValue Math.random */
  readonly random?: () => number;
  /** Called with every accepted connection before it is proxied (the CLI's `-d` trace uses it). @defaultValue none */
  readonly onAccept?: (frontend: HaproxyFrontend, socket: net.Socket) => void;
  /**
   * The request handler of each section that serves the stats page (`mode http` + `stats …`), e.g.
   * `(section, instance) => createStatsHandler(statsHandlerOptionsOf(section, instance))` from `switchyard/stats`
   * (the CLI does this). Without it those sections are not served. @defaultValue none
   */
  readonly statsPage?: (section: StatsSection, instance: HaproxyInstance) => http.RequestListener;
}

const OPTION_KEYS = ['clock', 'date', 'stderr', 'stdout', 'pid', 'warnings', 'statsSockets', 'logTag', 'version', 'random', 'onAccept', 'statsPage'] as const;

/**
 * Builds the objects of a parsed configuration, the same a programmer would write by hand: one `Pool`,
 * `Balancer`, optional `ActiveChecker` and `PassiveObserver` per backend or listen section, one `TcpProxy` per
 * frontend or listen section. HAProxy's log lines (state changes, `option tcplog` lines) go to the configured
 * `log` targets. Nothing listens, checks or logs until `start()`; `close()` stops gracefully.
 *
 * Throws `ERR_LB_CONFIG` (with HAProxy-shaped diagnostics) for what the description allows but the objects
 * cannot do, such as a `tcp-check connect send-proxy`; `switchyard -c` reports the same.
 *
 * @example
 * ```ts
 * const haproxy = buildFromHaproxyConfig(await loadHaproxyConfigFile('haproxy.cfg'))
 * await haproxy.start()
 * haproxy.backend('web').pool.on('server:down', (s) => console.warn(s.name, 'is down'))
 * // later
 * await haproxy.close()
 * ```
 */
export function buildFromHaproxyConfig(config: HaproxyConfig, options: BuildHaproxyOptions = {}): HaproxyInstance {
  const o = v.plainObject('build options', options);
  v.knownKeys('build options', o, OPTION_KEYS);
  if (typeof config !== 'object' || config === null || !Array.isArray((config as Partial<HaproxyConfig>).backends)) {
    throw new LbError('ERR_LB_INVALID_ARG', 'config must be the result of parseHaproxyConfig() or loadHaproxyConfigFile()');
  }
  const diagnostics = buildDiagnostics(config);
  const alert = diagnostics.find((d) => d.severity === 'alert');
  if (alert !== undefined) throw configError(alert.file, diagnostics);
  const fn = (name: string, value: unknown): void => {
    if (value !== undefined && typeof value !== 'function') throw new LbError('ERR_LB_INVALID_ARG', `${name} must be a function, got ${typeof value}`);
  };
  fn('date', o['date']);
  fn('stderr', o['stderr']);
  fn('stdout', o['stdout']);
  fn('random', o['random']);
  fn('onAccept', o['onAccept']);
  fn('statsPage', o['statsPage']);
  return new HaproxyInstance(config, {
    clock: (o['clock'] as Clock | undefined) ?? systemClock,
    date: (o['date'] as (() => Date) | undefined) ?? (() => new Date()),
    stderr: (o['stderr'] as ((t: string) => void) | undefined) ?? ((t) => process.stderr.write(t)),
    stdout: (o['stdout'] as ((t: string) => void) | undefined) ?? ((t) => process.stdout.write(t)),
    pid: o['pid'] === undefined ? process.pid : v.positiveInteger('pid', o['pid']),
    warnings: v.boolean('warnings', o['warnings'] ?? true),
    statsSockets: v.boolean('statsSockets', o['statsSockets'] ?? true),
    logTag: o['logTag'] === undefined ? 'haproxy' : v.nonEmptyString('logTag', o['logTag']),
    version: o['version'] === undefined ? 'switchyard' : v.nonEmptyString('version', o['version']),
    random: (o['random'] as (() => number) | undefined) ?? Math.random,
    onAccept: o['onAccept'] as BuildHaproxyOptions['onAccept'],
    statsApi: (instance, sockets, apiOptions) => new RuntimeApi(instance, sockets, apiOptions),
    statsPage: o['statsPage'] as BuildHaproxyOptions['statsPage'],
  });
}
