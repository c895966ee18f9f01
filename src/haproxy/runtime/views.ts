/**
 * What the runtime API's `show` commands print, in HAProxy 2.6's formats: `show stat` (CSV, one row per
 * frontend, server and backend, proxies in declaration order) and `show servers state` (version 1 format).
 */
import type { CheckStatus } from '../../state/check-result.js';
import { SHOW_STAT_FIELDS, type ShowStatRecord, showStatRecords } from '../../metrics/show-stat.js';
import type { ProxyServerTraffic, ProxyTraffic } from '../../metrics/stats-input.js';
import type { Server } from '../../server.js';
import type { HaproxyBackend, HaproxyFrontend, HaproxyInstance } from '../build/instance.js';
import { proxiesInOrder } from '../config/library-options.js';

/** HAProxy's `enum healthcheck_status` values (`show servers state` column `srv_check_status`). */
const CHECK_STATUS_CODE: Readonly<Record<CheckStatus, number>> = {
  UNK: 0, INI: 1, CHECKED: 3, HANA: 4, SOCKERR: 5, L4OK: 6, L4TOUT: 7, L4CON: 8, L6OK: 9, L6TOUT: 10, L6RSP: 11, L7TOUT: 12,
  L7RSP: 13, L7OK: 15, L7OKC: 16, L7STS: 17, PROCERR: 18, PROCTOUT: 19, PROCOK: 20,
};

/** `show stat` filters: `show stat [<iid> <type> <sid>] [up|no-maint]`. */
export interface ShowStatFilter {
  /** Proxy id, -1 for all. */
  readonly iid: number;
  /** Bit field: 1 frontends, 2 backends, 4 servers; -1 for all. */
  readonly type: number;
  /** Server id, -1 for all. */
  readonly sid: number;
  readonly up: boolean;
  readonly noMaint: boolean;
}

/** Every `show stat` row of the instance, in HAProxy's order. */
export function statRecords(instance: HaproxyInstance): ShowStatRecord[] {
  const out: ShowStatRecord[] = [];
  for (const p of proxiesInOrder(instance.config)) {
    const f = p.kind === 'backend' ? undefined : instance.frontends.get(p.name);
    const b = p.kind === 'frontend' ? undefined : instance.backends.get(p.name);
    if (f !== undefined && f.config === p) out.push(frontendRecord(f));
    if (b !== undefined && b.config === p) out.push(...backendRecords(instance, b));
  }
  return out;
}

/** The `show stat` rows that pass `filter`. */
export function filteredStatRecords(instance: HaproxyInstance, filter: ShowStatFilter): ShowStatRecord[] {
  const all = statRecords(instance);
  // With `up` or `no-maint`, HAProxy 2.6 writes a BACKEND's status as `UP (<servers neither down nor in maint>/<servers>)`.
  if (filter.up || filter.noMaint) {
    for (const b of all.filter((r) => Number(r.type) === 1)) {
      const servers = all.filter((r) => Number(r.type) === 2 && r.iid === b.iid);
      const up = servers.filter((r) => !/^(DOWN|MAINT)/.test(String(r.status))).length;
      b.status = `${String(b.status)} (${up}/${servers.length})`;
    }
  }
  return all.filter((r) => {
    const type = Number(r.type);
    if (filter.iid !== -1 && Number(r.iid) !== filter.iid) return false;
    if (filter.type !== -1 && (filter.type & (type === 0 ? 1 : type === 1 ? 2 : 4)) === 0) return false;
    if (type === 2) {
      if (filter.sid !== -1 && Number(r.sid) !== filter.sid) return false;
      const status = String(r.status ?? '');
      // `up` hides the servers that are down or in maintenance: DRAIN and NOLB stay (HAProxy 2.6.12).
      if (filter.up && /^(DOWN|MAINT)/.test(status)) return false;
      if (filter.noMaint && status === 'MAINT') return false;
    }
    return true;
  });
}

