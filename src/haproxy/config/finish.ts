/**
 * After every line is read: checks that need the whole file (backend references, server ids), the lint
 * warnings HAProxy gives or does not (missing timeouts, `observe` without `check`, backup-only backends),
 * and freezing the drafts into the public description.
 */
import { parseLogFormat } from './log-format-syntax.js';
import type { DiagnosticLog } from './diagnostics.js';
import { HAPROXY_SERVER_DEFAULTS, type ProxyDraft, type ServerDraft } from './draft.js';
import { describeSection, proxyTypeName } from './line.js';
import type {
  BackendFields, CheckKind, DefaultsConfig, FrontendFields, ProxyCommon, ServerConfig,
} from './types.js';

/** Every proxy draft of the file, in order, and the defaults drafts. */
export interface Drafts {
  readonly defaults: readonly ProxyDraft[];
  readonly proxies: readonly ProxyDraft[];
  /** The global `server-state-file`, if set (what `load-server-state-from-file global` needs). */
  readonly serverStateFile?: string;
  /** How many `log` targets the global section has (what `log global` brings). */
  readonly globalLogTargets: number;
}

/** Runs the whole-file checks and lints, reporting into `log`. */
export function checkDrafts(drafts: Drafts, log: DiagnosticLog): void {
  const withBackend = new Map<string, ProxyDraft>();
  for (const p of drafts.proxies) if (p.kind !== 'frontend' && !withBackend.has(p.name)) withBackend.set(p.name, p);

  for (const p of drafts.proxies) {
    if (p.kind !== 'backend') {
      const refs = [...(p.defaultBackend === undefined ? [] : [{ ...p.defaultBackend, what: 'default_backend' }]),
        ...p.useBackends.map((u) => ({ ...u, what: 'use_backend' }))];
      for (const ref of refs) {
        if (!withBackend.has(ref.name)) {
          log.add('alert', ref.source, ref.what, `Proxy '${p.name}': unable to find required ${ref.what}: '${ref.name}'.`, 'no-location');
        }
      }
    }
    if (p.kind !== 'backend' && p.binds.length === 0) {
      log.add('warning', p.source, 'bind', `${describeSection(p.kind, p.name)} has no 'bind' directive. Please declare it as a backend if this was intended.`, 'no-location');
    }
    if (p.kind !== 'frontend') checkServers(p, log);
    if (p.kind !== 'frontend' && p.serverStateLoad === 'global' && drafts.serverStateFile === undefined) {
      log.add('warning', p.source, 'load-server-state-from-file', `${proxyTypeName(p.kind)} '${p.name}' configured to load server state file from global section 'server-state-file' directive. Unfortunately, 'server-state-file' is not set!`, 'no-location');
    }
    if (p.dispatch !== undefined && p.balanceSet) {
      log.add('warning', p.source, 'dispatch', `dispatch address of ${proxyTypeName(p.kind)} '${p.name}' will be ignored in balance mode.`, 'no-location');
    }
    checkLogFormat(p, log, drafts.globalLogTargets);
    checkStatsPage(p, log);
    missingTimeouts(p, log);
  }
  for (const d of drafts.defaults) {
    if (d.checkOption !== 'tcp-check' && d.tcpCheckRules.length > 0) tcpCheckWithoutOption(d, log);
  }
}

/** HAProxy checks a proxy's log-format once the file is read (`check_config_validity()`), naming its line. */
function checkLogFormat(p: ProxyDraft, log: DiagnosticLog, globalLogTargets: number): void {
  const format = p.logFormat;
  if (format === undefined) return;
  const parsed = format.by === 'log-format' ? parseLogFormat(format.text) : undefined;
  if (parsed !== undefined && !parsed.ok) {
    const at = format.source;
    log.add('alert', at, 'log-format', `Parsing [${at.file}:${at.line}]: failed to parse log-format : ${parsed.message}.`, 'no-location');
  }
  if (p.kind !== 'backend' && p.mode === 'tcp' && p.logTargets.length + (p.logGlobal ? globalLogTargets : 0) === 0) {
    log.add('warning', format.source, 'log-format', `log format ignored for ${proxyTypeName(p.kind)} '${p.name}' since it has no log address.`, 'no-location');
  }
}

