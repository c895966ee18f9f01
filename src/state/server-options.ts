import type { CheckStatus } from './check-result.js';

/** Administrative state, set by an operator: HAProxy's `set server … state`. */
export type AdminState = 'ready' | 'drain' | 'maint';

/**
 * Operational state, derived from health: HAProxy's `srv_op_state`.
 * `starting` is the slow-start ramp after a recovery; `stopping` is NOLB (no new connections).
 */
export type OperationalState = 'up' | 'down' | 'starting' | 'stopping';

/**
 * A hold another component puts on a server, apart from its admin state and its health: `out` takes it out of
 * the load balancing (an outlier ejection, a control plane's UNHEALTHY), `drain` lets it finish its connections
 * but gives it no new one (a control plane's DRAINING). Several holders may hold one server; the strongest counts.
 */
export type HoldKind = 'out' | 'drain';

/** Where a server with checks starts (HAProxy 3.1 `init-state`; 2.6 always behaves as `up`). */
export type InitState = 'up' | 'fully-up' | 'down' | 'fully-down';

/** The PROXY protocol header a proxy writes to a server before any client byte: v1 (text), v2 (binary), or none. */
export type SendProxy = 'v1' | 'v2' | false;

/** What a proxy does to a server's connections when it goes down (HAProxy `on-marked-down`). */
export type OnMarkedDown = 'none' | 'shutdown-sessions';

/** What a proxy does when an active server comes up (HAProxy `on-marked-up`). */
export type OnMarkedUp = 'none' | 'shutdown-backup-sessions';

/** The options a server is created with. Only `name`, `host` and `port` are required. */
export interface ServerOptions {
  /** Unique name within its pool (HAProxy's server name). */
  readonly name: string;
  /** Host name or IP address to connect to. */
  readonly host: string;
  /** TCP port, 1–65535. */
  readonly port: number;
  /**
   * Numeric id (HAProxy `id`): orders servers for the `first` strategy and seeds the consistent-hash ring.
   * @defaultValue the next free id in declaration order, starting at 1
   */
  readonly id?: number;
  /** Weight 0–256; 0 keeps the server up but never picked. @defaultValue 1 */
  readonly weight?: number;
  /** A backup server only takes traffic when no active server is usable. @defaultValue false */
  readonly backup?: boolean;
  /**
   * Priority tier, 0 the highest (Envoy's EDS `priority`): traffic spills from a tier to the next as the tier's
   * usable share drops (overprovisioning factor, see the pool's tier options). A pool whose servers all have
   * priority 0 balances exactly as HAProxy does; `backup` servers form a last tier of their own and take
   * `priority` 0 only. An integer 0–1000. @defaultValue 0
   */
  readonly priority?: number;
  /** Most concurrent connections, 0 = unlimited (HAProxy `maxconn`). @defaultValue 0 */
  readonly maxconn?: number;
  /** Most connections waiting in this server's own queue, 0 = unlimited (HAProxy `maxqueue`). @defaultValue 0 */
  readonly maxqueue?: number;
  /** Start in maintenance (HAProxy `disabled`). @defaultValue false */
  readonly disabled?: boolean;
  /** Whether the server is health-checked (HAProxy `check`). Without checks it is always up. @defaultValue false */
  readonly check?: boolean;
  /**
   * The server has an agent (HAProxy `agent-check`): a program on it that reports its state, weight and limits, read
   * by an `AgentChecker` and applied with `pool.reportAgent()`. While the agent says `down` the server is down and
   * shows `DOWN (agent)`. @defaultValue false
   */
  readonly agent?: boolean;
  /** Consecutive passed checks that bring a down server up. @defaultValue 2 */
  readonly rise?: number;
  /** Consecutive failed checks that take an up server down. @defaultValue 3 */
  readonly fall?: number;
  /**
   * Initial health of a checked server. `up` is HAProxy 2.6's behaviour (`UP 1/fall`: one failed first check
   * marks it down). @defaultValue 'up'
   */
  readonly initState?: InitState;
  /** Slow-start ramp after a recovery, in ms (HAProxy `slowstart`, kept in whole seconds rounded up). @defaultValue 0 */
  readonly slowstartMs?: number;
  /**
   * Labels of the server, for the program and for what reads them (an xDS locality, a zone, a role): string keys
   * and string values, kept as given. @defaultValue {}
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * PROXY protocol header a `TcpProxy` sends this server (HAProxy's per-server `send-proxy`, `send-proxy-v2`):
   * `'v1'`, `'v2'`, or `false` for none. Unset, the proxy's own `sendProxy` option applies: a server's setting
   * wins over the proxy's. @defaultValue undefined (the proxy's `sendProxy`)
   */
  readonly sendProxy?: SendProxy;
  /**
   * `'shutdown-sessions'`: when this server goes down (health or maintenance), proxies cut its connections
   * (HAProxy's per-server `on-marked-down`; `'none'` turns off a proxy-wide setting for this server).
   * @defaultValue undefined (the proxy's `onMarkedDown`)
   */
  readonly onMarkedDown?: OnMarkedDown;
  /**
   * `'shutdown-backup-sessions'`: when this active server comes up with a weight, proxies cut every connection
   * on a backup server (HAProxy's per-server `on-marked-up`). @defaultValue undefined (the proxy's `onMarkedUp`)
   */
  readonly onMarkedUp?: OnMarkedUp;
}

