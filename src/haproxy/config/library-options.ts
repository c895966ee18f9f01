/**
 * The mapping from the parsed description to the options of switchyard's classes, one function per object,
 * and the checks of what the description allows but the classes cannot express (reported as configuration
 * alerts, so `switchyard -c` and the builder refuse the same files).
 */
import type { ActiveCheckerOptions, ServerCheckOptions } from '../../health/active-checker.js';
import type { AgentCheckerOptions, AgentSettings } from '../../health/agent-checker.js';
import type { PassiveObserverOptions, ServerObserveOptions } from '../../health/passive-observer.js';
import type { Probe } from '../../health/probe.js';
import { httpProbe } from '../../health/probes/http.js';
import { type SendExpectStep, sendExpectProbe } from '../../health/probes/send-expect.js';
import { tcpConnectProbe } from '../../health/probes/tcp-connect.js';
import { ldapCheckProbe } from '../../health/probes/ldap-check.js';
import { mysqlCheckProbe } from '../../health/probes/mysql-check.js';
import { pgsqlCheckProbe } from '../../health/probes/pgsql-check.js';
import { redisCheckProbe } from '../../health/probes/redis-check.js';
import { smtpCheckProbe } from '../../health/probes/smtp-check.js';
import { sslHelloProbe } from '../../health/probes/ssl-hello.js';
import type { ServerOptions } from '../../server.js';
import type { StrategySpec } from '../../strategies/index.js';
import type { TcpProxyOptions } from '../../proxy/tcp-proxy.js';
import type { ConfigDiagnostic } from './diagnostics.js';
import type {
  BackendConfig, BackendFields, CheckKind, FrontendConfig, GlobalConfig, HaproxyConfig, ListenConfig, ProtocolCheck, ProxyCommon, ServerConfig,
  SourceLocation, StatsPageConfig, TcpCheckRule,
} from './types.js';

/** A section that has servers. */
export type BackendSection = BackendConfig | ListenConfig;
/** A section that accepts connections. */
export type FrontendSection = FrontendConfig | ListenConfig;

/** `balance` + `hash-type` → the strategy. */
export function strategyOf(b: BackendFields): StrategySpec {
  const algo = b.balance;
  const factor = b.hashBalanceFactor ?? 0;
  const hashKey = hashKeyOf(b.servers);
  // HAProxy applies both to its consistent-hash tree only: `source` with `hash-type consistent`, and `random`.
  const extra = { ...(factor > 0 ? { hashBalanceFactor: factor } : {}), ...(hashKey === undefined ? {} : { hashKey }) };
  if (algo.name === 'source') return b.hashType === 'consistent' ? { name: 'source', hashType: 'consistent', ...extra } : { name: 'source', hashType: b.hashType };
  if (algo.name === 'random') return { name: 'random', draws: algo.draws, ...extra };
  return algo.name;
}

/** The servers' `hash-key`s as one strategy option: absent when all are `id`, a kind when all agree, else by name. */
function hashKeyOf(servers: readonly ServerConfig[]): 'addr' | 'addr-port' | ((s: { readonly name: string }) => 'id' | 'addr' | 'addr-port') | undefined {
  const kinds = new Set(servers.map((s) => s.hashKey ?? 'id'));
  if (kinds.size === 0 || (kinds.size === 1 && kinds.has('id'))) return undefined;
  if (kinds.size === 1) return [...kinds][0] as 'addr' | 'addr-port';
  const byName = new Map(servers.map((s) => [s.name, s.hashKey ?? 'id'] as const));
  return (s) => byName.get(s.name) ?? 'id';
}

/** True for HAProxy's dynamic algorithms (the ones that accept `add server` and any weight at runtime). */
export function isDynamicAlgorithm(b: BackendFields): boolean {
  const algo = b.balance.name;
  if (algo === 'static-rr') return false;
  if (algo === 'source') return b.hashType === 'consistent';
  return true;
}

