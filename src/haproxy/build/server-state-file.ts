/**
 * HAProxy's server state files at start-up (`server-state-file`, `server-state-base`, `load-server-state-from-file
 * global|local`, `server-state-file-name`): the `show servers state` format (version 1) read with HAProxy 2.6's
 * rules and warnings (`src/server_state.c apply_server_state()`), each server's line turned into a
 * `ServerStateRecord` and put back with `pool.restoreState()`. The state lines HAProxy prints while loading
 * (`Server fe/s3 is DOWN, changed from server-state after a reload. …`, `Server fe/s2 remains in forced drain
 * mode.`) come from the pool's events; they go to stderr only, as HAProxy's `config :` warnings.
 */
import { readFile } from 'node:fs/promises';
import type { ServerStateRecord } from '../../pool-state.js';
import type { Server } from '../../server.js';
import type { CheckStatus } from '../../state/check-result.js';
import type { GlobalConfig } from '../config/types.js';
import { systemErrorText } from '../log/bind-failure.js';
import { haproxyLog } from '../log/format.js';
import type { HaproxyBackend } from './instance-types.js';

/** HAProxy's `enum healthcheck_status` values by code (`show servers state` column `srv_check_status`). */
const STATUS_BY_CODE: Readonly<Record<number, CheckStatus>> = {
  0: 'UNK', 1: 'INI', 4: 'HANA', 5: 'SOCKERR', 6: 'L4OK', 7: 'L4TOUT', 8: 'L4CON', 9: 'L6OK', 10: 'L6TOUT', 11: 'L6RSP', 12: 'L7TOUT',
  13: 'L7RSP', 15: 'L7OK', 16: 'L7OKC', 17: 'L7STS', 18: 'PROCERR', 19: 'PROCTOUT', 20: 'PROCOK',
};
/** `HCHK_STATUS_SIZE`: check status codes are below it. */
const STATUS_CODES = 22;
/** Admin flags (`SRV_ADMF_*`): forced, inherited and resolver maintenance, configuration maintenance, drains. */
const FMAINT = 0x01;
const IMAINT = 0x02;
const CMAINT = 0x04;
const FDRAIN = 0x08;
const IDRAIN = 0x10;
const RMAINT = 0x20;
const FQDN_CHANGED = 0x80;
const VALID_ADMIN = [0, FMAINT, CMAINT, CMAINT | FMAINT, CMAINT | FDRAIN, FDRAIN];
/** Check state bits (`CHK_ST_*`): in progress, configured, enabled, paused, agent. */
const CHECK_STATE_BITS = 0x01 | 0x02 | 0x04 | 0x08 | 0x10;
/** Version 1 lines have 20 fields (to `srvrecord`) and up to 5 optional ones. */
const MIN_FIELDS = 20;
const MAX_FIELDS = 25;

/** A state file's data lines (fields split), or undefined when it cannot be used (a warning said why). */
type StateLines = { readonly params: readonly string[]; readonly line: number }[] | undefined;

/** The path HAProxy reads: absolute as written, else under `server-state-base` when set, else as written. */
export function serverStateFilePath(name: string, base: string | undefined): string {
  if (name.startsWith('/') || base === undefined) return name;
  return base.endsWith('/') ? `${base}${name}` : `${base}/${name}`;
}

/** HAProxy's `strtol()` as its checks use it: leading digits (after blanks and a sign) read, the rest ignored. */
function strtol(text: string | undefined): number | undefined {
  const m = /^[ \t]*([+-]?\d+)/.exec(text ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** Reads a state file the way `srv_state_get_version()` and `srv_state_parse_line()` do. */
async function readStateFile(path: string, say: { open(reason: string): string; version: string; corrupted(line: number): string }, warn: (m: string) => void): Promise<StateLines> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (err) {
    warn(say.open(systemErrorText(err)));
    return undefined;
  }
  const nl = text.indexOf('\n');
  const version = nl < 0 ? undefined : /^[ \t]*[+-]?\d+$/.test(text.slice(0, nl)) ? Number(text.slice(0, nl)) : undefined;
  if (version !== 1) {
    warn(say.version);
    return undefined;
  }
  const out: { params: string[]; line: number }[] = [];
  const rest = text.slice(nl + 1);
  const lines = rest === '' ? [] : rest.split('\n');
  // The text after the last newline is a line without its newline: a truncated line, unless empty.
  const complete = lines.length - 1;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (i === complete && raw === '') break;
    const body = raw.replace(/^[ \t]+/, '');
    if (i < complete && (body === '' || body.startsWith('#'))) continue;
    const params = body.split(/[ \t]+/).filter((f) => f !== '');
    if (i === complete || params.length < MIN_FIELDS || params.length > MAX_FIELDS) {
      warn(say.corrupted(i + 1));
      return undefined;
    }
    out.push({ params, line: i + 1 });
  }
  return out;
}

