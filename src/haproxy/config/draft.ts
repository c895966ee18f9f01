/**
 * The parser's mutable working state: one draft per section, cloned from its `defaults` section when it
 * starts (HAProxy copies a defaults section into each proxy that uses it), then frozen into the
 * readonly types of `config-types.ts`. Internal: not exported from the package.
 */
import type { ConfigDiagnostic } from './diagnostics.js';
import type {
  BalanceAlgorithm,
  BindAddress,
  DefaultServerSettings,
  HashType,
  HttpCheck,
  LogTarget,
  ProtocolCheck,
  ProxyTimeouts,
  ServerConfig,
  SourceLocation,
  StatsPageConfig,
  TcpCheckRule,
} from './types.js';

/** Removes `readonly` from the top level of a type. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** HAProxy 2.6's server defaults (`doc/configuration.txt` §5.2; `include/haproxy/defaults.h`). */
export const HAPROXY_SERVER_DEFAULTS = Object.freeze({
  weight: 1,
  backup: false,
  maxconn: 0,
  maxqueue: 0,
  slowstartMs: 0,
  disabled: false,
  initState: 'up',
  check: false,
  agentCheck: false,
  agentInterMs: 2000,
  interMs: 2000,
  rise: 2,
  fall: 3,
  observe: 'none',
  errorLimit: 10,
  onError: 'fail-check',
  proxyProtocol: 'none',
} as const satisfies Partial<ServerConfig>);

/** HAProxy 2.6's proxy defaults that apply in TCP mode. */
export const HAPROXY_PROXY_DEFAULTS = Object.freeze({
  retries: 3,
  balance: Object.freeze({ name: 'roundrobin' }) as BalanceAlgorithm,
  hashType: 'map-based' as HashType,
});

/** A `server` line as read: its own keywords, with the `default-server` values current at that line. */
export interface ServerDraft {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  id?: number;
  readonly settings: Mutable<DefaultServerSettings>;
  readonly source: SourceLocation;
}

/** What a section kind may contain: frontend part, backend part, or (for defaults) everything but names. */
export type DraftKind = 'defaults' | 'frontend' | 'backend' | 'listen';

/** One section being read. */
export interface ProxyDraft {
  readonly kind: DraftKind;
  readonly name: string;
  readonly source: SourceLocation;
  /** `from <name>` as written. */
  from?: string;
  /** The defaults section it was cloned from ('' = unnamed), if any. */
  defaults?: string;
  mode: 'tcp' | 'http';
  /** The `mode http` alert, withdrawn at the end when the section turns out to serve only the stats page. */
  modeHttpAlert?: ConfigDiagnostic;
  /** `stats …` lines read so far (any of them enables the page, as in HAProxy). */
  stats?: Mutable<StatsPageConfig> & { auth: { readonly user: string; readonly password: string }[] };
  timeouts: Mutable<ProxyTimeouts>;
  logGlobal: boolean;
  logTargets: LogTarget[];
  tcpLog: boolean;
  /** The traffic log line's format (`log-format`, or `option tcplog`'s) and where it was set. */
  logFormat?: { readonly text: string; readonly source: SourceLocation; readonly by: 'option tcplog' | 'log-format' };
  dontLogNull: boolean;
  binds: BindAddress[];
  defaultBackend?: { readonly name: string; readonly source: SourceLocation };
  useBackends: { readonly name: string; readonly source: SourceLocation }[];
  balance: BalanceAlgorithm;
  /** A `balance` line was read here or in the defaults it came from (HAProxy then ignores `dispatch`). */
  balanceSet: boolean;
  /** `dispatch <addr>`. */
  dispatch?: { readonly host: string; readonly port: number };
  hashType: HashType;
  hashBalanceFactor?: number;
  retries: number;
  redispatch?: number;
  allBackups: boolean;
  logHealthChecks: boolean;
  checkOption: 'none' | 'tcp-check' | 'httpchk' | 'protocol';
  httpCheck?: HttpCheck;
  protocolCheck?: ProtocolCheck;
  tcpCheckRules: TcpCheckRule[];
  /** True while the rules are the ones inherited from defaults: the section's first `tcp-check` replaces them. */
  tcpCheckRulesInherited: boolean;
  defaultServer: Mutable<DefaultServerSettings>;
  /** `load-server-state-from-file`; undefined = not set (none). */
  serverStateLoad?: 'none' | 'global' | 'local';
  /** `server-state-file-name <file>`; undefined = the backend's name. */
  serverStateFileName?: string;
  servers: ServerDraft[];
}

/** A fresh draft with HAProxy's built-in defaults. */
export function emptyDraft(kind: DraftKind, name: string, source: SourceLocation): ProxyDraft {
  return {
    kind,
    name,
    source,
    mode: 'tcp',
    timeouts: {},
    logGlobal: false,
    logTargets: [],
    tcpLog: false,
    dontLogNull: false,
    binds: [],
    useBackends: [],
    balance: HAPROXY_PROXY_DEFAULTS.balance,
    balanceSet: false,
    hashType: HAPROXY_PROXY_DEFAULTS.hashType,
    retries: HAPROXY_PROXY_DEFAULTS.retries,
    allBackups: false,
    logHealthChecks: false,
    checkOption: 'none',
    tcpCheckRules: [],
    tcpCheckRulesInherited: false,
    defaultServer: {},
    servers: [],
  };
}

/** A new section's draft initialised from a defaults draft (what HAProxy's `proxy_preset_defaults` + copy do). */
export function draftFromDefaults(kind: DraftKind, name: string, source: SourceLocation, base: ProxyDraft, baseName: string): ProxyDraft {
  const draft = emptyDraft(kind, name, source);
  draft.defaults = baseName;
  draft.timeouts = { ...base.timeouts };
  draft.logGlobal = base.logGlobal;
  draft.logTargets = [...base.logTargets];
  draft.tcpLog = base.tcpLog;
  if (base.logFormat !== undefined) draft.logFormat = base.logFormat;
  draft.dontLogNull = base.dontLogNull;
  if (base.defaultBackend !== undefined && kind !== 'backend') draft.defaultBackend = base.defaultBackend;
  draft.balance = base.balance;
  draft.balanceSet = base.balanceSet;
  draft.hashType = base.hashType;
  if (base.hashBalanceFactor !== undefined) draft.hashBalanceFactor = base.hashBalanceFactor;
  draft.retries = base.retries;
  if (base.redispatch !== undefined) draft.redispatch = base.redispatch;
  draft.allBackups = base.allBackups;
  draft.logHealthChecks = base.logHealthChecks;
  draft.checkOption = base.checkOption;
  if (base.httpCheck !== undefined) draft.httpCheck = base.httpCheck;
  if (base.protocolCheck !== undefined) draft.protocolCheck = base.protocolCheck;
  draft.tcpCheckRules = [...base.tcpCheckRules];
  draft.tcpCheckRulesInherited = base.tcpCheckRules.length > 0;
  draft.defaultServer = { ...base.defaultServer };
  if (base.serverStateLoad !== undefined) draft.serverStateLoad = base.serverStateLoad;
  if (base.serverStateFileName !== undefined) draft.serverStateFileName = base.serverStateFileName;
  return draft;
}
