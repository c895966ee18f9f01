/**
 * The plain description {@link parseHaproxyConfig} returns: every value resolved (units converted to
 * milliseconds, `defaults` sections and `default-server` lines applied, HAProxy's defaults filled in), so
 * building the runtime objects is a mapping. Field names follow switchyard's options where they exist
 * (`ServerOptions`, `PoolOptions`, `BalancerOptions`, `StrategySpec`).
 */
import type { InitState } from '../../server.js';
import type { ConfigDiagnostic } from './diagnostics.js';

/** Where something was written: file name (or the `fileName` option) and 1-based line. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

/** A `log` target: `log <address> [len <n>] [format <f>] <facility> [<level> [<minlevel>]]`. */
export interface LogTarget {
  /** `stderr`/`stdout`, a UDP `host:port` (`udp@`/`ipv4@`/`ipv6@`/plain), a unix path (`/dev/log`), or `fd@N`. */
  readonly address: LogAddress;
  /** Syslog facility (`local0`…). */
  readonly facility: string;
  /** Highest level sent. @defaultValue 'debug' (everything) */
  readonly level: LogLevel;
  /** Lowest level sent (more severe levels are raised to it). */
  readonly minLevel?: LogLevel;
  /** `format rfc3164|rfc5424|short|raw|…`. @defaultValue 'rfc3164' */
  readonly format: string;
  /** Longest line sent (`len`). @defaultValue 1024 */
  readonly maxLength: number;
  readonly source: SourceLocation;
}