/**
 * One line's fields checked as `srv_state_srv_update()` does, turned into a record for `server`; or HAProxy's
 * list of what is invalid (`, invalid srv_op_state value 'x'`), in which case nothing of it is applied.
 */
function recordOf(server: Server, p: readonly string[]): ServerStateRecord | string {
  let msg = '';
  const invalid = (field: string, value: string | undefined): void => {
    msg += `, invalid ${field} value '${value ?? ''}'`;
  };
  const op = strtol(p[5]);
  if (op === undefined || op < 0 || op > 3) invalid('srv_op_state', p[5]);
  const adminRaw = strtol(p[6]);
  const admin = adminRaw === undefined ? undefined : adminRaw & ~(IDRAIN | IMAINT | RMAINT | FQDN_CHANGED);
  if (admin === undefined || !VALID_ADMIN.includes(admin)) invalid('srv_admin_state', p[6]);
  const uweight = strtol(p[7]);
  if (uweight === undefined || uweight < 0 || uweight > 256) invalid('srv_uweight', p[7]);
  const iweight = strtol(p[8]);
  if (iweight === undefined || iweight < 0 || iweight > 256) invalid('srv_iweight', p[8]);
  const since = strtol(p[9]);
  if (since === undefined) invalid('srv_last_time_change', p[9]);
  const status = strtol(p[10]);
  if (status === undefined || status < 0 || status >= STATUS_CODES) invalid('srv_check_status', p[10]);
  const result = strtol(p[11]);
  if (result === undefined || result < 0 || result > 4) invalid('srv_check_result', p[11]);
  const health = strtol(p[12]);
  if (health === undefined) invalid('srv_check_health', p[12]);
  const checkState = strtol(p[13]);
  if (checkState === undefined || (checkState & ~CHECK_STATE_BITS) !== 0) invalid('srv_check_state', p[13]);
  const agentState = strtol(p[14]);
  if (agentState === undefined || (agentState & ~CHECK_STATE_BITS) !== 0) invalid('srv_agent_state', p[14]);
  for (const [field, value] of [['bk_f_forced_id', p[15]], ['srv_f_forced_id', p[16]]] as const) {
    const n = strtol(value);
    if (n !== 0 && n !== 1) invalid(field, value);
  }
  const fqdn = p[17] === undefined || p[17].startsWith('-') ? undefined : p[17];
  if (fqdn !== undefined && (fqdn.length > 255 || !/^[A-Za-z0-9._-]+$/.test(fqdn))) invalid('srv_fqdn', p[17]);
  const port = p[18] === undefined ? undefined : /^\d*/.exec(p[18])![0];
  if (port !== undefined && Number(port) > 65535) invalid('srv_port', p[18]);
  if (msg !== '') return msg;
  const a = admin!;
  const lastCheck = STATUS_BY_CODE[status!];
  return {
    name: server.name,
    // HAProxy 2.6.12 takes a saved address only with `init-addr last` or resolvers, neither of which switchyard's
    // configuration has: the configuration's address stays (measured: srv_addr 127.0.0.5 saved, 127.0.0.1 kept).
    host: server.host,
    port: port === undefined || port === '' || Number(port) === 0 ? server.port : Number(port),
    weight: uweight!,
    initialWeight: iweight!,
    adminState: (a & (FMAINT | CMAINT)) !== 0 ? 'maint' : (a & FDRAIN) !== 0 ? 'drain' : 'ready',
    maintFromConfig: (a & CMAINT) !== 0,
    operationalState: (['down', 'starting', 'up', 'stopping'] as const)[op!]!,
    health: Math.max(0, health!),
    check: (checkState! & 0x02) !== 0,
    checksEnabled: (checkState! & 0x04) !== 0,
    ...(lastCheck === undefined ? {} : { lastCheck: { status: lastCheck } }),
    sinceLastChangeMs: Math.max(0, since!) * 1000,
  };
}

/** Puts one server's line back through its pool; HAProxy's warning when it cannot. */
function apply(backend: HaproxyBackend, server: Server, params: readonly string[], warn: (m: string) => void): void {
  const record = recordOf(server, params);
  if (typeof record === 'string') {
    warn(`server-state application failed for server '${backend.name}/${server.name}'${record}`);
    return;
  }
  // As HAProxy 2.6.12, silently: the saved port replaces the configuration's (the state goes with it).
  if (record.port !== server.port) backend.pool.setAddress(server.name, server.host, record.port);
  backend.pool.restoreState({ version: 1, pool: backend.name, servers: [record] });
}

