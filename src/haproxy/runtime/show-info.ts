/**
 * `show info [json|typed] [float]`: HAProxy 2.6's process information, with the values switchyard has (0 for the rest),
 * as text (`Name: switchyard`), typed (`0.Name.1:POS:str:switchyard`) or JSON (one array of
 * `{ field: { pos, name }, processNum, tags: { origin, nature, scope }, value: { type, value } }`). Field
 * positions, tags and types are HAProxy 2.6.12's (`show info json` on Debian's build): a tool reading HAProxy's
 * JSON reads this one.
 */
import os from 'node:os';
import type { HaproxyInstance } from '../build/instance.js';
import { type FieldTags, type TypedField, jsonTags, jsonValue, typedTail } from './typed-fields.js';

/** The output forms (`float` is a separate flag); HAProxy's `desc` is not supported. */
export type ShowInfoFormat = 'text' | 'typed' | 'json';

/** HAProxy's field table: position, name, the typed-output tag letters (origin, nature, scope), value type. */
const FIELDS: readonly (readonly [pos: number, name: string, tags: FieldTags, type: 'str' | 'u32' | 'u64'])[] = [
  [0, 'Name', 'POS', 'str'], [1, 'Version', 'POS', 'str'], [2, 'Release_date', 'POS', 'str'], [3, 'Nbthread', 'CGS', 'u32'],
  [4, 'Nbproc', 'CGS', 'u32'], [5, 'Process_num', 'KGP', 'u32'], [6, 'Pid', 'SGP', 'u32'], [7, 'Uptime', 'MDP', 'str'],
  [8, 'Uptime_sec', 'MDP', 'u32'], [9, 'Memmax_MB', 'CLP', 'u32'], [10, 'PoolAlloc_MB', 'MGP', 'u32'], [11, 'PoolUsed_MB', 'MGP', 'u32'],
  [12, 'PoolFailed', 'MCP', 'u32'], [13, 'Ulimit-n', 'CLP', 'u32'], [14, 'Maxsock', 'CLP', 'u32'], [15, 'Maxconn', 'CLP', 'u32'],
  [16, 'Hard_maxconn', 'CLP', 'u32'], [17, 'CurrConns', 'MGP', 'u32'], [18, 'CumConns', 'MCP', 'u32'], [19, 'CumReq', 'MCP', 'u32'],
  [20, 'MaxSslConns', 'MMP', 'u32'], [21, 'CurrSslConns', 'MGP', 'u32'], [22, 'CumSslConns', 'MCP', 'u32'], [23, 'Maxpipes', 'CLP', 'u32'],
  [24, 'PipesUsed', 'MGP', 'u32'], [25, 'PipesFree', 'MGP', 'u32'], [26, 'ConnRate', 'MRP', 'u32'], [27, 'ConnRateLimit', 'CLP', 'u32'],
  [28, 'MaxConnRate', 'MMP', 'u32'], [29, 'SessRate', 'MRP', 'u32'], [30, 'SessRateLimit', 'CLP', 'u32'], [31, 'MaxSessRate', 'MRP', 'u32'],
  [32, 'SslRate', 'MRP', 'u32'], [33, 'SslRateLimit', 'CLP', 'u32'], [34, 'MaxSslRate', 'MMP', 'u32'], [35, 'SslFrontendKeyRate', 'MGP', 'u32'],
  [36, 'SslFrontendMaxKeyRate', 'MMP', 'u32'], [37, 'SslFrontendSessionReuse_pct', 'MGP', 'u32'], [38, 'SslBackendKeyRate', 'MRP', 'u32'],
  [39, 'SslBackendMaxKeyRate', 'MMP', 'u32'], [40, 'SslCacheLookups', 'MCP', 'u32'], [41, 'SslCacheMisses', 'MCP', 'u32'],
  [42, 'CompressBpsIn', 'MRP', 'u32'], [43, 'CompressBpsOut', 'MRP', 'u32'], [44, 'CompressBpsRateLim', 'CLP', 'u32'], [47, 'Tasks', 'MGP', 'u32'],
  [48, 'Run_queue', 'MGP', 'u32'], [49, 'Idle_pct', 'MaP', 'u32'], [50, 'node', 'COS', 'str'], [52, 'Stopping', 'MGP', 'u32'],
  [53, 'Jobs', 'MGP', 'u32'], [54, 'Unstoppable Jobs', 'MGP', 'u32'], [55, 'Listeners', 'MGP', 'u32'], [56, 'ActivePeers', 'MGP', 'u32'],
  [57, 'ConnectedPeers', 'MGP', 'u32'], [58, 'DroppedLogs', 'MGP', 'u32'], [59, 'BusyPolling', 'MGP', 'u32'], [60, 'FailedResolutions', 'MGP', 'u32'],
  [61, 'TotalBytesOut', 'MGP', 'u64'], [62, 'TotalSplicdedBytesOut', 'MGP', 'u64'], [63, 'BytesOutRate', 'MRP', 'u64'],
  [64, 'DebugCommandsIssued', 'MGP', 'u32'], [65, 'CumRecvLogs', 'MCP', 'u32'], [66, 'Build info', 'POS', 'str'], [67, 'Memmax_bytes', 'CLP', 'u32'],
  [68, 'PoolAlloc_bytes', 'MGP', 'u64'], [69, 'PoolUsed_bytes', 'MGP', 'u64'], [70, 'Start_time_sec', 'MDP', 'u32'], [71, 'Tainted', 'SGP', 'str'],
];

