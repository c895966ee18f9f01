import { invalidArg } from '../errors.js';
import { CHECK_STATUS_TEXT, statusHasCode } from '../state/check-result.js';
import * as v from '../internal/validate.js';
import { WEIGHT_SCALE } from '../server.js';
import { type PoolStats, type ProxyTraffic, type ServerStatsSnapshot, type StatsInput, collectStats } from './stats-input.js';

/**
 * The columns of HAProxy 2.6's `show stat` CSV, in order (read from a running 2.6.12; the stats modules'
 * columns that follow a `-` column in HAProxy's output depend on its build and are not included).
 */
export const SHOW_STAT_FIELDS = Object.freeze([
  'pxname', 'svname', 'qcur', 'qmax', 'scur', 'smax', 'slim', 'stot', 'bin', 'bout', 'dreq', 'dresp', 'ereq', 'econ', 'eresp',
  'wretr', 'wredis', 'status', 'weight', 'act', 'bck', 'chkfail', 'chkdown', 'lastchg', 'downtime', 'qlimit', 'pid', 'iid', 'sid',
  'throttle', 'lbtot', 'tracked', 'type', 'rate', 'rate_lim', 'rate_max', 'check_status', 'check_code', 'check_duration',
  'hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other', 'hanafail', 'req_rate', 'req_rate_max', 'req_tot',
  'cli_abrt', 'srv_abrt', 'comp_in', 'comp_out', 'comp_byp', 'comp_rsp', 'lastsess', 'last_chk', 'last_agt', 'qtime', 'ctime',
  'rtime', 'ttime', 'agent_status', 'agent_code', 'agent_duration', 'check_desc', 'agent_desc', 'check_rise', 'check_fall',
  'check_health', 'agent_rise', 'agent_fall', 'agent_health', 'addr', 'cookie', 'mode', 'algo', 'conn_rate', 'conn_rate_max',
  'conn_tot', 'intercepted', 'dcon', 'dses', 'wrew', 'connect', 'reuse', 'cache_lookups', 'cache_hits', 'srv_icur', 'src_ilim',
  'qtime_max', 'ctime_max', 'rtime_max', 'ttime_max', 'eint', 'idle_conn_cur', 'safe_conn_cur', 'used_conn_cur', 'need_conn_est',
  'uweight', 'agg_server_status', 'agg_server_check_status', 'agg_check_status',
] as const);

/** One column name of {@link SHOW_STAT_FIELDS}. */
export type ShowStatField = (typeof SHOW_STAT_FIELDS)[number];

/** One row of `show stat`: the columns switchyard has a value for; every other column is empty. */
export type ShowStatRecord = Partial<Record<ShowStatField, string | number>>;

/** Options of {@link toShowStat} and {@link showStatRecords}. */
export interface ShowStatOptions {
  /** Print the `# pxname,svname,…` header line. @defaultValue true */
  readonly header?: boolean;
  /**
   * Clock time (ms) to compute `lastchg` from for plain snapshots, which carry no clock. Live pools and balancers
   * use their pool's clock. @defaultValue `lastchg` left empty for snapshots
   */
  readonly nowMs?: number;
}

/** Options of {@link toShowStat}: those of {@link showStatRecords} and the tag columns. */
export interface ToShowStatOptions extends ShowStatOptions {
  /**
   * Server tags to add as columns after HAProxy's, each named after its key (`['locality', 'xds.cluster']`): where a
   * server came from. A row without the tag, and every FRONTEND/BACKEND row, has an empty cell. A key may not be
   * one of HAProxy's column names. @defaultValue [] (HAProxy's columns only, so tools reading HAProxy's CSV by
   * position are unaffected)
   */
  readonly tags?: readonly string[];
}

const OPTION_KEYS = ['header', 'nowMs'] as const;
const TO_SHOW_STAT_KEYS = ['header', 'nowMs', 'tags'] as const;
const HAPROXY_FIELDS: ReadonlySet<string> = new Set(SHOW_STAT_FIELDS);

/** HAProxy's `algo` names for the built-in strategies that have one. */
const ALGO: Readonly<Record<string, string>> = Object.freeze({
  roundrobin: 'roundrobin',
  'static-rr': 'static-rr',
  leastconn: 'leastconn',
  first: 'first',
  source: 'source',
  random: 'random',
});

/**
 * Renders pools as HAProxy's `show stat` CSV: the same header and column meanings, one row per server and a
 * `BACKEND` row per pool (preceded by a `FRONTEND` row when a proxy's stats are given), fields quoted as HAProxy quotes them (only when they hold a comma, a quote or a line
 * break). Columns switchyard has no value for are empty. `pid` is 1, `iid` the pool's position in the input
 * (from 1), `sid` the server id.
 *
 * @example
 * ```ts
 * process.stdout.write(toShowStat([webBalancer, dbBalancer]))
 * // # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,…
 * // web,web1,0,0,2,5,,120,,,,,,,,,,UP,1,1,0,…
 * ```
 */