function checkServers(p: ProxyDraft, log: DiagnosticLog): void {
  const ids = new Map<number, ServerDraft>();
  for (const s of p.servers) {
    if (s.id === undefined) continue;
    const other = ids.get(s.id);
    if (other !== undefined) {
      log.add('alert', s.source, 'id', `'server ${p.name}/${s.name}' : custom id ${s.id} already used at ${other.source.file}:${other.source.line} ('server ${other.name}')`, 'bare-location');
    } else {
      ids.set(s.id, s);
    }
  }
  for (const s of p.servers) {
    if (s.settings.observe === 'layer4' && s.settings.check !== true) {
      log.add('warning', s.source, 'observe', `server ${p.name}/${s.name}: 'observe layer4' has no effect without 'check' (HAProxy ignores it silently).`);
    }
  }
  if (p.servers.length > 0 && p.servers.every((s) => s.settings.backup === true)) {
    const who = proxyTypeName(p.kind);
    const target = p.allBackups ? 'all the backups share' : `the first backup ('${p.servers[0]?.name ?? ''}') takes`;
    log.add('warning', p.source, 'backup', `${who} '${p.name}' has only backup servers: with no active server, ${target} all the traffic all the time; did you mean to remove 'backup'?`);
  }
  if (p.checkOption !== 'tcp-check' && p.tcpCheckRules.length > 0 && !p.tcpCheckRulesInherited) tcpCheckWithoutOption(p, log);
}

/** True for a frontend or listen section that only serves the stats page: `stats …`, no server, no backend. */
export function servesStatsOnly(p: ProxyDraft): boolean {
  return p.kind !== 'backend' && p.kind !== 'defaults' && p.stats !== undefined && p.servers.length === 0
    && p.defaultBackend === undefined && p.useBackends.length === 0;
}

/**
 * `mode http` is accepted only for a section that serves the stats page and nothing else (its alert, recorded
 * at the `mode` line, is withdrawn); `stats` in a `mode tcp` section is ignored with HAProxy's warning.
 */
function checkStatsPage(p: ProxyDraft, log: DiagnosticLog): void {
  if (p.mode === 'http' && p.modeHttpAlert !== undefined && servesStatsOnly(p)) log.retract(p.modeHttpAlert);
  if (p.stats === undefined) return;
  if (p.mode !== 'http') {
    log.add('warning', p.stats.source, 'stats', `'stats' statement ignored for ${proxyTypeName(p.kind)} '${p.name}' as it requires HTTP mode.`, 'no-location');
  } else if (p.stats.admin && p.stats.auth.length === 0) {
    log.add('alert', p.stats.source, 'stats', `${describeSection(p.kind, p.name)}: 'stats admin' needs 'stats auth' in switchyard: admin actions are never served without authentication.`, 'no-location');
  }
}

function tcpCheckWithoutOption(p: ProxyDraft, log: DiagnosticLog): void {
  const first = p.tcpCheckRules[0];
  if (first === undefined) return;
  log.add('warning', first.source, 'tcp-check', `${describeSection(p.kind, p.name)}: 'tcp-check' rules have no effect without 'option tcp-check'.`);
}

/** HAProxy's own warning, word for word (cfgparse.c), for a proxy without client/connect/server timeouts. */
function missingTimeouts(p: ProxyDraft, log: DiagnosticLog): void {
  const t = p.timeouts;
  const fe = p.kind !== 'backend' && !t.clientMs;
  const be = p.kind !== 'frontend' && (!t.connectMs || !t.serverMs);
  if (!fe && !be) return;
  log.add('warning', p.source, 'timeout', [
    `missing timeouts for ${describeSection(p.kind, p.name)}.`,
    '   | While not properly invalid, you will certainly encounter various problems',
    '   | with such a configuration. To fix this, please ensure that all following',
    "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
  ].join('\n'), 'no-location');
}