/** `show stat`: the CSV with HAProxy's header and quoting. */
export function showStat(instance: HaproxyInstance, filter: ShowStatFilter): string {
  const lines = filteredStatRecords(instance, filter).map((r) => `${SHOW_STAT_FIELDS.map((f) => csv(r[f])).join(',')},\n`);
  return `# ${SHOW_STAT_FIELDS.join(',')},\n${lines.join('')}`;
}

function frontendRecord(f: HaproxyFrontend): ShowStatRecord {
  const s = f.proxy.stats();
  return {
    pxname: f.name, svname: 'FRONTEND', scur: s.current, stot: s.total, bin: s.bytesIn, bout: s.bytesOut, status: 'OPEN',
    pid: 1, iid: f.uuid, sid: 0, type: 0, mode: 'tcp', conn_tot: s.total,
  };
}

/** The servers and BACKEND rows of a backend, with the traffic counters of every frontend that uses it. */
function backendRecords(instance: HaproxyInstance, b: HaproxyBackend): ShowStatRecord[] {
  const proxy = mergedTraffic([...instance.frontends.values()].filter((f) => f.backend === b));
  const rows = showStatRecords({ pool: b.balancer, proxy }).filter((r) => r.svname !== 'FRONTEND');
  for (const r of rows) {
    r.iid = b.uuid;
    if (r.svname === 'BACKEND') {
      // HAProxy counts the backend's own transitions to DOWN (no server left).
      r.chkdown = b.pool.emptyTransitions;
      // Its `scur` is `beconn`: every stream of the backend until both of its sides closed, as the tcplog's `%bc`.
      r.scur = instance.backendSessions(b);
      // A dispatch backend has no server to be down: HAProxy shows it UP.
      if (b.dispatch !== undefined) r.status = 'UP';
      continue;
    }
    const server = b.pool.find(String(r.svname));
    if (server === undefined) continue;
    // HAProxy's server `scur` is `cur_sess`: connections made or being made (every one goes through a dialer here).
    r.scur = server.openConnections;
    // HAProxy fills `hanafail` only for servers that observe.
    if (b.config.servers.find((c) => c.name === server.name)?.observe !== 'layer4') delete r.hanafail;
    if (server.check && !server.checksEnabled) uncheckedRow(r);
    else if (server.check && server.adminState === 'maint') pausedRow(r);
  }
  return rows;
}

/** A server in maintenance has its checks paused: HAProxy 2.6.12 leaves the check columns empty (not the counters). */
function pausedRow(r: ShowStatRecord): void {
  for (const f of ['check_status', 'check_code', 'check_duration', 'last_chk', 'check_desc', 'check_rise', 'check_fall', 'check_health'] as const) delete r[f];
}

/** A server whose checks are disabled shows as unchecked: no check columns, `no check` instead of `UP n/m`. */
function uncheckedRow(r: ShowStatRecord): void {
  const status = String(r.status ?? '');
  if (status.startsWith('UP')) r.status = 'no check';
  else r.status = status.replace(/ \d+\/\d+$/, '');
  for (const f of ['chkfail', 'chkdown', 'downtime', 'check_status', 'check_code', 'check_duration', 'last_chk', 'check_desc', 'check_rise', 'check_fall', 'check_health'] as const) {
    delete r[f];
  }
}

/** @internal The traffic counters of several frontends added up (what the backends they feed report). */
export function mergedTraffic(frontends: readonly HaproxyFrontend[]): ProxyTraffic {
  const servers: Record<string, { bytesIn: number; bytesOut: number; connectErrors: number; retries: number; redispatches: number; serverAborts: number }> = {};
  let current = 0;
  let total = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const f of frontends) {
    const s = f.proxy.stats();
    current += s.current;
    total += s.total;
    bytesIn += s.bytesIn;
    bytesOut += s.bytesOut;
    for (const [name, c] of Object.entries(s.servers) as [string, ProxyServerTraffic][]) {
      const m = (servers[name] ??= { bytesIn: 0, bytesOut: 0, connectErrors: 0, retries: 0, redispatches: 0, serverAborts: 0 });
      m.bytesIn += c.bytesIn;
      m.bytesOut += c.bytesOut;
      m.connectErrors += c.connectErrors;
      m.retries += c.retries;
      m.redispatches += c.redispatches;
      m.serverAborts += c.serverAborts ?? 0;
    }
  }
  return { current, total, bytesIn, bytesOut, servers };
}