export function toShowStat(input: StatsInput | readonly StatsInput[], options: ToShowStatOptions = {}): string {
  const o = v.plainObject('show stat options', options);
  v.knownKeys('show stat options', o, TO_SHOW_STAT_KEYS);
  const header = v.boolean('header', o['header'] ?? true);
  const tagKeys = tagColumns(o['tags'] ?? []);
  const rows = rowsOf(input, o['nowMs']).map(([r, tags]) => {
    let line = SHOW_STAT_FIELDS.map((f) => csvField(r[f])).join(',');
    for (const key of tagKeys) line += `,${csvField(tags?.[key])}`;
    return `${line},\n`;
  });
  return (header ? `# ${[...SHOW_STAT_FIELDS, ...tagKeys.map(csvField)].join(',')},\n` : '') + rows.join('');
}

/** The rows of {@link toShowStat} as objects keyed by column name, for the runtime API and for tests. */
export function showStatRecords(input: StatsInput | readonly StatsInput[], options: ShowStatOptions = {}): ShowStatRecord[] {
  const o = v.plainObject('show stat options', options);
  v.knownKeys('show stat options', o, OPTION_KEYS);
  return rowsOf(input, o['nowMs']).map(([r]) => r);
}

type Tags = Readonly<Record<string, string>> | undefined;

/** Every row with the tags of its server (none for FRONTEND and BACKEND rows). */
function rowsOf(input: StatsInput | readonly StatsInput[], nowMs: unknown): [ShowStatRecord, Tags][] {
  const nowOverride = nowMs === undefined ? undefined : v.durationMs('nowMs', nowMs);
  const out: [ShowStatRecord, Tags][] = [];
  collectStats(input).forEach((p, i) => {
    const now = p.nowMs ?? nowOverride;
    if (p.proxy !== undefined) out.push([frontendRecord(p.pool.name, i + 1, p.proxy), undefined]);
    for (const s of p.pool.servers) out.push([serverRecord(p, i + 1, s, now), s.tags]);
    out.push([backendRecord(p, i + 1), undefined]);
  });
  return out;
}

function tagColumns(value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw invalidArg('tags', 'must be an array of tag keys', value);
  value.forEach((key: unknown, i) => {
    v.nonEmptyString(`tags[${i}]`, key);
    if (HAPROXY_FIELDS.has(key as string)) throw invalidArg(`tags[${i}]`, 'must not be one of HAProxy\'s show stat columns', key);
  });
  if (new Set(value).size !== value.length) throw invalidArg('tags', 'must not name a tag twice', value);
  return value as string[];
}

