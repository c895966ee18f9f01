/**
 * `switchyard -f <file>`: runs a configuration in the foreground, as `haproxy -db -f <file>` does. Config
 * warnings are printed like HAProxy's, state changes and traffic lines go where the `log` lines say, the
 * runtime API answers on the `stats socket`s. Stops on SIGTERM/SIGINT (graceful, bounded), SIGUSR1 (HAProxy's
 * soft stop: stop listening, finish every live connection, exit); SIGHUP dumps every server's state to the log,
 * as HAProxy does, and keeps running.
 */
import type net from 'node:net';
import { LbError } from '../errors.js';
import { buildFromHaproxyConfig } from '../haproxy/from-config.js';
import type { HaproxyFrontend, HaproxyInstance } from '../haproxy/build/instance.js';
import type { ProxyConnection } from '../proxy/tcp-proxy.js';
import { inheritedSocketAlerts } from '../haproxy/build/listeners.js';
import { buildDiagnostics } from '../haproxy/config/library-options.js';
import { listenerCount } from './check.js';
import { type ConfigDiagnostic, formatDiagnostic } from '../haproxy/config/diagnostics.js';
import { loadHaproxyConfigFile } from '../haproxy/config/file.js';
import type { ConfigEnv } from '../haproxy/config/tokenizer.js';
import type { HaproxyConfig } from '../haproxy/config/types.js';
import { dumpServersStates } from '../haproxy/runtime/servers-dump.js';
import { statsPageOf } from '../stats/from-config.js';

/** The signals the run mode handles. */
export type RunSignal = 'SIGTERM' | 'SIGINT' | 'SIGUSR1' | 'SIGHUP';

/** Where a run writes and how it hears signals (injected by tests). */
export interface RunIo {
  /** Writes text as is (it carries its newlines). */
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly pid: number;
  readonly executable: string;
  readonly version: string;
  readonly env: ConfigEnv;
  /** Subscribes to a signal; returns the unsubscribe function. */
  readonly onSignal: (signal: RunSignal, handler: () => void) => () => void;
}

/** Options of {@link runConfigFiles}. */
export interface RunOptions {
  /** `-q`: no `[NOTICE]`/`[WARNING]` messages on stderr (log targets still write). */
  readonly quiet: boolean;
  /** `-d`: HAProxy's debug trace of each connection on stdout. */
  readonly debug: boolean;
  /** Called once everything listens (tests, the demo). */
  readonly started?: (instance: HaproxyInstance) => void;
}

/** After SIGTERM/SIGINT, connections still open after this long are cut. A second signal cuts them at once. */
export const STOP_DEADLINE_MS = 5000;

/** The signals and what each does, for `--help` and the docs. */
export const RUN_SIGNALS: readonly (readonly [RunSignal, string])[] = [
  ['SIGTERM', `graceful stop: stop listening, let connections finish for up to ${STOP_DEADLINE_MS / 1000} s, then cut them (exit 0)`],
  ['SIGINT', 'same as SIGTERM; a second SIGTERM or SIGINT cuts the connections at once'],
  ['SIGUSR1', 'soft stop: stop listening, wait for every live connection however long, exit 0'],
  ['SIGHUP', "dump every server's state to stderr and the log targets, keep running"],
];

