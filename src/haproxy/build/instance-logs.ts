/**
 * The log lines of a running configuration: HAProxy's state-change lines of each backend (the `[WARNING]` copy on
 * stderr and the line to the section's log targets, at HAProxy's syslog level) and the `tcplog` line of each
 * finished connection.
 */
import type { ConnectionRecord } from '../../proxy/tcp-proxy.js';
import type { GlobalConfig, LogLevel } from '../config/types.js';
import { type HaproxyLogEvent, formatHaproxyLog, haproxyLog } from '../log/format.js';
import { type LogOutput, proxyLogTargets } from '../log/output.js';
import { formatTcplog } from '../log/tcplog.js';
import type { HaproxyBackend, HaproxyFrontend } from './instance-types.js';

/** Follows a backend's state changes with HAProxy's lines; returns the function that stops following. */
export function followStateLines(backend: HaproxyBackend, log: LogOutput, global: GlobalConfig): () => void {
  const targets = proxyLogTargets(backend.config, global);
  const section = backend.kind === 'listen' ? 'proxy' : 'backend';
  return haproxyLog(backend.pool, (line, event) => {
    if (event.kind === 'no-server') log.alert(formatHaproxyLog({ ...event, stderr: true }));
    else log.warning(line);
    log.send(targets, levelOf(event), line);
  }, { logHealthChecks: backend.config.logHealthChecks, section, queue: backend.balancer });
}

/** The `tcplog` line of a finished connection of frontend `f`; `processConnections` is the instance's live count. */
export function tcplogLine(f: HaproxyFrontend, record: ConnectionRecord, now: Date, processConnections: number): string {
  const acceptedAt = new Date(now.getTime() - record.durationMs);
  const server = record.server === undefined ? undefined : f.backend?.pool.find(record.server);
  const b = f.backend?.balancer;
  return formatTcplog(record, f.name, f.backend?.name ?? f.name, acceptedAt, {
    processConnections: processConnections + 1,
    frontendConnections: f.proxy.connections + 1,
    backendConnections: (b?.activeLeases ?? 0) + (record.server === undefined ? 0 : 1),
    serverConnections: (server?.currentConnections ?? 0) + (record.server === undefined ? 0 : 1),
    serverQueue: 0,
    backendQueue: 0,
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
