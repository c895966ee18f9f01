import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
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

/**
 * @internal {@link ServerOptions} checked and completed with their defaults (and `fallback`'s values): what a
 * `Server` is built from, and what discovery checks a whole list with before any of it reaches a pool.
 */
export interface ResolvedServerOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly backup: boolean;
  readonly priority: number;
  readonly maxconn: number;
  readonly maxqueue: number;
  readonly disabled: boolean;
  readonly check: boolean;
  readonly rise: number;
  readonly fall: number;
  readonly initState: InitState;
  /** In whole seconds, rounded up (as HAProxy keeps it). */
  readonly slowstartMs: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly agent: boolean;
  readonly sendProxy?: SendProxy;
  readonly onMarkedDown?: OnMarkedDown;
  readonly onMarkedUp?: OnMarkedUp;
}

/**
 * @internal Validates server options (all but `id`) without building a server: unknown keys, every field's type
 * and range; each message names the server and the field and shows the value received. A field that is
 * `undefined` takes `fallback`'s value, then {@link SERVER_DEFAULTS}'.
 */
export function resolveServerOptions(options: unknown, fallback: Partial<ServerOptions> = NO_FALLBACK): ResolvedServerOptions {
  if (alreadyResolved !== undefined && options === alreadyResolved && fallback === NO_FALLBACK) return alreadyResolved;
  const o = v.plainObject('server', options);
  v.knownKeys('server', o, SERVER_KEYS);
  return resolveServerFields(o, v.nonEmptyString('server.name', o['name']), fallback);
}

/** The options {@link addResolved} is adding: {@link resolveServerOptions} returns them as they are. */
let alreadyResolved: ResolvedServerOptions | undefined;

/**
 * @internal Runs `add(o)` (a pool's `add`) with `o` taken as resolved: options a discovery list produced with
 * {@link resolveServerFields} when it was checked as a whole are not checked a second time by the new Server.
 */
export function addResolved<T>(o: ResolvedServerOptions, add: (o: ResolvedServerOptions) => T): T {
  alreadyResolved = o;
  try {
    return add(o);
  } finally {
    alreadyResolved = undefined;
  }
}

/**
 * @internal The field checks of {@link resolveServerOptions} for an object whose keys the caller has checked
 * (discovery's entries carry keys of their own) and whose name it has settled.
 */
export function resolveServerFields(o: Readonly<Record<string, unknown>>, name: string, fallback: Partial<ServerOptions> = NO_FALLBACK): ResolvedServerOptions {
  const f = fallback;
  // Field names are prefixed with the server only when one is wrong: a list of 10 000 servers is checked without
  // building a dozen message strings per server.
  try {
    const backup = v.boolean('backup', o['backup'] ?? f.backup ?? SERVER_DEFAULTS.backup);
    const priority = v.integerInRange('priority', o['priority'] ?? f.priority ?? SERVER_DEFAULTS.priority, 0, 1000);
    if (backup && priority !== 0) throw invalidArg('priority', 'must be 0 for a backup server (backups are a tier of their own)', priority);
    const resolved: ResolvedServerOptions = {
      name,
      host: v.nonEmptyString('host', o['host']),
      port: v.integerInRange('port', o['port'], 1, 65535),
      weight: v.integerInRange('weight', o['weight'] ?? f.weight ?? SERVER_DEFAULTS.weight, 0, 256),
      backup,
      priority,
      maxconn: v.nonNegativeInteger('maxconn', o['maxconn'] ?? f.maxconn ?? SERVER_DEFAULTS.maxconn),
      maxqueue: v.nonNegativeInteger('maxqueue', o['maxqueue'] ?? f.maxqueue ?? SERVER_DEFAULTS.maxqueue),
      disabled: v.boolean('disabled', o['disabled'] ?? f.disabled ?? SERVER_DEFAULTS.disabled),
      check: v.boolean('check', o['check'] ?? f.check ?? SERVER_DEFAULTS.check),
      rise: v.integerInRange('rise', o['rise'] ?? f.rise ?? SERVER_DEFAULTS.rise, 1, 1_000_000),
      fall: v.integerInRange('fall', o['fall'] ?? f.fall ?? SERVER_DEFAULTS.fall, 1, 1_000_000),
      initState: v.oneOf<InitState>('initState', o['initState'] ?? f.initState ?? SERVER_DEFAULTS.initState, ['up', 'fully-up', 'down', 'fully-down']),
      slowstartMs: Math.ceil(v.durationMs('slowstartMs', o['slowstartMs'] ?? f.slowstartMs ?? SERVER_DEFAULTS.slowstartMs) / 1000) * 1000,
      tags: resolveTags('tags', o['tags'] ?? f.tags),
      agent: v.boolean('agent', o['agent'] ?? f.agent ?? SERVER_DEFAULTS.agent),
    };
    perServerActions(o, f, resolved);
    return resolved;
  } catch (err) {
    throw ofServer(name, err);
  }
}

