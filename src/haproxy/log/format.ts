import { CHECK_STATUS_TEXT, type CheckCause, type CheckResult, type CheckStatus, type StateCause, checkVerdict, statusHasCode } from '../../state/check-result.js';
import { healthDisplay } from '../../state/health-counter.js';
import type { Pool } from '../../pool.js';
import type { AdminState, Server } from '../../server.js';

/** The server a line is about. */
export interface HaproxyLogServer {
  /** Backend (pool) name. */
  readonly backend: string;
  /** Server name. */
  readonly server: string;
  /** Backup servers get HAProxy's `Backup ` / `backup ` prefix. @defaultValue false */
  readonly backup?: boolean;
}

/** The `<A> active and <B> backup servers` part: usable servers after the change. */
export interface HaproxyServerCounts {
  readonly activeServers: number;
  readonly backupServers: number;
}

/** The sessions and queue part; each defaults to 0. */
export interface HaproxySessionCounts {
  /** Connections on the server (`<S> sessions active`). */
  readonly sessionsActive?: number;
  /** Queued connections moved (`<R> requeued` / `<R> sessions requeued`). */
  readonly requeued?: number;
  /** Connections left in the server's queue (`remaining in queue`), or in all queues (`total in queue`). */
  readonly queued?: number;
}

/**
 * Everything HAProxy logs about server and backend state, as data. `cause` renders the `<why>` part: a check or
 * observation result gives `, reason: …`, an operator `, changed from CLI` (or `, changed from Web interface` for `via: 'web'`), none (log-health-checks) nothing.
 */
export type HaproxyLogEvent =
  | ({ readonly kind: 'server-down'; readonly cause?: StateCause } & HaproxyLogServer & HaproxyServerCounts & HaproxySessionCounts)
  | ({ readonly kind: 'server-up'; readonly cause?: StateCause } & HaproxyLogServer & HaproxyServerCounts & HaproxySessionCounts)
  | ({ readonly kind: 'server-stopping'; readonly cause?: StateCause } & HaproxyLogServer & HaproxyServerCounts & HaproxySessionCounts)
  /** A running server put in maintenance: "is going DOWN for maintenance". */
  | ({ readonly kind: 'maint-enter' } & HaproxyLogServer & HaproxyServerCounts & HaproxySessionCounts)
  /** A server already down put in maintenance. */
  | ({ readonly kind: 'maint-enter-down' } & HaproxyLogServer)
  /** Leaving maintenance: `is UP/READY`, `UP/DRAIN`, `DOWN/READY`… */
  | ({ readonly kind: 'maint-leave'; readonly up: boolean; readonly drain: boolean } & HaproxyLogServer)
  | ({ readonly kind: 'drain-enter' } & HaproxyLogServer & HaproxyServerCounts & HaproxySessionCounts)
  | ({ readonly kind: 'drain-leave'; readonly up: boolean } & HaproxyLogServer)
  /** The last usable server went away. `section` is `proxy` for a `listen` section; `stderr` quotes the name as HAProxy's alert does. */
  | { readonly kind: 'no-server'; readonly backend: string; readonly section?: 'backend' | 'proxy'; readonly stderr?: boolean }
  /** One check result, as `option log-health-checks` logs it: the health counter after the result, and the user weight. */
  | ({
      readonly kind: 'check';
      readonly result: CheckResult;
      readonly health: number;
      readonly rise: number;
      readonly fall: number;
      readonly weight: number;
      /** An agent check ("Agent check for …"). @defaultValue false */
      readonly agent?: boolean;
    } & HaproxyLogServer);

/**
 * Renders an event exactly as HAProxy 2.6 logs it (the `send_log` form, without syslog envelope), e.g.
 * `Server web-test/server1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`
 */
export function formatHaproxyLog(event: HaproxyLogEvent): string {
  if (event.kind === 'no-server') {
    const name = event.stderr === true ? `'${event.backend}'` : event.backend;
    return `${event.section ?? 'backend'} ${name} has no server available!`;
  }
  const who = `${event.backend}/${event.server}`;
  const Server = `${event.backup === true ? 'Backup ' : ''}Server ${who}`;
  switch (event.kind) {
    case 'server-down':
      return `${Server} is DOWN${why(event.cause)}. ${left(event)} ${sessionsLeft(event)}`;
    case 'server-up':
      return `${Server} is UP${why(event.cause)}. ${online(event)} ${sessionsOnline(event)}`;
    case 'server-stopping':
      return `${Server} is stopping${why(event.cause)}. ${online(event)} ${sessionsOnline(event)}`;
    case 'maint-enter':
      return `${Server} is going DOWN for maintenance. ${left(event)} ${sessionsLeft(event)}`;
    case 'maint-enter-down':
      return `${Server} was DOWN and now enters maintenance.`;
    case 'maint-leave':
      return `${Server} is ${event.up ? 'UP' : 'DOWN'}/${event.drain ? 'DRAIN' : 'READY'} (leaving forced maintenance).`;
    case 'drain-enter':
      return `${Server} enters drain state. ${online(event)} ${sessionsOnline(event)}`;
    case 'drain-leave':
      return `${Server} is ${event.up ? 'UP' : 'DOWN'} (leaving forced drain).`;
    case 'check': {
      const verdict = checkVerdict(event.result.status);
      const outcome = verdict === 'fail' ? 'failed' : verdict === 'conditional' ? 'conditionally succeeded' : 'succeeded';
      const h = healthDisplay(event.health, event.rise, event.fall);
      const state = h.up ? (event.weight > 0 ? 'UP' : 'DRAIN') : 'DOWN';
      const prefix = `${event.agent === true ? 'Agent' : 'Health'} check for ${event.backup === true ? 'backup ' : ''}server ${who}`;
      return `${prefix} ${outcome}${reason(event.result)}, status: ${h.value}/${h.of} ${state}.`;
    }
  }
}