/** The values switchyard has, by field name; every other field is 0. */
function values(instance: HaproxyInstance, nowMs: number): Readonly<Record<string, string | number>> {
  const uptime = Math.max(0, Math.floor((nowMs - instance.startedAtMs) / 1000));
  let bytesOut = 0;
  let total = 0;
  for (const f of instance.frontends.values()) {
    const s = f.proxy.stats();
    bytesOut += s.bytesOut;
    total += s.total;
  }
  // HAProxy counts every listener: the stats sockets and the stats pages' too.
  const listeners = instance.listenerCount;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const d = Math.floor(uptime / 86_400);
  const h = Math.floor((uptime % 86_400) / 3600);
  return {
    Name: 'switchyard', Version: instance.version, Release_date: '', Nbthread: 1, Nbproc: 1, Process_num: 1, Pid: instance.pid,
    Uptime: `${d}d ${h}h${pad(Math.floor((uptime % 3600) / 60))}m${pad(uptime % 60)}s`, Uptime_sec: uptime,
    CurrConns: instance.connections, CumConns: total, Idle_pct: 100, node: os.hostname(), Stopping: instance.stopping ? 1 : 0,
    Jobs: instance.connections + listeners, Listeners: listeners, TotalBytesOut: bytesOut, 'Build info': instance.version,
    Start_time_sec: Math.floor((instance.startedAt?.getTime() ?? 0) / 1000), Tainted: '0',
  };
}

/** The fields `show info float` prints as floats, with their tags in that form (HAProxy 2.6.12 tags two of them as rates then). */
const FLOAT_FIELDS: Readonly<Record<string, FieldTags>> = {
  Uptime_sec: 'MDP', ConnRate: 'MRP', SessRate: 'MRP', SslRate: 'MRP', SslFrontendKeyRate: 'MRP', SslFrontendSessionReuse_pct: 'MRP',
  SslBackendKeyRate: 'MRP', CompressBpsIn: 'MRP', CompressBpsOut: 'MRP', Start_time_sec: 'MDP',
};

/** A float as HAProxy 2.6 prints one: six decimals, trailing zeros (and a trailing dot) removed. */
export function formatFloat(n: number): string {
  return n.toFixed(6).replace(/\.?0+$/, '');
}

/** The reply of `show info` in `format`, ending with a newline (the session adds the final empty line). */
export function showInfo(instance: HaproxyInstance, nowMs: number, format: ShowInfoFormat = 'text', float = false): string {
  const known = values(instance, nowMs);
  const exact: Readonly<Record<string, number>> = {
    Uptime_sec: Math.max(0, nowMs - instance.startedAtMs) / 1000, Start_time_sec: (instance.startedAt?.getTime() ?? 0) / 1000,
  };
  const rows: TypedField[] = FIELDS.map(([pos, name, tags, type]) => {
    const floatTags = float ? FLOAT_FIELDS[name] : undefined;
    if (floatTags !== undefined) return { pos, name, tags: floatTags, type: 'flt', value: formatFloat(exact[name] ?? Number(known[name] ?? 0)) };
    return { pos, name, tags, type, value: known[name] ?? (type === 'str' ? '' : 0) };
  });
  if (format === 'json') {
    const json = rows.map((r) => ({ field: { pos: r.pos, name: r.name }, processNum: 1, tags: jsonTags(r.tags), value: jsonValue(r) }));
    return `${JSON.stringify(json)}\n`;
  }
  if (format === 'typed') return rows.map((r) => `${r.pos}.${r.name}.1:${typedTail(r)}\n`).join('');
  return rows.map((r) => `${r.name}: ${r.value}\n`).join('');
}