/** Where log lines go. */
export type LogAddress =
  | { readonly kind: 'stderr' | 'stdout' }
  | { readonly kind: 'udp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number };

/** Syslog levels, most severe first. */
export type LogLevel = 'emerg' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug';

/** A proxy's `log` setting: the global targets (`log global`) and/or its own; `no log` clears both. */
export interface ProxyLog {
  /** `log global`: send to the targets of the global section too. */
  readonly global: boolean;
  /** The proxy's own `log <address> …` targets. */
  readonly targets: readonly LogTarget[];
}

/** `stats socket <address> [level user|operator|admin] [mode <octal>] …` (the runtime API). */
export interface StatsSocket {
  readonly address:
    | { readonly kind: 'unix'; readonly path: string }
    | { readonly kind: 'tcp'; readonly host: string; readonly port: number };
  /** What commands the socket accepts. @defaultValue 'operator' (HAProxy 2.6's default) */
  readonly level: 'user' | 'operator' | 'admin';
  /** File mode of a unix socket (`mode 600` is octal). @defaultValue 0o600 (HAProxy uses the umask) */
  readonly mode: number;
  readonly source: SourceLocation;
}

/** The `global` section. */
export interface GlobalConfig {
  readonly log: readonly LogTarget[];
  readonly statsSockets: readonly StatsSocket[];
  /** `stats timeout`: idle timeout of a runtime API connection. @defaultValue 10000 */
  readonly statsTimeoutMs: number;
  /**
   * `nbthread <n>`: threads that accept and relay connections. 1 is one `TcpProxy` in the main thread; more
   * start that many worker threads per frontend (`ProxyWorkers`) for its TCP binds. @defaultValue 1
   */
  readonly nbthread: number;
  /** `spread-checks`: ± percent of random jitter added to check intervals (0–50). @defaultValue 0 */
  readonly spreadChecksPercent: number;
  /** `max-spread-checks`: cap of the start-up spread of first checks, in ms; undefined = no cap. */
  readonly maxSpreadChecksMs?: number;
  /** `server-state-file <file>`: the saved server states that `load-server-state-from-file global` reads at start-up. */
  readonly serverStateFile?: string;
  /** `server-state-base <dir>`: where relative server state file names are. */
  readonly serverStateBase?: string;
  /**
   * `log-send-hostname [<name>]`: the host field of syslog headers (`rfc3164`, `rfc5424`); `true` for the
   * system's host name (no argument). Undefined: no host field (HAProxy 2.6.12's default).
   */
  readonly logSendHostname?: string | true;
}

/**
 * One listening address of a `bind` line (a `bind` with `a:1,b:2-4` gives several): a TCP address, a unix
 * socket (`unix@<path>`, `/<path>`, `abns@<name>`), or an inherited listening socket (`fd@<n>`).
 */
export type BindAddress = TcpBindAddress | UnixBindAddress | FdBindAddress;

/** `[ipv4@|ipv6@|tcp@…]host:port[-end]`. */
export interface TcpBindAddress {
  readonly kind: 'tcp';
  /** IP address or host name to listen on; `*` and an empty host are `0.0.0.0` (`::` with `ipv6@`), `:::p` is `::`. */
  readonly host: string;
  /** First port. */
  readonly port: number;
  /** Last port of a range (`8000-8010`); equals `port` for a single port. */
  readonly portEnd: number;
  /** The text as written, for messages. */
  readonly raw: string;
  readonly source: SourceLocation;
}

/** `unix@<path>` or an absolute path: a unix stream socket; `abns@<name>`: Linux's abstract namespace. */
export interface UnixBindAddress {
  readonly kind: 'unix';
  /** The socket's path, or the abstract name for `abns@`. */
  readonly path: string;
  /** `abns@`: an abstract socket (no file). */
  readonly abstract: boolean;
  readonly raw: string;
  readonly source: SourceLocation;
}

/** `fd@<n>`: a listening socket the process inherited on descriptor `n` (systemd socket activation, a supervisor). */
export interface FdBindAddress {
  readonly kind: 'fd';
  readonly fd: number;
  readonly raw: string;
  readonly source: SourceLocation;
}

/** `balance`: one of HAProxy's TCP algorithms. */
export type BalanceAlgorithm =
  | { readonly name: 'roundrobin' | 'static-rr' | 'leastconn' | 'first' | 'source' }
  | { readonly name: 'random'; readonly draws: number };

/** `hash-type`: how `source` (and `random`) map keys to servers. */
export type HashType = 'map-based' | 'consistent';

/** Timeouts (`timeout …`), in ms; undefined = not set (HAProxy: no timeout; `queue` falls back to `connect`). */
export interface ProxyTimeouts {
  readonly connectMs?: number;
  readonly clientMs?: number;
  readonly serverMs?: number;
  readonly tunnelMs?: number;
  readonly queueMs?: number;
  readonly checkMs?: number;
  readonly clientFinMs?: number;
  readonly serverFinMs?: number;
}

/** `option httpchk [<method> <uri> [<version>]]` (HAProxy 2.6 TCP mode still sends it). */
export interface HttpCheck {
  readonly method: string;
  readonly uri: string;
  readonly version: string;
  /** Headers written after the version (`HTTP/1.1\r\nHost:\ www`), in order. */
  readonly headers?: readonly { readonly name: string; readonly value: string }[];
}

/** A built-in protocol check: `option mysql-check|pgsql-check|redis-check|smtpchk|ldap-check|ssl-hello-chk`. */
export type ProtocolCheck =
  /** `option mysql-check [user <u> [post-41|pre-41]]`. */
  | { readonly name: 'mysql-check'; readonly user?: string; readonly protocol: 'post-41' | 'pre-41' }
  /** `option pgsql-check user <u>`. */
  | { readonly name: 'pgsql-check'; readonly user: string }
  /** `option smtpchk [HELO|EHLO <domain>]`. */
  | { readonly name: 'smtpchk'; readonly command: 'HELO' | 'EHLO'; readonly domain: string }
  | { readonly name: 'redis-check' | 'ldap-check' | 'ssl-hello-chk' };

/** One `tcp-check` rule, in order. */
export type TcpCheckRule =
  | {
      readonly type: 'connect';
      readonly port?: number;
      readonly addr?: string;
      readonly sendProxy: boolean;
      /** `linger`: close with a FIN instead of a reset. */
      readonly linger?: boolean;
      readonly comment?: string;
      readonly source: SourceLocation;
    }
  /** `send <string>` (escapes already resolved) or `send-binary <hex>` (decoded): the bytes to write. */
  | { readonly type: 'send'; readonly data: Uint8Array; readonly comment?: string; readonly source: SourceLocation }
  | {
      readonly type: 'expect';
      /** `string`/`binary` match a substring; `rstring`/`rbinary` a regular expression (binary: over hex). */
      readonly match: 'string' | 'rstring' | 'binary' | 'rbinary';
      /** For `string`/`rstring`: the text; for `binary`: the bytes as lowercase hex; for `rbinary`: the regex. */
      readonly pattern: string;
      /** `!`: the rule passes when the pattern is absent. */
      readonly negate: boolean;
      /** `min-recv <n>`: bytes to wait for before matching; -1 = not set. */
      readonly minRecv: number;
      /** `ok-status`: the status of a pass that ends on this rule. */
      readonly okStatus?: 'L7OK' | 'L7OKC' | 'L6OK' | 'L4OK';
      /** `error-status`: the status of a failure of this rule. */
      readonly errorStatus?: 'L7RSP' | 'L7STS' | 'L7OKC' | 'L6RSP' | 'L4CON';
      /** `tout-status`: the status when the check times out on this rule. */
      readonly timeoutStatus?: 'L7TOUT' | 'L6TOUT' | 'L4TOUT';
      /** `on-success <fmt>` as written. */
      readonly onSuccess?: string;
      /** `on-error <fmt>` as written. */
      readonly onError?: string;
      /** `status-code <expr>` as written. */
      readonly statusCode?: string;
      readonly comment?: string;
      readonly source: SourceLocation;
    }
  | { readonly type: 'comment'; readonly text: string; readonly source: SourceLocation };

/** How the servers of a backend are checked when they have `check`. */
export type CheckKind =
  /** Plain TCP connect (no option). */
  | { readonly kind: 'tcp-connect' }
  /** `option tcp-check` with its rules (none: connect only). */
  | { readonly kind: 'tcp-check'; readonly rules: readonly TcpCheckRule[] }
  /** `option httpchk`. */
  | { readonly kind: 'httpchk'; readonly request: HttpCheck }
  /** A built-in protocol check. */
  | { readonly kind: 'protocol'; readonly check: ProtocolCheck };

/** `observe` / `on-error` / `error-limit`: passive health (HAProxy's `observe layer4`). */
export type OnError = 'fastinter' | 'fail-check' | 'sudden-death' | 'mark-down';

/** A `server` line with `default-server` values and HAProxy's defaults applied. */
export interface ServerConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `id <n>`; undefined = next free id in declaration order (HAProxy's automatic ids). */
  readonly id?: number;
  readonly weight: number;
  readonly backup: boolean;
  readonly maxconn: number;
  readonly maxqueue: number;
  /** `slowstart`, in ms as written (HAProxy keeps whole seconds, rounded up). */
  readonly slowstartMs: number;
  /** `disabled`: starts in maintenance. */
  readonly disabled: boolean;
  /** `init-state` (HAProxy 3.1+; 2.6 behaves as `up`). */
  readonly initState: InitState;
  readonly check: boolean;
  /** `port <p>`: port used by checks instead of the server's. */
  readonly checkPort?: number;
  /** `addr <ip>`: address used by checks instead of the server's. */
  readonly checkAddr?: string;
  readonly interMs: number;
  /** `fastinter`; undefined = `inter`. */
  readonly fastinterMs?: number;
  /** `downinter`; undefined = `inter`. */
  readonly downinterMs?: number;
  readonly rise: number;
  readonly fall: number;
  /** `observe layer4` → passive health on; `none` (default) → off. */
  readonly observe: 'none' | 'layer4';
  readonly errorLimit: number;
  readonly onError: OnError;
  /** `on-marked-down shutdown-sessions`. */
  readonly onMarkedDown?: 'shutdown-sessions';
  /** `on-marked-up shutdown-backup-sessions`. */
  readonly onMarkedUp?: 'shutdown-backup-sessions';
  /** `agent-check`: the server has an agent (`no-agent-check` → false). */
  readonly agentCheck: boolean;
  /** `agent-port <p>`: the agent's port (required with `agent-check`). */
  readonly agentPort?: number;
  /** `agent-addr <a>`: the agent's address; undefined = the server's. */
  readonly agentAddr?: string;
  /** `agent-send <text>`: sent to the agent once connected. */
  readonly agentSend?: string;
  /** `agent-inter <t>`: interval between agent checks. @defaultValue 2000 */
  readonly agentInterMs: number;
  /** `send-proxy` (v1) / `send-proxy-v2`: PROXY protocol header to the server; `no-send-proxy[-v2]` → none. */
  readonly proxyProtocol: 'none' | 'v1' | 'v2';
  /** `hash-key id|addr|addr-port` (HAProxy 3.0+): where its consistent-hash ring points come from; absent = `id`. */
  readonly hashKey?: 'id' | 'addr' | 'addr-port';
  readonly source: SourceLocation;
}

/** Settings shared by every kind of proxy section (after inheritance from its `defaults`). */
export interface ProxyCommon {
  readonly name: string;
  /** The `defaults` section it took its initial settings from (name, or '' for an unnamed one); undefined = none. */
  readonly defaults?: string;
  /** `tcp`, or `http` for a frontend or listen section that only serves the stats page ({@link StatsPageConfig}). */
  readonly mode: 'tcp' | 'http';
  readonly timeouts: ProxyTimeouts;
  readonly log: ProxyLog;
  /** `option tcplog` (or `option httplog` falling back to it, as HAProxy does in TCP mode) was the last word on the log format. */
  readonly tcpLog: boolean;
  /**
   * The format of the line logged for each finished connection: `log-format <string>`, or `option tcplog`'s
   * (`%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`), whichever came last; undefined: none
   * (a proxy with log targets then logs `Connect from …` at accept).
   */
  readonly logFormat?: string;
  /** `option dontlognull`. */
  readonly dontLogNull: boolean;
  readonly source: SourceLocation;
}

/** Fields of a proxy that accepts connections (frontend, listen). */
export interface FrontendFields {
  readonly binds: readonly BindAddress[];
  /** `default_backend`. */
  readonly defaultBackend?: string;
  /** `use_backend` lines without conditions, in order (the first one wins, as in HAProxy). */
  readonly useBackends: readonly string[];
  /** The stats page this section serves instead of proxying (`mode http` + `stats …`, no server, no backend). */
  readonly stats?: StatsPageConfig;
}

/** `stats …` lines of a section that only serves the stats page (HAProxy's `stats uri`). */
export interface StatsPageConfig {
  /** `stats uri <prefix>`. @defaultValue '/haproxy?stats' */
  readonly uri: string;
  /** `stats refresh <delay>`, in ms; undefined = no automatic refresh. */
  readonly refreshMs?: number;
  /** `stats auth <user>:<password>` lines; empty = no authentication. */
  readonly auth: readonly { readonly user: string; readonly password: string }[];
  /** `stats admin if TRUE` (needs `stats auth` in switchyard). */
  readonly admin: boolean;
  /** `stats hide-version`. */
  readonly hideVersion: boolean;
  /** `stats show-legends`. */
  readonly showLegends: boolean;
  /** The first `stats` line. */
  readonly source: SourceLocation;
}

/** Fields of a proxy that has servers (backend, listen). */
export interface BackendFields {
  readonly balance: BalanceAlgorithm;
  readonly hashType: HashType;
  /** `hash-balance-factor <f>`: bounded-load consistent hashing (0 or absent = off; else above 100). */
  readonly hashBalanceFactor?: number;
  /** `retries`: extra connection attempts after the first. @defaultValue 3 */
  readonly retries: number;
  /** `option redispatch [<interval>]`: undefined = off; -1 = on the last retry (bare option); P > 0 = every Pth retry. */
  readonly redispatch?: number;
  /** `option allbackups`. */
  readonly allBackups: boolean;
  /** `option log-health-checks`. */
  readonly logHealthChecks: boolean;
  readonly check: CheckKind;
  /**
   * `load-server-state-from-file`: where the servers' saved state (`show servers state`) is loaded from at
   * start-up: the global `server-state-file`, a file of the backend's own (`local`), or nowhere. @defaultValue 'none'
   */
  readonly loadServerState: 'none' | 'global' | 'local';
  /** `server-state-file-name <file>` for `local`; undefined = the backend's name (also `use-backend-name`). */
  readonly serverStateFileName?: string;
  readonly servers: readonly ServerConfig[];
  /**
   * `dispatch <addr>:<port>` without a `balance` line: every connection goes to that address (the servers, if
   * any, are still checked but get no traffic); a log line names no server (`<NOSRV>`). With `balance` it is
   * ignored, with HAProxy's warning.
   */
  readonly dispatch?: { readonly host: string; readonly port: number };
}

/** A `frontend` section. */
export interface FrontendConfig extends ProxyCommon, FrontendFields {
  readonly kind: 'frontend';
}

/** A `backend` section. */
export interface BackendConfig extends ProxyCommon, BackendFields {
  readonly kind: 'backend';
}

/** A `listen` section: a frontend and a backend of the same name. */
export interface ListenConfig extends ProxyCommon, FrontendFields, BackendFields {
  readonly kind: 'listen';
}

/** What a `default-server` line (or an inherited one) sets; only the keywords written. */
export type DefaultServerSettings = Partial<Omit<ServerConfig, 'name' | 'host' | 'port' | 'id' | 'source'>>;

/** A `defaults` section, resolved (including what it took `from` another one). */
export interface DefaultsConfig extends Omit<BackendFields, 'servers'> {
  /** '' for an unnamed section. */
  readonly name: string;
  readonly from?: string;
  readonly mode: 'tcp';
  readonly timeouts: ProxyTimeouts;
  readonly log: ProxyLog;
  readonly tcpLog: boolean;
  readonly logFormat?: string;
  readonly dontLogNull: boolean;
  readonly defaultServer: DefaultServerSettings;
  readonly source: SourceLocation;
}

/** A parsed configuration: every section, and the warnings (errors are thrown). */
export interface HaproxyConfig {
  readonly global: GlobalConfig;
  readonly defaults: readonly DefaultsConfig[];
  readonly frontends: readonly FrontendConfig[];
  readonly backends: readonly BackendConfig[];
  readonly listens: readonly ListenConfig[];
  /** Lint and compatibility warnings, in file order. */
  readonly warnings: readonly ConfigDiagnostic[];
}
