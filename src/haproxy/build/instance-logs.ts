/**
 * The log lines of a running configuration: HAProxy's state-change lines of each backend (the `[WARNING]` copy on
 * stderr and the line to the section's log targets, at HAProxy's syslog level) and the `tcplog` line of each
 * finished connection.
 */
import type { ConnectionRecord, ProxySocket } from '../../proxy/tcp-proxy.js';
import type { GlobalConfig, LogLevel } from '../config/types.js';
import { type HaproxyLogEvent, formatHaproxyLog, haproxyLog } from '../log/format.js';
import { type LogOutput, type LogTargets, proxyLogTargets } from '../log/output.js';
import type net from 'node:net';
import os from 'node:os';
import { LbError } from '../../errors.js';
import { type LogFormat, compileLogFormat } from '../log/log-format.js';
import { loggedServer } from '../log/tcplog.js';
import { DISPATCH_SERVER, type HaproxyBackend, type HaproxyFrontend } from './instance-types.js';

/** Follows a backend's state changes with HAProxy's lines; returns the function that stops following. */
export function followStateLines(backend: HaproxyBackend, log: LogOutput, global: GlobalConfig): () => void {
  const targets = proxyLogTargets(backend.config, global);
  const section = backend.kind === 'listen' ? 'proxy' : 'backend';
  return haproxyLog(backend.pool, (line, event) => {
    if (event.kind === 'no-server') log.alert(formatHaproxyLog({ ...event, stderr: true }));
    else log.warning(line);
    log.send(targets, levelOf(event), line);
  }, { logHealthChecks: backend.config.logHealthChecks, section, queue: backend.balancer, sessions: (server) => server.openConnections });
}

/** The host field of syslog headers: global `log-send-hostname` (none: the system's host name), else none. */
export function syslogHostname(global: Pick<GlobalConfig, 'logSendHostname'>): { readonly hostname?: string } {
  const h = global.logSendHostname;
  return h === undefined ? {} : { hostname: h === true ? os.hostname() : h };
}

/** What {@link followTrafficLines} reads of the instance at each line. */
export interface TrafficSource {
  readonly date: () => Date;
  readonly pid: number;
  /** Live client connections of the instance. */
  processConnections(): number;
  /** Live connections of every frontend feeding the frontend's backend (HAProxy's `beconn`). */
  backendSessions(): number;
  /** The id of the unix-socket listener a client socket came from (logged as `unix:<id>`), or undefined for TCP. */
  unixListener?(socket: ProxySocket): number | undefined;
}

/**
 * Logs a line per finished connection of frontend `f` to `targets` in its format (`option tcplog` or
 * `log-format`; none: nothing), at `info`, skipping connections that sent nothing under `option dontlognull`.
 */
export function followTrafficLines(f: HaproxyFrontend, log: LogOutput, targets: LogTargets, source: TrafficSource): void {
  const text = f.config.logFormat;
  if (text === undefined || targets.length === 0) return;
  const compiled = compileLogFormat(text);
  // The parser checked the format already; a failure here is a bug, not a configuration error.
  if (!compiled.ok) throw new LbError('ERR_LB_CONFIG', `log-format of ${f.name}: ${compiled.message}`);
  const format = compiled.format;
  const hostname = os.hostname();
  let logCount = 0;
  const line = (closed: ConnectionRecord, luid: number | undefined): void => {
    if (f.config.dontLogNull && closed.bytesIn === 0) return;
    const record = luid === undefined ? closed : { ...closed, clientAddress: 'unix', clientPort: luid };
    const context = { processConnections: source.processConnections(), backendSessions: source.backendSessions(), pid: source.pid, hostname, logCount };
    logCount++;
    log.send(targets, 'info', trafficLine(f, format, record, source.date(), context));
  };
  f.proxy.on('connection:close', (closed, connection) => line(closed, source.unixListener?.(connection.client)));
  // With nbthread > 1 the TCP binds are served by the frontend's proxy threads, whose records come here (TCP only).
  f.workers?.on('connection:close', (closed) => line(closed, undefined));
}

/** True when a frontend's log format prints local addresses (`%fi %fp %bi %bp`): its proxy must record them. */
export function usesLocalAddresses(logFormat: string | undefined): boolean {
  if (logFormat === undefined) return false;
  const compiled = compileLogFormat(logFormat);
  return compiled.ok && ['fi', 'fp', 'bi', 'bp'].some((v) => compiled.variables.has(v));
}

/** What a traffic log line needs besides the record: the process's counts and identity, the frontend's log count. */
export interface TrafficLineContext {
  /** Live client connections of the instance, this one no longer among them. */
  readonly processConnections: number;
  /** Live connections of every frontend feeding this frontend's backend (HAProxy's `beconn`), this one no longer among them. */
  readonly backendSessions: number;
  readonly pid: number;
  readonly hostname: string;
  /** Lines the frontend logged before this one (`%lc`). */
  readonly logCount: number;
}

/**
 * The traffic log line of a finished connection of frontend `f` in its format (`option tcplog` or `log-format`),
 * with HAProxy's counts at the moment it logs (`src/stream.c process_stream()`): the server's slot and the
 * backend's count are already released, the frontend's and the process's not yet.
 */
export function trafficLine(f: HaproxyFrontend, format: LogFormat, record: ConnectionRecord, now: Date, c: TrafficLineContext): string {
  const dispatch = f.backend?.dispatch?.pool.find(DISPATCH_SERVER);
  // A dispatch address is no server: HAProxy names none (`<NOSRV>`) and counts no session on it.
  const name = dispatch !== undefined && record.server === DISPATCH_SERVER ? undefined : loggedServer(record);
  const server = name === undefined ? undefined : f.backend?.pool.find(name);
  const reached = record.server === DISPATCH_SERVER ? dispatch : server;
  return format({
    record,
    frontend: f.name,
    backend: f.backend?.name ?? f.name,
    server: name,
    // The connection went (or was being made) to the server's address; a queued one never had one.
    ...(reached === undefined || record.termination.endsWith('Q') ? {} : { serverAddress: { host: reached.host, port: reached.port } }),
    acceptedAt: new Date(now.getTime() - record.durationMs),
    processConnections: c.processConnections + 1,
    frontendConnections: f.proxy.connections + 1,
    backendConnections: c.backendSessions,
    // HAProxy's `%sc` is the server's `cur_sess`: connections established or being made to it (not a slot just
    // handed to a queued connection that has not started its attempt yet).
    serverConnections: server?.openConnections ?? 0,
    serverQueue: record.serverQueuePosition,
    backendQueue: record.balancerQueuePosition,
    pid: c.pid,
    hostname: c.hostname,
    logCount: c.logCount,
  });
}

/** The syslog level HAProxy gives each message (`src/server.c srv_update_status()`, `backend.c set_backend_down()`). */
function levelOf(event: HaproxyLogEvent): LogLevel {
  switch (event.kind) {
    case 'no-server':
      return 'emerg';
    case 'server-down':
    case 'maint-enter':
      return 'alert';
    default:
      return 'notice';
  }
}