/** Runs the configuration until a signal stops it; resolves with the exit status. Never throws for bad input. */
export async function runConfigFiles(paths: readonly string[], io: RunIo, options: RunOptions): Promise<number> {
  const { pid } = io;
  const notices = [`[NOTICE]   (${pid}) : switchyard version is ${io.version}`, `[NOTICE]   (${pid}) : path to executable is ${io.executable}`];
  const err = (line: string): void => {
    if (!options.quiet) io.stderr(`${line}\n`);
  };
  let config: HaproxyConfig;
  try {
    config = await loadHaproxyConfigFile(paths, { env: io.env });
  } catch (e) {
    if (!LbError.is(e) || e.code !== 'ERR_LB_CONFIG') throw e;
    printAlerts(io, (e.details['diagnostics'] ?? []) as readonly ConfigDiagnostic[], notices);
    return 1;
  }
  const fromBuild = [...buildDiagnostics(config), ...inheritedSocketAlerts(config)];
  const warnings = [...config.warnings, ...fromBuild.filter((d) => d.severity === 'warning')];
  const alerts = fromBuild.filter((d) => d.severity === 'alert');
  if (alerts.length > 0) {
    printAlerts(io, [...warnings, ...alerts], notices);
    return 1;
  }
  if (warnings.length > 0) {
    for (const line of notices) err(line);
    for (const w of warnings) err(formatDiagnostic(w, pid));
  }
  if (listenerCount(config) === 0) {
    err(`[ALERT]    (${pid}) : [switchyard.main()] No enabled listener found (check for 'bind' directives) ! Exiting.`);
    return 1;
  }

  let traceId = 0;
  // HAProxy prints its two notices before the first warning: the saved server states may give the first one.
  let noticed = warnings.length > 0;
  const stderr = (text: string): void => {
    if (!noticed && text.includes(' : config : ')) {
      noticed = true;
      for (const line of notices) err(line);
    }
    io.stderr(text);
  };
  const instance = buildFromHaproxyConfig(config, {
    stderr,
    stdout: io.stdout,
    pid,
    warnings: !options.quiet,
    version: io.version,
    statsPage: statsPageOf,
    ...(options.debug ? { onAccept: (f: HaproxyFrontend, socket: net.Socket) => trace(io, f, socket, traceId++) } : {}),
  });
  let stopped!: () => void;
  const whenStopped = new Promise<void>((resolve) => (stopped = resolve));
  let stopping = false;
  const stop = (soft: boolean): void => {
    if (stopping) {
      // A second signal: stop waiting for connections.
      instance.destroy();
      return;
    }
    stopping = true;
    if (soft) {
      for (const f of instance.frontends.values()) {
        const fe = f.proxy.stats().total;
        const be = f.kind === 'listen' ? (f.backend?.balancer.stats().totalLeases ?? 0) : 0;
        instance._warnAndLog(f.name, `Proxy ${f.name} stopped (cumulated conns: FE: ${fe}, BE: ${be}).`);
      }
    }
    // close() waits for a start() in progress, so a signal during start-up stops what it started.
    instance.close(soft ? {} : { deadlineMs: STOP_DEADLINE_MS }).then(stopped, stopped);
  };
  // Handlers first, then listen (as HAProxy does): a signal sent as soon as the port answers must not find
  // Node's default action, which kills the process and leaves the stats socket file behind.
  const unsubscribe = [
    io.onSignal('SIGTERM', () => stop(false)),
    io.onSignal('SIGINT', () => stop(false)),
    io.onSignal('SIGUSR1', () => stop(true)),
    io.onSignal('SIGHUP', () => dumpServersStates(instance)),
  ];
  try {
    try {
      await instance.start();
    } catch (e) {
      err(`[ALERT]    (${pid}) : ${(e as Error).message}`);
      err(`[ALERT]    (${pid}) : [switchyard.main()] Some protocols failed to start their listeners! Exiting.`);
      return 1;
    }
    options.started?.(instance);
    await whenStopped;
    return 0;
  } finally {
    for (const off of unsubscribe) off();
  }
}

function printAlerts(io: RunIo, diagnostics: readonly ConfigDiagnostic[], notices: readonly string[]): void {
  const pid = io.pid;
  const lines = [...notices, ...diagnostics.map((d) => formatDiagnostic(d, pid))];
  if (!diagnostics.some((d) => d.line === 0)) {
    const files = [...new Set(diagnostics.filter((d) => d.severity === 'alert').map((d) => d.file))];
    for (const file of files) lines.push(`[ALERT]    (${pid}) : config : Error(s) found in configuration file : ${file}`);
    lines.push(`[ALERT]    (${pid}) : config : Fatal errors found in configuration.`);
  }
  for (const line of lines) io.stderr(`${line}\n`);
}

/** HAProxy's `-d` trace: `00000000:fe.accept(0004)=000c from [127.0.0.1:53214] ALPN=<none>`, then the close lines. */
function trace(io: RunIo, f: HaproxyFrontend, socket: net.Socket, id: number): void {
  const hex = (n: number, width: number): string => (n < 0 ? 'f'.repeat(width) : n.toString(16).padStart(width, '0'));
  const uid = hex(id, 8);
  const fd = (s: net.Socket | undefined): number => (s as { _handle?: { fd?: number } } | undefined)?._handle?.fd ?? -1;
  io.stdout(`${uid}:${f.name}.accept(${hex(-1, 4)})=${hex(fd(socket), 4)} from [${socket.remoteAddress ?? '-'}:${socket.remotePort ?? 0}] ALPN=<none>\n`);
  let serverClosedFirst = false;
  const onOpen = (c: ProxyConnection): void => {
    if (c.client !== socket) return;
    c.upstream?.once('end', () => (serverClosedFirst = true));
  };
  f.proxy.on('connection:open', onOpen);
  socket.once('close', () => {
    f.proxy.off('connection:open', onOpen);
    io.stdout(`${uid}:${f.name}.${serverClosedFirst ? 'srvcls' : 'clicls'}[ffff:ffff]\n`);
    io.stdout(`${uid}:${f.name}.closed[ffff:ffff]\n`);
  });
}