/** Default values of {@link ServerOptions}. */
export const SERVER_DEFAULTS = Object.freeze({
  weight: 1,
  backup: false,
  priority: 0,
  maxconn: 0,
  maxqueue: 0,
  disabled: false,
  check: false,
  agent: false,
  rise: 2,
  fall: 3,
  initState: 'up' as InitState,
  slowstartMs: 0,
});

/** @internal The keys `ServerOptions` may have. */
export const SERVER_KEYS = [
  'name', 'host', 'port', 'id', 'weight', 'backup', 'priority', 'maxconn', 'maxqueue', 'disabled',
  'check', 'agent', 'rise', 'fall', 'initState', 'slowstartMs', 'tags', 'sendProxy', 'onMarkedDown', 'onMarkedUp',
] as const;

/** HAProxy's effective-weight scale: a user weight of 1 is 16 effective units. */
export const WEIGHT_SCALE = 16;

/** Plain-JSON view of a server, for logs, metrics and the runtime API. */
export interface ServerSnapshot {
  readonly name: string;
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly backup: boolean;
  /** The priority tier, when above 0. */
  readonly priority?: number;
  /** The server's labels, when it has any. */
  readonly tags?: Readonly<Record<string, string>>;
  /** The server's own `sendProxy`, when it has one. */
  readonly sendProxy?: SendProxy;
  /** The server's own `onMarkedDown`, when it has one. */
  readonly onMarkedDown?: OnMarkedDown;
  /** The server's own `onMarkedUp`, when it has one. */
  readonly onMarkedUp?: OnMarkedUp;
  readonly weight: number;
  readonly initialWeight: number;
  readonly effectiveWeight: number;
  readonly maxconn: number;
  readonly maxqueue: number;
  readonly adminState: AdminState;
  readonly operationalState: OperationalState;
  readonly status: string;
  readonly usable: boolean;
  readonly check: boolean;
  /** `check` and not disabled at runtime (`pool.setChecksEnabled()`). */
  readonly checksEnabled: boolean;
  readonly health: number;
  readonly rise: number;
  readonly fall: number;
  readonly currentConnections: number;
  readonly maxConnections: number;
  /** Leases granted. */
  readonly totalConnections: number;
  /** Connection attempts (leases plus retries on the same lease): HAProxy `stot`. */
  readonly connectAttempts: number;
  readonly lbSelections: number;
  readonly queued: number;
  readonly maxQueued: number;
  readonly lastChangeMs: number;
  /** HAProxy `check_status`: `INI` before the first check; absent without checks. */
  readonly checkStatus?: CheckStatus;
  /** HAProxy `check_code` (L5–L7 statuses only). */
  readonly checkCode?: number;
  /** HAProxy `check_desc` / `last_chk` text. */
  readonly checkInfo?: string;
  /** HAProxy `check_duration`, ms. */
  readonly checkDurationMs?: number;
  /** The agent check (`agent` servers only): HAProxy `agent_status`, `agent_code`, `last_agt`, `agent_duration`, `agent_health`. */
  readonly agentStatus?: CheckStatus;
  readonly agentCode?: number;
  readonly agentInfo?: string;
  readonly agentDurationMs?: number;
  readonly agentHealth?: number;
  /** `false` while the agent is disabled (`pool.setAgentEnabled()`); absent without an agent. */
  readonly agentEnabled?: boolean;
  /** HAProxy `chkfail`. */
  readonly checkFailures: number;
  /** HAProxy `chkdown`. */
  readonly downTransitions: number;
  /** HAProxy `hanafail`. */
  readonly observeFailures: number;
  /** HAProxy `downtime`, in ms. */
  readonly downtimeMs: number;
  /** The holds on the server by holder (`{ outlier: 'out' }`); absent when there is none. */
  readonly holds?: Readonly<Record<string, HoldKind>>;
}