/** `, reason: <text>[, code: <n>][, info: "<text>"][, check duration: <d>ms]` [src/server.c srv_append_status()]. */
function reason(r: CheckResult): string {
  let out = `, reason: ${CHECK_STATUS_TEXT[r.status]}`;
  if (statusHasCode(r.status)) out += `, code: ${r.code ?? 0}`;
  if (r.info !== undefined && r.info !== '') out += `, info: "${r.info}"`;
  if (r.durationMs !== undefined) out += `, check duration: ${Math.floor(r.durationMs)}ms`;
  return out;
}

/** HAProxy's `SRV_OP_STCHGC_*` / admin change texts by where the operator's change came from. */
const ADMIN_WHY = { cli: ', changed from CLI', web: ', changed from Web interface', state: ', changed from server-state after a reload' } as const;

function why(cause: StateCause | undefined): string {
  if (cause === undefined) return '';
  if (cause.source === 'admin') return ADMIN_WHY[cause.via ?? 'cli'];
  return reason(cause.result);
}

function runningOnBackup(c: HaproxyServerCounts): string {
  return c.activeServers === 0 && c.backupServers > 0 ? ' Running on backup.' : '';
}

function left(c: HaproxyServerCounts): string {
  return `${c.activeServers} active and ${c.backupServers} backup servers left.${runningOnBackup(c)}`;
}

function online(c: HaproxyServerCounts): string {
  return `${c.activeServers} active and ${c.backupServers} backup servers online.${runningOnBackup(c)}`;
}

function sessionsLeft(s: HaproxySessionCounts): string {
  return `${s.sessionsActive ?? 0} sessions active, ${s.requeued ?? 0} requeued, ${s.queued ?? 0} remaining in queue.`;
}

function sessionsOnline(s: HaproxySessionCounts): string {
  return `${s.requeued ?? 0} sessions requeued, ${s.queued ?? 0} total in queue.`;
}

/** Options of {@link haproxyLog}. */
export interface HaproxyLogOptions {
  /** Also log every check that changes the status or the health counter, and drop the reason from UP/DOWN lines (HAProxy `option log-health-checks`). @defaultValue false */
  readonly logHealthChecks?: boolean;
  /** `proxy` when the pool stands for a `listen` section. @defaultValue 'backend' */
  readonly section?: 'backend' | 'proxy';
  /** Where `total in queue` is read from, e.g. the pool's Balancer. @defaultValue none (0) */
  readonly queue?: { readonly queued: number };
  /**
   * The `<S> sessions active` of a server. HAProxy counts its connections made or being made (`cur_sess`,
   * `server.openConnections` when every connection goes through a dialer, as in a `TcpProxy`).
   * @defaultValue `server.currentConnections` (the leases)
   */
  readonly sessions?: (server: Server) => number;
}

type Cls = 'up' | 'down' | 'nolb' | 'drain' | 'maint';

/** The displayed status reduced to what decides which line is logged. */
function cls(status: string): Cls {
  if (status === 'MAINT') return 'maint';
  if (status.startsWith('DOWN')) return 'down';
  if (status.startsWith('NOLB')) return 'nolb';
  if (status.startsWith('DRAIN')) return 'drain';
  return 'up';
}

/**
 * Follows a pool's events and writes the lines HAProxy would log for them, in HAProxy's order (a check line,
 * then the UP/DOWN line, then "no server available"). Returns a function that stops following.
 *
 * `requeued` counts are always 0: queued connections belong to the balancer, which moves them on its own.
 *
 * @example
 * ```ts
 * const stop = haproxyLog(pool, (line) => logger.warn(line), { logHealthChecks: true })
 * ```
 */