function freezeServer(s: ServerDraft): ServerConfig {
  const v = { ...HAPROXY_SERVER_DEFAULTS, ...s.settings };
  return {
    name: s.name,
    host: s.host,
    port: s.port,
    ...(s.id === undefined ? {} : { id: s.id }),
    weight: v.weight,
    backup: v.backup,
    maxconn: v.maxconn,
    maxqueue: v.maxqueue,
    slowstartMs: v.slowstartMs,
    disabled: v.disabled,
    initState: v.initState,
    check: v.check,
    ...(v.checkPort === undefined ? {} : { checkPort: v.checkPort }),
    ...(v.checkAddr === undefined ? {} : { checkAddr: v.checkAddr }),
    interMs: v.interMs,
    ...(v.fastinterMs === undefined ? {} : { fastinterMs: v.fastinterMs }),
    ...(v.downinterMs === undefined ? {} : { downinterMs: v.downinterMs }),
    rise: v.rise,
    fall: v.fall,
    observe: v.observe,
    errorLimit: v.errorLimit,
    onError: v.onError,
    ...(v.onMarkedDown === undefined ? {} : { onMarkedDown: v.onMarkedDown }),
    ...(v.onMarkedUp === undefined ? {} : { onMarkedUp: v.onMarkedUp }),
    agentCheck: v.agentCheck,
    ...(v.agentPort === undefined ? {} : { agentPort: v.agentPort }),
    ...(v.agentAddr === undefined ? {} : { agentAddr: v.agentAddr }),
    ...(v.agentSend === undefined ? {} : { agentSend: v.agentSend }),
    agentInterMs: v.agentInterMs,
    proxyProtocol: v.proxyProtocol,
    ...(v.hashKey === undefined ? {} : { hashKey: v.hashKey }),
    source: s.source,
  };
}

function checkKind(p: ProxyDraft): CheckKind {
  if (p.checkOption === 'httpchk' && p.httpCheck !== undefined) return { kind: 'httpchk', request: p.httpCheck };
  if (p.checkOption === 'tcp-check') return { kind: 'tcp-check', rules: p.tcpCheckRules };
  if (p.checkOption === 'protocol' && p.protocolCheck !== undefined) return { kind: 'protocol', check: p.protocolCheck };
  return { kind: 'tcp-connect' };
}

/** The fields every proxy kind has. */
export function freezeCommon(p: ProxyDraft): ProxyCommon {
  return {
    name: p.name,
    ...(p.defaults === undefined ? {} : { defaults: p.defaults }),
    mode: p.mode,
    timeouts: { ...p.timeouts },
    log: { global: p.logGlobal, targets: p.logTargets },
    tcpLog: p.tcpLog,
    ...(p.logFormat === undefined ? {} : { logFormat: p.logFormat.text }),
    dontLogNull: p.dontLogNull,
    source: p.source,
  };
}

/** The frontend part of a frontend or listen draft. */
export function freezeFrontend(p: ProxyDraft): FrontendFields {
  return {
    binds: p.binds,
    ...(p.defaultBackend === undefined ? {} : { defaultBackend: p.defaultBackend.name }),
    useBackends: p.useBackends.map((u) => u.name),
    ...(p.mode === 'http' && p.stats !== undefined ? { stats: { ...p.stats, auth: [...p.stats.auth] } } : {}),
  };
}

/** The backend part of a backend or listen draft. */
export function freezeBackend(p: ProxyDraft): BackendFields {
  return {
    balance: p.balance,
    hashType: p.hashType,
    ...(p.hashBalanceFactor === undefined ? {} : { hashBalanceFactor: p.hashBalanceFactor }),
    retries: p.retries,
    ...(p.redispatch === undefined ? {} : { redispatch: p.redispatch }),
    allBackups: p.allBackups,
    logHealthChecks: p.logHealthChecks,
    check: checkKind(p),
    loadServerState: p.serverStateLoad ?? 'none',
    ...(p.serverStateFileName === undefined ? {} : { serverStateFileName: p.serverStateFileName }),
    servers: p.servers.map(freezeServer),
    // HAProxy uses the dispatch address only when no balance algorithm was set (`check_config_validity()`).
    ...(p.dispatch === undefined || p.balanceSet ? {} : { dispatch: p.dispatch }),
  };
}

/** A frozen defaults section. */
export function freezeDefaults(d: ProxyDraft): DefaultsConfig {
  const { servers: _servers, ...backend } = freezeBackend(d);
  const common = freezeCommon(d);
  return {
    ...backend,
    name: d.name,
    ...(d.from === undefined ? {} : { from: d.from }),
    mode: 'tcp',
    timeouts: common.timeouts,
    log: common.log,
    tcpLog: common.tcpLog,
    ...(common.logFormat === undefined ? {} : { logFormat: common.logFormat }),
    dontLogNull: common.dontLogNull,
    defaultServer: { ...d.defaultServer },
    source: d.source,
  };
}