/** One `server` line → the server's options. */
export function serverOptionsOf(s: ServerConfig): ServerOptions {
  return {
    name: s.name,
    host: s.host,
    port: s.port,
    ...(s.id === undefined ? {} : { id: s.id }),
    weight: s.weight,
    backup: s.backup,
    maxconn: s.maxconn,
    maxqueue: s.maxqueue,
    disabled: s.disabled,
    check: s.check,
    ...(s.agentCheck ? { agent: true } : {}),
    rise: s.rise,
    fall: s.fall,
    initState: s.initState,
    slowstartMs: s.slowstartMs,
    // Per server, as in HAProxy: the proxy's defaults (none) apply to the servers without them.
    ...(s.proxyProtocol === 'none' ? {} : { sendProxy: s.proxyProtocol }),
    ...(s.onMarkedDown === undefined ? {} : { onMarkedDown: s.onMarkedDown }),
    ...(s.onMarkedUp === undefined ? {} : { onMarkedUp: s.onMarkedUp }),
  };
}

/** The check settings of one server (`inter`, `fastinter`, `downinter`, `port`, `addr`). */
export function serverCheckOptionsOf(s: ServerConfig): ServerCheckOptions {
  return {
    interMs: s.interMs,
    ...(s.fastinterMs === undefined ? {} : { fastinterMs: s.fastinterMs }),
    ...(s.downinterMs === undefined ? {} : { downinterMs: s.downinterMs }),
    ...(s.checkPort === undefined ? {} : { port: s.checkPort }),
    ...(s.checkAddr === undefined ? {} : { addr: s.checkAddr }),
  };
}

/** `option tcp-check` + rules, `option httpchk`, a protocol check, or the plain TCP connect → the probe. */
export function probeOf(check: CheckKind): Probe {
  if (check.kind === 'httpchk') {
    const version = check.request.version === 'HTTP/1.1' ? 'HTTP/1.1' : 'HTTP/1.0';
    const headers: Record<string, string> = {};
    for (const h of check.request.headers ?? []) headers[h.name] = h.value;
    return httpProbe({ method: check.request.method, path: check.request.uri, version, ...(check.request.headers === undefined ? {} : { headers }) });
  }
  if (check.kind === 'protocol') return protocolProbeOf(check.check);
  if (check.kind === 'tcp-check') {
    const steps = check.rules.map(stepOf);
    if (steps.some((st) => st.kind !== 'comment')) return sendExpectProbe(steps);
  }
  return tcpConnectProbe();
}

/** A built-in protocol check → its probe. */
export function protocolProbeOf(c: ProtocolCheck): Probe {
  switch (c.name) {
    case 'mysql-check': return mysqlCheckProbe({ ...(c.user === undefined ? {} : { user: c.user }), protocol: c.protocol });
    case 'pgsql-check': return pgsqlCheckProbe({ user: c.user });
    case 'smtpchk': return smtpCheckProbe({ command: c.command, domain: c.domain });
    case 'redis-check': return redisCheckProbe();
    case 'ldap-check': return ldapCheckProbe();
    case 'ssl-hello-chk': return sslHelloProbe();
  }
}

/** One `tcp-check` rule → the probe's step. */
function stepOf(rule: TcpCheckRule): SendExpectStep {
  const comment = rule.type !== 'comment' && rule.comment !== undefined ? { comment: rule.comment } : {};
  if (rule.type === 'comment') return { kind: 'comment', text: rule.text };
  if (rule.type === 'connect') {
    return {
      kind: 'connect', ...(rule.port === undefined ? {} : { port: rule.port }), ...(rule.addr === undefined ? {} : { addr: rule.addr }),
      ...(rule.sendProxy ? { sendProxy: true } : {}), ...(rule.linger === true ? { linger: true } : {}), ...comment,
    };
  }
  if (rule.type === 'send') return { kind: 'send', data: rule.data, ...comment };
  return {
    kind: 'expect', match: rule.match, pattern: rule.pattern, negate: rule.negate, ...(rule.minRecv >= 0 ? { minRecv: rule.minRecv } : {}),
    ...(rule.okStatus === undefined ? {} : { okStatus: rule.okStatus }), ...(rule.errorStatus === undefined ? {} : { errorStatus: rule.errorStatus }),
    ...(rule.timeoutStatus === undefined ? {} : { timeoutStatus: rule.timeoutStatus }), ...(rule.onSuccess === undefined ? {} : { onSuccess: rule.onSuccess }),
    ...(rule.onError === undefined ? {} : { onError: rule.onError }), ...(rule.statusCode === undefined ? {} : { statusCode: rule.statusCode }), ...comment,
  };
}

