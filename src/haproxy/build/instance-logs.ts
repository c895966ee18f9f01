/**
 * The log lines of a running configuration: HAProxy's state-change lines of each backend (the `[WARNING]` copy on
 * stderr and the line to the section's log targets, at HAProxy's syslog level) and the `tcplog` line of each
 * finished connection.
 */
import type { ConnectionRecord } from '../../proxy/tcp-proxy.js';
import type { GlobalConfig, LogLevel } from '../config/types.js';
import { type HaproxyLogEvent, formatHaproxyLog, haproxyLog } from '../log/format.js';
import { type LogOutput, proxyLogTargets } from '../log/output.js';
import { formatTcplog, loggedServer } from '../log/tcplog.js';
import type { HaproxyBackend, HaproxyFrontend } from './instance-types.js';

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

/**
 * The `tcplog` line of a finished connection of frontend `f`, with HAProxy's counts at the moment it logs
 * (`src/stream.c process_stream()`): the server's slot and the backend's count are already released, the
 * frontend's and the process's not yet. `processConnections` is the instance's live count and
 * `backendSessions` the live connections of every frontend feeding `f`'s backend, this one no longer among
 * either (HAProxy's `beconn` counts queued and connecting streams too).
 */
export function tcplogLine(f: HaproxyFrontend, record: ConnectionRecord, now: Date, processConnections: number, backendSessions: number): string {
  const acceptedAt = new Date(now.getTime() - record.durationMs);
  const name = loggedServer(record);
  const server = name === undefined ? undefined : f.backend?.pool.find(name);
  return formatTcplog(record, f.name, f.backend?.name ?? f.name, acceptedAt, {
    processConnections: processConnections + 1,
    frontendConnections: f.proxy.connections + 1,
    backendConnections: backendSessions,
    // HAProxy's `%sc` is the server's `cur_sess`: connections established or being made to it (not a slot just
    // handed to a queued connection that has not started its attempt yet).
    serverConnections: server?.openConnections ?? 0,
    serverQueue: record.serverQueuePosition,
    backendQueue: record.balancerQueuePosition,
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