/**
 * Reads the global `server-state-file` when there is one, then loads the saved server states of every backend
 * that asks for them (`load-server-state-from-file`), in
 * declaration order, writing HAProxy's warnings and state lines through `warn` (the caller prints them as
 * `[WARNING]  (pid) : config : …`). Unreadable files, bad lines and unknown servers are warnings, never errors.
 */
export async function loadServerStateFiles(backends: readonly HaproxyBackend[], global: GlobalConfig, warn: (message: string) => void): Promise<void> {
  const wanted = backends.filter((b) => b.config.loadServerState !== 'none' && b.pool.size > 0);
  const globalLines = new Map<string, readonly string[]>();
  // HAProxy 2.6.12 reads the global file (and says when it cannot) even when no backend loads from it.
  if (global.serverStateFile !== undefined) {
    const path = serverStateFilePath(global.serverStateFile, global.serverStateBase);
    const lines = await readStateFile(path, {
      open: (reason) => `config: Can't open global server state file '${path}': ${reason}`,
      version: `config: Can't get version of the global server state file '${path}'.`,
      corrupted: (n) => `config: corrupted global server state file '${path}' at line ${n}.`,
    }, warn);
    // The first line of a backend/server pair counts; a hand-made duplicate is dropped.
    for (const { params } of lines ?? []) if (!globalLines.has(`${params[1]} ${params[3]}`)) globalLines.set(`${params[1]} ${params[3]}`, params);
  }
  for (const b of wanted) {
    const lines = b.config.loadServerState === 'global' ? globalLines : await localLines(b, global, warn);
    if (lines === undefined) continue;
    const stop = restoreLines(b, warn);
    try {
      for (const server of [...b.pool.servers]) {
        const key = `${b.name} ${server.name}`;
        const params = lines.get(key);
        if (params === undefined) continue;
        lines.delete(key);
        apply(b, server, params, warn);
      }
    } finally {
      stop();
    }
    if (b.config.loadServerState === 'local') for (const params of lines.values()) warn(`Proxy '${b.name}': can't find server '${params[3]}' in backend '${b.name}'`);
  }
}

/** A backend's own state file (`load-server-state-from-file local`), its lines checked against the backend's id and name. */
async function localLines(b: HaproxyBackend, global: GlobalConfig, warn: (m: string) => void): Promise<Map<string, readonly string[]> | undefined> {
  const path = serverStateFilePath(b.config.serverStateFileName ?? b.name, global.serverStateBase);
  const lines = await readStateFile(path, {
    open: (reason) => `Proxy '${b.name}': Can't open server state file '${path}': ${reason}.`,
    version: `Proxy '${b.name}': Can't get version of the server state file '${path}'.`,
    corrupted: (n) => `Proxy '${b.name}': corrupted server state file '${path}' at line ${n}.`,
  }, warn);
  if (lines === undefined) return undefined;
  const out = new Map<string, readonly string[]>();
  for (const { params } of lines) {
    const sameId = strtol(params[0]) === b.uuid;
    const sameName = params[1] === b.name;
    if (!sameId && !sameName) continue;
    if (!sameId) warn(`Proxy '${b.name}': backend ID mismatch: from server state file: '${params[0]}', from running config '${b.uuid}'`);
    else if (!sameName) {
      warn(`Proxy '${b.name}': backend name mismatch: from server state file: '${params[1]}', from running config '${b.name}'`);
      if (strtol(params[15]) !== 1) continue;
    }
    const key = `${b.name} ${params[3]}`;
    if (!out.has(key)) out.set(key, params);
  }
  return out;
}

/**
 * Follows a backend's pool while its state is put back and writes HAProxy's lines for it: DOWN and stopping
 * lines as they come, `remains in forced drain mode` for a drain, nothing for maintenance or an empty backend
 * (HAProxy 2.6.12 prints neither at load). Returns the function that stops following.
 */
function restoreLines(b: HaproxyBackend, warn: (m: string) => void): () => void {
  return haproxyLog(b.pool, (line, event) => {
    if (event.kind === 'drain-enter') warn(`Server ${b.name}/${event.server} remains in forced drain mode.`);
    else if (event.kind === 'server-down' || event.kind === 'server-stopping' || event.kind === 'server-up') warn(line);
  }, { section: b.kind === 'listen' ? 'proxy' : 'backend', queue: b.balancer });
}