/** The checker of a backend, or undefined when no server has `check`. */
export function checkerOptionsOf(b: BackendSection, global: GlobalConfig): ActiveCheckerOptions | undefined {
  const checked = b.servers.filter((s) => s.check);
  if (checked.length === 0) return undefined;
  const servers: Record<string, ServerCheckOptions> = {};
  for (const s of checked) servers[s.name] = serverCheckOptionsOf(s);
  const t = b.timeouts;
  return {
    probe: probeOf(b.check),
    servers,
    ...(t.checkMs === undefined || t.checkMs === 0 ? {} : { timeoutCheckMs: t.checkMs }),
    ...(t.checkMs === undefined || t.connectMs === undefined || t.connectMs === 0 ? {} : { timeoutConnectMs: t.connectMs }),
    spreadChecks: global.spreadChecksPercent,
    ...(global.maxSpreadChecksMs === undefined ? {} : { maxSpreadChecksMs: global.maxSpreadChecksMs }),
    autoStart: false,
  };
}

/** The agent checker of a backend (`agent-check` servers with their `agent-port|addr|send|inter`, or `port`/`addr`), or undefined. */
export function agentCheckerOptionsOf(b: BackendSection): AgentCheckerOptions | undefined {
  const agents = b.servers.filter((s) => s.agentCheck && (s.agentPort ?? s.checkPort) !== undefined);
  if (agents.length === 0) return undefined;
  const servers: Record<string, AgentSettings> = {};
  for (const s of agents) {
    // HAProxy's `port` and `addr` set the agent's port and address too, unless `agent-port`/`agent-addr` say otherwise.
    const port = s.agentPort ?? s.checkPort;
    const addr = s.agentAddr ?? s.checkAddr;
    servers[s.name] = { interMs: s.agentInterMs, ...(port === undefined ? {} : { port }), ...(addr === undefined ? {} : { addr }), ...(s.agentSend === undefined ? {} : { send: s.agentSend }) };
  }
  return { servers, autoStart: false };
}

/** The passive observer of a backend, or undefined when no checked server has `observe layer4`. */
export function observerOptionsOf(b: BackendSection): PassiveObserverOptions | undefined {
  const observed = b.servers.filter((s) => s.check && s.observe === 'layer4');
  if (observed.length === 0) return undefined;
  const servers: Record<string, ServerObserveOptions> = {};
  for (const s of observed) servers[s.name] = { observe: 'layer4', errorLimit: s.errorLimit, onError: s.onError };
  return { observe: 'none', servers };
}

/** A timeout in ms, `Infinity` when unset or 0 (HAProxy: no timeout). */
function timeoutOf(ms: number | undefined): number {
  return ms === undefined || ms === 0 ? Infinity : ms;
}

/** `timeout queue`, or `timeout connect` when unset (HAProxy's rule), or none. */
export function queueTimeoutOf(b: Pick<ProxyCommon, 'timeouts'>): number {
  return timeoutOf(b.timeouts.queueMs ?? b.timeouts.connectMs);
}

/**
 * The proxy of a frontend (or listen) towards its backend: the connection settings come from the backend, as in
 * HAProxy (`timeout connect|server|tunnel|queue`, `retries`, `option redispatch`), `timeout client` from the
 * frontend; `send-proxy` and `on-marked-*` are the servers' own ({@link serverOptionsOf}). `observer` and `clock`
 * are added by the builder.
 */