export function haproxyLog(
  pool: Pool,
  write: (line: string, event: HaproxyLogEvent) => void,
  options: HaproxyLogOptions = {},
): () => void {
  const logHealthChecks = options.logHealthChecks ?? false;
  const emit = (event: HaproxyLogEvent): void => write(formatHaproxyLog(event), event);
  const ref = (server: Server): HaproxyLogServer => ({ backend: pool.name, server: server.name, backup: server.backup });
  const counts = (): HaproxyServerCounts => ({ activeServers: pool.activeUsable.length, backupServers: pool.backupUsable.length });
  const active = options.sessions ?? ((server: Server) => server.currentConnections);
  const sessions = (server: Server): HaproxySessionCounts => ({ sessionsActive: active(server), requeued: 0, queued: server.queued });
  const total = (): HaproxySessionCounts => ({ requeued: 0, queued: options.queue?.queued ?? 0 });
  // Drain/maintenance lines already written from `server:state` for the `server:admin` that follows it.
  const adminLogged = new WeakSet<Server>();

  const onCheck = (server: Server, cause: CheckCause, previousHealth: number, previousStatus: CheckStatus | undefined): void => {
    if (!logHealthChecks) return;
    if (server.health === previousHealth && cause.result.status === previousStatus) return;
    emit({ kind: 'check', ...ref(server), result: cause.result, health: server.health, rise: server.rise, fall: server.fall, weight: server.weight });
  };

  // An agent check is logged like a health check ("Agent check for …", its own 1/1 health), except the replies that
  // change nothing (CHECKED: HAProxy returns before logging a neutral result).
  const onAgent = (server: Server, result: CheckResult, previousHealth: number, previousStatus: CheckStatus | undefined): void => {
    if (!logHealthChecks || checkVerdict(result.status) === 'neutral') return;
    if (server.agentHealth === previousHealth && result.status === previousStatus) return;
    emit({ kind: 'check', agent: true, ...ref(server), result, health: server.agentHealth ?? 0, rise: 1, fall: 1, weight: server.weight });
  };

  const onState = (server: Server, previousStatus: string, cause: StateCause): void => {
    const p = cls(previousStatus);
    const n = cls(server.status);
    const stateWhy = logHealthChecks && cause.source !== 'admin' ? undefined : cause;
    const up = server.operationalState !== 'down';
    if (n === 'maint' && p !== 'maint') {
      adminLogged.add(server);
      emit(p === 'down' ? { kind: 'maint-enter-down', ...ref(server) } : { kind: 'maint-enter', ...ref(server), ...counts(), ...sessions(server) });
    } else if (p === 'maint') {
      adminLogged.add(server);
      emit({ kind: 'maint-leave', ...ref(server), up, drain: server.adminState === 'drain' });
    } else if (p === 'up' && n === 'drain') {
      adminLogged.add(server);
      emit({ kind: 'drain-enter', ...ref(server), ...counts(), ...total() });
    } else if (p === 'drain' && n === 'up' && server.adminState === 'ready') {
      adminLogged.add(server);
      emit({ kind: 'drain-leave', ...ref(server), up: true });
    } else if (p !== 'down' && n === 'down') {
      emit({ kind: 'server-down', ...ref(server), ...(stateWhy && { cause: stateWhy }), ...counts(), ...sessions(server) });
    } else if (n === 'nolb' && p !== 'nolb') {
      emit({ kind: 'server-stopping', ...ref(server), ...(stateWhy && { cause: stateWhy }), ...counts(), ...total() });
    } else if ((p === 'down' || p === 'nolb') && (n === 'up' || n === 'drain')) {
      emit({ kind: 'server-up', ...ref(server), ...(stateWhy && { cause: stateWhy }), ...counts(), ...total() });
    }
  };

  // Drain changes that leave the displayed status alone (a server that is down or NOLB) still get their line.
  const onAdmin = (server: Server, previous: AdminState): void => {
    if (adminLogged.delete(server)) return;
    const now = server.adminState;
    if (previous === 'ready' && now === 'drain') emit({ kind: 'drain-enter', ...ref(server), ...counts(), ...total() });
    else if (previous === 'drain' && now === 'ready') emit({ kind: 'drain-leave', ...ref(server), up: server.operationalState !== 'down' });
  };

  const onEmpty = (): void => emit({ kind: 'no-server', backend: pool.name, section: options.section ?? 'backend' });
  // The end of slow start: HAProxy's plain UP line, no reason (no check caused it; `srv_update_status()`).
  const onWarmed = (server: Server): void => emit({ kind: 'server-up', ...ref(server), ...counts(), ...total() });

  pool.on('check:pass', onCheck);
  pool.on('check:fail', onCheck);
  pool.on('agent:check', onAgent);
  pool.on('server:state', onState);
  pool.on('server:admin', onAdmin);
  pool.on('pool:empty', onEmpty);
  pool.on('server:warmed', onWarmed);
  return () => {
    pool.off('check:pass', onCheck);
    pool.off('check:fail', onCheck);
    pool.off('agent:check', onAgent);
    pool.off('server:state', onState);
    pool.off('server:admin', onAdmin);
    pool.off('pool:empty', onEmpty);
    pool.off('server:warmed', onWarmed);
  };
}