/** HAProxy's CSV quoting: only fields holding `,`, `"`, CR or LF are quoted. */
function csv(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[\n\r,"]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const SERVERS_STATE_HEADER =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change ' +
  'srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn ' +
  'srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';

/** `show servers state [<backend>]`; undefined when the backend does not exist. */
export function showServersState(instance: HaproxyInstance, backendName: string | undefined, nowMs: number): string | undefined {
  let backends = [...instance.backends.values()];
  if (backendName !== undefined) {
    const b = instance.backends.get(backendName);
    if (b === undefined) return undefined;
    backends = [b];
  }
  const lines = ['1', SERVERS_STATE_HEADER];
  for (const b of backends) {
    for (const s of b.pool.servers) lines.push(serverStateLine(instance, b, s, nowMs));
  }
  return `${lines.join('\n')}\n`;
}

function serverStateLine(instance: HaproxyInstance, b: HaproxyBackend, s: Server, nowMs: number): string {
  const maint = s.adminState === 'maint';
  const op = maint ? 0 : { down: 0, starting: 1, up: 2, stopping: 3 }[s.operationalState];
  const configMaint = s.maintFromConfig;
  const admin = (maint ? 0x01 : 0) | (configMaint ? 0x04 : 0) | (s.adminState === 'drain' ? 0x08 : 0);
  const last = s.lastCheck;
  const status = last === undefined ? 1 : CHECK_STATUS_CODE[last.status];
  const verdict = last === undefined || last.status === 'INI' || last.status === 'UNK' ? 0
    : last.status === 'L7OKC' ? 4
    : ['L4OK', 'L6OK', 'L7OK', 'PROCOK'].includes(last.status) ? 3 : 2;
  // An unchecked server shows `rise`, or 0 once it has been in maintenance (HAProxy zeroes the counter then).
  const health = s.check ? s.health : maint || s.operationalState === 'down' || s.health === 0 ? 0 : s.rise;
  const enabled = s.checksEnabled;
  const checkState = (s.check ? 0x02 : 0) | (enabled ? 0x04 : 0) | (maint ? 0x08 : 0);
  const cfg = b.config.servers.find((c) => c.name === s.name);
  const checkPort = cfg?.checkPort ?? 0;
  const checkAddr = cfg?.checkAddr ?? '-';
  // `set server … check-addr|check-port` change the check's columns, not the agent's.
  const target = s.check ? b.checker.target(s.name) : undefined;
  const since = Math.max(0, Math.floor((nowMs - s.lastChangeMs) / 1000));
  // CHK_ST_CONFIGURED | CHK_ST_ENABLED | CHK_ST_AGENT. HAProxy's `addr` and `port` set the agent's too; `agent-addr`
  // and `agent-port` (and their runtime commands) only the agent's.
  const agentState = s.agent ? 0x02 | (s.agentEnabled ? 0x04 : 0) | 0x10 : 0;
  const agent = s.agent ? b.agent?.settings(s) : undefined;
  const agentAddr = agent === undefined || agent.addr === s.host ? checkAddr : agent.addr;
  return [
    b.uuid, b.name, s.id, s.name, s.host, op, admin, s.weight, s.initialWeight, since, status, verdict, health, checkState, agentState, 0,
    cfg?.id === undefined ? 0 : 1, '-', s.port, '-', 0, target === undefined ? checkPort : target.port ?? 0, target?.addr ?? checkAddr, agentAddr, agent?.port ?? checkPort,
  ].join(' ');
}