export function proxyOptionsOf(f: Pick<ProxyCommon, 'timeouts'>, b: BackendSection | undefined): TcpProxyOptions {
  if (b === undefined) return { timeoutClientMs: timeoutOf(f.timeouts.clientMs), retries: 0 };
  const t = b.timeouts;
  return {
    timeoutConnectMs: timeoutOf(t.connectMs),
    retries: b.retries,
    redispatch: b.redispatch === undefined ? false : b.redispatch,
    timeoutQueueMs: queueTimeoutOf(b),
    timeoutClientMs: timeoutOf(f.timeouts.clientMs),
    timeoutServerMs: timeoutOf(t.serverMs),
    ...(t.tunnelMs === undefined || t.tunnelMs === 0 ? {} : { timeoutTunnelMs: t.tunnelMs }),
  };
}

/** The backend a frontend sends its connections to: the first unconditional `use_backend`, else `default_backend`, else (listen) itself. */
export function targetBackendName(f: FrontendSection): string | undefined {
  return f.useBackends[0] ?? f.defaultBackend ?? (f.kind === 'listen' ? f.name : undefined);
}

/** Every section with servers, by name (a `listen` counts as a backend; one that serves the stats page does not). */
export function backendSections(config: HaproxyConfig): Map<string, BackendSection> {
  const out = new Map<string, BackendSection>();
  for (const p of proxiesInOrder(config)) if (p.kind !== 'frontend' && p.mode === 'tcp' && !out.has(p.name)) out.set(p.name, p);
  return out;
}

/** A frontend or listen section that serves the stats page instead of proxying. */
export type StatsSection = (FrontendConfig | ListenConfig) & { readonly stats: StatsPageConfig };

/** The sections that serve the stats page (`mode http` + `stats …`), in declaration order. */
export function statsSections(config: HaproxyConfig): StatsSection[] {
  return proxiesInOrder(config).filter((p): p is StatsSection => p.kind !== 'backend' && p.mode === 'http' && p.stats !== undefined);
}

/** Frontends, backends and listens in declaration order (file, then line). */
export function proxiesInOrder(config: HaproxyConfig): (FrontendConfig | BackendConfig | ListenConfig)[] {
  const all: (FrontendConfig | BackendConfig | ListenConfig)[] = [...config.frontends, ...config.backends, ...config.listens];
  const files: string[] = [];
  for (const p of all) if (!files.includes(p.source.file)) files.push(p.source.file);
  return all.sort((a, b) => files.indexOf(a.source.file) - files.indexOf(b.source.file) || a.source.line - b.source.line);
}

/**
 * What the description allows but switchyard's objects cannot do, as alerts in HAProxy's shape (and warnings for
 * `timeout client-fin|server-fin`, which have no effect): an `httpchk` version other than HTTP/1.0 or HTTP/1.1.
 */
export function buildDiagnostics(config: HaproxyConfig): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const alert = (at: SourceLocation, keyword: string, message: string, located = true): void => {
    const text = located ? `[${at.file}:${at.line}] : ${message}` : message;
    out.push({ severity: 'alert', file: at.file, line: at.line, keyword, message, text });
  };
  for (const p of proxiesInOrder(config)) {
    for (const [field, keyword] of [['clientFinMs', 'client-fin'], ['serverFinMs', 'server-fin']] as const) {
      if (p.timeouts[field] === undefined) continue;
      const message = `'timeout ${keyword}' in ${p.kind} '${p.name}' is ignored by switchyard: a half-closed connection keeps 'timeout client' and 'timeout server'.`;
      out.push({ severity: 'warning', file: p.source.file, line: p.source.line, keyword: 'timeout', message, text: message });
    }
  }
  for (const b of backendSections(config).values()) {
    if (b.check.kind === 'httpchk' && b.check.request.version !== 'HTTP/1.0' && b.check.request.version !== 'HTTP/1.1') {
      alert(b.source, 'option', `parsing [${b.source.file}:${b.source.line}] : 'option httpchk' : version '${b.check.request.version}' is not supported in switchyard: use HTTP/1.0 or HTTP/1.1.`, false);
    }
  }
  return out;
}