/** An `ERR_LB_INVALID_ARG` about one field, reworded to name the server: `server "db1": port must be …`. */
function ofServer(name: string, err: unknown): unknown {
  if (!LbError.is(err) || err.code !== 'ERR_LB_INVALID_ARG') return err;
  const at = `server ${JSON.stringify(name)}`;
  const d = err.details as { readonly field: string; readonly received: unknown };
  return new LbError('ERR_LB_INVALID_ARG', `${at}: ${err.message}`, { details: { field: `${at}: ${d.field}`, received: d.received } });
}

const NO_FALLBACK: Partial<ServerOptions> = Object.freeze({});

/**
 * A server's own `sendProxy`, `onMarkedDown`, `onMarkedUp`, set on `into` when given (absent: the proxy's
 * settings apply, and the keys stay absent).
 */
function perServerActions(
  o: Readonly<Record<string, unknown>>,
  f: Partial<ServerOptions>,
  into: { -readonly [K in 'sendProxy' | 'onMarkedDown' | 'onMarkedUp']?: ServerOptions[K] },
): void {
  const sendProxy = o['sendProxy'] ?? f.sendProxy;
  if (sendProxy !== undefined && sendProxy !== false && sendProxy !== 'v1' && sendProxy !== 'v2') {
    throw invalidArg('sendProxy', "must be 'v1', 'v2' or false", sendProxy);
  }
  const down = o['onMarkedDown'] ?? f.onMarkedDown;
  const up = o['onMarkedUp'] ?? f.onMarkedUp;
  if (sendProxy !== undefined) into.sendProxy = sendProxy;
  if (down !== undefined) into.onMarkedDown = v.oneOf<OnMarkedDown>('onMarkedDown', down, ['none', 'shutdown-sessions']);
  if (up !== undefined) into.onMarkedUp = v.oneOf<OnMarkedUp>('onMarkedUp', up, ['none', 'shutdown-backup-sessions']);
}
const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * @internal Server tags checked (string keys, string values) and frozen. A frozen plain object is kept as it is, so
 * that servers given one shared tag object (an xDS locality's) share it.
 */
export function resolveTags(field: string, value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return NO_TAGS;
  if (CHECKED_TAGS.has(value as object)) return value as Readonly<Record<string, string>>;
  const o = v.plainObject(field, value);
  const keys = Object.keys(o);
  for (const key of keys) if (typeof o[key] !== 'string') throw invalidArg(`${field}.${key}`, 'must be a string', o[key]);
  if (Object.isFrozen(o) && Object.getPrototypeOf(o) === Object.prototype) {
    CHECKED_TAGS.add(o);
    return o as Readonly<Record<string, string>>;
  }
  const tags: Record<string, string> = {};
  for (const key of keys) tags[key] = o[key] as string;
  return Object.freeze(tags);
}

/**
 * Frozen plain tag objects already found valid: they cannot change, and a discovery source shares one among many
 * servers (xDS: one per locality), so a 10 000-server list checks each once.
 */
const CHECKED_TAGS = new WeakSet<object>();

/** @internal True when two tag objects hold the same keys with the same values. */
export function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  // No key arrays: discovery compares the tags of every server of every list.
  let keys = 0;
  for (const key in a) {
    if (!Object.hasOwn(a, key)) continue;
    if (a[key] !== b[key] || !Object.hasOwn(b, key)) return false;
    keys++;
  }
  for (const key in b) if (Object.hasOwn(b, key)) keys--;
  return keys === 0;
}

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