function serverRecord(p: PoolStats, iid: number, s: ServerStatsSnapshot, nowMs: number | undefined): ShowStatRecord {
  const r: ShowStatRecord = {
    pxname: p.pool.name,
    svname: s.name,
    qcur: s.queued,
    qmax: s.maxQueued,
    scur: s.currentConnections,
    smax: s.maxConnections,
    // HAProxy counts every connection attempt on the server (a snapshot from an older version has only leases).
    stot: s.connectAttempts ?? s.totalConnections,
    status: s.status,
    weight: Math.ceil(s.effectiveWeight / WEIGHT_SCALE),
    act: s.backup ? 0 : 1,
    bck: s.backup ? 1 : 0,
    pid: 1,
    iid,
    sid: s.id,
    lbtot: s.lbSelections,
    type: 2,
    addr: s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`,
    mode: 'tcp',
    uweight: s.weight,
  };
  if (s.maxconn > 0) r.slim = s.maxconn;
  if (s.maxqueue > 0) r.qlimit = s.maxqueue;
  setIf(r, 'bin', s.bytesIn);
  setIf(r, 'bout', s.bytesOut);
  setIf(r, 'econ', finalConnectErrors(s));
  setIf(r, 'wretr', s.retries);
  setIf(r, 'wredis', s.redispatches);
  setIf(r, 'hanafail', s.observeFailures);
  setIf(r, 'srv_abrt', s.serverAborts);
  if (nowMs !== undefined) r.lastchg = Math.max(0, Math.floor((nowMs - s.lastChangeMs) / 1000));
  if (s.operationalState === 'starting' && s.weight > 0) {
    r.throttle = Math.floor((100 * s.effectiveWeight + 15) / (WEIGHT_SCALE * s.weight));
  }
  if (s.check) {
    setIf(r, 'chkfail', s.checkFailures);
    setIf(r, 'chkdown', s.downTransitions);
    if (s.downtimeMs !== undefined) r.downtime = Math.floor(s.downtimeMs / 1000);
    r.check_rise = s.rise;
    r.check_fall = s.fall;
    r.check_health = s.health;
    if (s.checkStatus !== undefined) {
      r.check_status = s.checkStatus;
      r.check_desc = CHECK_STATUS_TEXT[s.checkStatus];
    }
    setIf(r, 'check_code', s.checkCode);
    setIf(r, 'check_duration', s.checkDurationMs === undefined ? undefined : Math.round(s.checkDurationMs));
    setIf(r, 'last_chk', s.checkInfo);
  }
  if (s.agentStatus !== undefined && s.agentEnabled !== false) {
    r.agent_status = s.agentStatus;
    r.agent_desc = CHECK_STATUS_TEXT[s.agentStatus];
    if (statusHasCode(s.agentStatus)) r.agent_code = s.agentCode ?? 0;
    setIf(r, 'agent_duration', s.agentDurationMs === undefined ? undefined : Math.round(s.agentDurationMs));
    r.last_agt = s.agentInfo ?? '';
    r.agent_rise = 1;
    r.agent_fall = 1;
    r.agent_health = s.agentHealth ?? 0;
  }
  return r;
}

/** HAProxy's FRONTEND row, from a proxy's totals: sessions, bytes, and `OPEN`. */
function frontendRecord(name: string, iid: number, proxy: ProxyTraffic): ShowStatRecord {
  return {
    pxname: name,
    svname: 'FRONTEND',
    scur: proxy.current,
    stot: proxy.total,
    bin: proxy.bytesIn,
    bout: proxy.bytesOut,
    status: 'OPEN',
    pid: 1,
    iid,
    sid: 0,
    type: 0,
    mode: 'tcp',
    conn_tot: proxy.total,
  };
}

function backendRecord(p: PoolStats, iid: number): ShowStatRecord {
  const pool = p.pool;
  const servers = pool.servers;
  const b = p.balancer;
  // The group HAProxy counts in the backend's weight: usable actives, else usable backups (the first only
  // without allBackups), as the balancer would use them.
  const usable = servers.filter((s) => s.usable);
  const actives = usable.filter((s) => !s.backup);
  const group = actives.length > 0 ? actives : pool.allBackups ? usable : usable.slice(0, 1);
  const r: ShowStatRecord = {
    pxname: pool.name,
    svname: 'BACKEND',
    // HAProxy counts every stream assigned to the backend in scur, queued ones too, and each client
    // connection once in stot (a proxy's total), not each attempt's lease.
    scur: b === undefined ? sum(servers, (s) => s.currentConnections)! : b.activeLeases + b.queued,
    stot: p.proxy?.total ?? b?.totalLeases ?? sum(servers, (s) => s.totalConnections)!,
    status: pool.activeUsable + pool.backupUsable > 0 ? 'UP' : 'DOWN',
    weight: group.reduce((n, s) => n + Math.ceil(s.effectiveWeight / WEIGHT_SCALE), 0),
    act: pool.activeUsable,
    bck: pool.backupUsable,
    pid: 1,
    iid,
    sid: 0,
    lbtot: sum(servers, (s) => s.lbSelections)!,
    type: 1,
    mode: 'tcp',
    uweight: group.reduce((n, s) => n + s.weight, 0),
  };
  if (b !== undefined) {
    // HAProxy's backend queue only: callers in a server's own queue show on that server's row.
    r.qcur = b.balancerQueued ?? b.queued;
    r.qmax = b.maxBalancerQueued ?? b.maxQueued;
    const algo = ALGO[b.strategy];
    if (algo !== undefined) r.algo = algo;
  }
  setIf(r, 'bin', sum(servers, (s) => s.bytesIn));
  setIf(r, 'bout', sum(servers, (s) => s.bytesOut));
  setIf(r, 'econ', sum(servers, finalConnectErrors));
  setIf(r, 'wretr', sum(servers, (s) => s.retries));
  setIf(r, 'wredis', sum(servers, (s) => s.redispatches));
  return r;
}

/** Sum over servers, or `undefined` when some server does not report the value. */
function sum(servers: readonly ServerStatsSnapshot[], pick: (s: ServerStatsSnapshot) => number | undefined): number | undefined {
  let total = 0;
  for (const s of servers) {
    const x = pick(s);
    if (x === undefined) return undefined;
    total += x;
  }
  return total;
}

function setIf(r: ShowStatRecord, field: ShowStatField, value: string | number | undefined): void {
  if (value !== undefined) r[field] = value;
}

/** HAProxy's CSV quoting (`csv_enc(…, 1)`): quote only when the text holds `,`, `"`, CR or LF; double the quotes. */
function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidArg('show stat value', 'must be a finite number', value);
    return String(value);
  }
  return /[\n\r,"]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * HAProxy's `econ`: connections that failed for good on this server, not every failed attempt — an attempt
 * that was retried (`wretr`) or redispatched elsewhere (`wredis`) is not an error of the connection.
 */
function finalConnectErrors(s: ServerStatsSnapshot): number | undefined {
  if (s.connectErrors === undefined) return undefined;
  return Math.max(0, s.connectErrors - (s.retries ?? 0) - (s.redispatches ?? 0));
}

