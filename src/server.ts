import type { Clock } from './clock.js';
import { invalidArg } from './errors.js';
import type { CheckResult, CheckStatus } from './state/check-result.js';
import * as v from './internal/validate.js';
import {
  type AdminState, type HoldKind, type OnMarkedDown, type OnMarkedUp, type OperationalState, type SendProxy,
  type ServerOptions, type ServerSnapshot, resolveServerOptions,
} from './state/server-options.js';
import { ServerState } from './state/server-state.js';
import { INITIAL_CHECK, agentFields, checkFields, statusText } from './state/server-fields.js';

export { SERVER_DEFAULTS, WEIGHT_SCALE } from './state/server-options.js';
export { resolveWeight } from './state/server-fields.js';
export type {
  AdminState, HoldKind, InitState, OnMarkedDown, OnMarkedUp, OperationalState, SendProxy, ServerOptions, ServerSnapshot,
} from './state/server-options.js';

/**
 * One backend server: identity, configuration, state and live counters.
 *
 * Servers are created and changed through their {@link Pool}, the single writer of server state;
 * everything here is read-only to users.
 *
 * @example
 * ```ts
 * const pool = new Pool('db', { servers: [{ name: 'db1', host: '10.0.0.1', port: 5432, weight: 2 }] })
 * const db1 = pool.get('db1')
 * console.log(db1.status, db1.currentConnections)
 * ```
 */
/**
 * @internal The state a server reads, for its pool: `undefined` for anything that is not a Server. The pool checks
 * the state's `owner` is itself (a lookup by the server, without a WeakMap: a pool of 100 000 servers spent a third
 * of its construction time in one).
 */
export let stateOf: (server: object) => ServerState | undefined;

export class Server {
  /** Unique name within the pool. */
  readonly name: string;
  /** Numeric id (HAProxy `id`). */
  readonly id: number;
  /** True for a backup server. */
  readonly backup: boolean;
  /** Priority tier, 0 the highest (`priority` option). */
  readonly priority: number;
  /** The weight the server was created with (HAProxy `iweight`), the base of percentage weights. */
  readonly initialWeight: number;
  /** Whether health checks apply to this server. */
  readonly check: boolean;
  /** Whether the server has an agent check (`agent` option, HAProxy `agent-check`). */
  readonly agent: boolean;
  /** Consecutive passed checks to go up. */
  readonly rise: number;
  /** Consecutive failed checks to go down. */
  readonly fall: number;
  /** Slow-start duration in ms (whole seconds, rounded up). */
  readonly slowstartMs: number;
  /** The server's own PROXY header setting; `undefined` leaves it to the proxy's `sendProxy`. */
  readonly sendProxy: SendProxy | undefined;
  /** The server's own `on-marked-down` action; `undefined` leaves it to the proxy's `onMarkedDown`. */
  readonly onMarkedDown: OnMarkedDown | undefined;
  /** The server's own `on-marked-up` action; `undefined` leaves it to the proxy's `onMarkedUp`. */
  readonly onMarkedUp: OnMarkedUp | undefined;

  readonly #s: ServerState;
  readonly #clock: Clock | undefined;

  static {
    stateOf = (server) => (#s in server ? server.#s : undefined);
  }

  /**
   * @internal Servers are created by {@link Pool.add}; `id` is assigned there, `clock` is the pool's, and the
   * pool keeps `state`, which only it writes after this constructor has set the initial values.
   */
  constructor(options: ServerOptions, id: number, clock?: Clock, state: ServerState = new ServerState()) {
    const o = resolveServerOptions(options);
    this.name = o.name;
    const st = (this.#s = state);
    st.host = o.host;
    st.port = o.port;
    this.id = v.positiveInteger(`server ${JSON.stringify(this.name)}: id`, id);
    st.weight = o.weight;
    this.initialWeight = st.weight;
    this.backup = o.backup;
    this.priority = o.priority;
    st.maxconn = o.maxconn;
    st.maxqueue = o.maxqueue;
    const disabled = o.disabled;
    this.check = o.check;
    this.agent = o.agent;
    if (this.agent) st.agent = { enabled: true, health: 1, last: INITIAL_CHECK };
    this.rise = o.rise;
    this.fall = o.fall;
    const init = o.initState;
    this.slowstartMs = o.slowstartMs;
    st.tags = o.tags;
    this.sendProxy = o.sendProxy;
    this.onMarkedDown = o.onMarkedDown;
    this.onMarkedUp = o.onMarkedUp;
    st.admin = disabled ? 'maint' : 'ready';
    st.maintFromConfig = disabled;
    const full = this.rise + this.fall - 1;
    if (!this.check) {
      st.health = full;
      st.op = 'up';
    } else {
      st.health = { up: this.rise, 'fully-up': full, down: this.rise - 1, 'fully-down': 0 }[init];
      st.op = init === 'up' || init === 'fully-up' ? 'up' : 'down';
    }
    if (disabled && this.check) {
      st.health = 0;
      st.op = 'down';
    }
    this.#clock = clock;
    if (this.check) st.lastCheck = INITIAL_CHECK;
    if (st.admin === 'maint' || st.op === 'down') st.downSinceMs = clock?.now() ?? 0;
  }

  /** Host new connections go to (changed by `pool.setAddress()`, HAProxy's `set server … addr`). */
  get host(): string {
    return this.#s.host;
  }

  /** Port new connections go to. */
  get port(): number {
    return this.#s.port;
  }

  /**
   * The server's labels (`tags` option), frozen; `{}` when it has none. Labels say nothing about how to reach or
   * balance the server, so they change in place (`pool.update(name, { tags })`, event `server:tags`).
   */
  get tags(): Readonly<Record<string, string>> {
    return this.#s.tags;
  }

  /** Current user weight, 0–256 (HAProxy `uweight`). */
  get weight(): number {
    return this.#s.weight;
  }

  /**
   * Weight the dynamic strategies use, in HAProxy's 1/16 units (`eweight`): `weight × 16`, scaled down
   * during slow start. 0 means the server is never picked.
   */
  get effectiveWeight(): number {
    return this.#s.weight * this.#s.slowstartFactor;
  }

  /** Most concurrent connections, 0 = unlimited. */
  get maxconn(): number {
    return this.#s.maxconn;
  }

  /** Most connections in this server's own queue, 0 = unlimited. */
  get maxqueue(): number {
    return this.#s.maxqueue;
  }

  /** Administrative state. */
  get adminState(): AdminState {
    return this.#s.admin;
  }

  /** Operational state derived from health. */
  get operationalState(): OperationalState {
    return this.#s.op;
  }

  /** HAProxy's health counter, in `[0, rise + fall − 1]`. */
  get health(): number {
    return this.#s.health;
  }

  /**
   * True when the strategies may pick this server: effective weight above 0, admin state `ready`,
   * operational state `up` or `starting` (HAProxy `srv_willbe_usable()`), and no hold on it.
   */
  get usable(): boolean {
    const s = this.#s;
    return (
      s.weight > 0 && s.slowstartFactor > 0 && s.admin === 'ready' && (s.op === 'up' || s.op === 'starting') &&
      (s.holds === undefined || s.holds.size === 0)
    );
  }

  /** The holds other components put on the server, by holder (`outlier`, `xds`…): see `pool.setHold()`. */
  get holds(): ReadonlyMap<string, HoldKind> {
    return this.#s.holds ?? NO_HOLDS;
  }

  /** The strongest hold on the server: `out`, `drain`, or `undefined` when it has none. */
  get hold(): HoldKind | undefined {
    const holds = this.#s.holds;
    if (holds === undefined || holds.size === 0) return undefined;
    for (const kind of holds.values()) if (kind === 'out') return 'out';
    return 'drain';
  }

  /** Connections currently held (leases not yet released): HAProxy `scur`. */
  get currentConnections(): number {
    return this.#s.current;
  }

  /**
   * Connections being made or established to this server by the dialers (`balancer.connect()`, the proxy, the
   * adapters): HAProxy's `cur_sess`, which its `scur`, `%sc` and "sessions active" show. A lease counts from its
   * first connection attempt to its release, except while it waits between two attempts (the turn-around) —
   * where {@link Server.currentConnections} (HAProxy's `served`: the `maxconn` slots, leastconn's load) still
   * counts it, as it does a lease just handed to a queued caller. Leases used without a dialer
   * (`balancer.acquire()`) count only in `currentConnections`.
   */
  get openConnections(): number {
    return this.#s.open;
  }

  /** Highest `currentConnections` seen: HAProxy `smax`. */
  get maxConnections(): number {
    return this.#s.max;
  }

  /** Connections handed out (leases granted) since creation. */
  get totalConnections(): number {
    return this.#s.total;
  }

  /**
   * Connection attempts on this server since creation: one per lease, plus every retry the dialers
   * (`balancer.connect()`, the proxy) made on the same lease after a failed attempt — HAProxy's `stot`, which
   * counts each `connect()` to the server. Equals {@link Server.totalConnections} when no attempt was retried.
   */
  get connectAttempts(): number {
    return this.#s.total + this.#s.repeatedAttempts;
  }

  /** Times the strategy picked this server: HAProxy `lbtot`. */
  get lbSelections(): number {
    return this.#s.lbSelections;
  }

  /** Connections waiting in this server's own queue: HAProxy `qcur`. */
  get queued(): number {
    return this.#s.queued;
  }

  /** Highest `queued` seen: HAProxy `qmax`. */
  get maxQueued(): number {
    return this.#s.maxQueued;
  }

  /** Clock time (ms) of the last operational or administrative change. */
  get lastChangeMs(): number {
    return this.#s.lastChangeMs;
  }

  /** HAProxy's `check_status` of the last check: `INI` before the first one; `undefined` without checks. */
  get checkStatus(): CheckStatus | undefined {
    return this.#s.lastCheck?.status;
  }

  /**
   * The last check result (status, code, info, duration), or passive observation's verdict when that was
   * the last word; `{ status: 'INI' }` before the first check; `undefined` without checks.
   */
  get lastCheck(): CheckResult | undefined {
    return this.#s.lastCheck;
  }

  /** Failed checks that lowered the health counter, passive ones included: HAProxy `chkfail`. */
  get checkFailures(): number {
    return this.#s.checkFailures;
  }

  /** Transitions from up to down, for any reason: HAProxy `chkdown`. */
  get downTransitions(): number {
    return this.#s.downTransitions;
  }

  /** Times passive observation reached its error limit: HAProxy `hanafail`. */
  get observeFailures(): number {
    return this.#s.observeFailures;
  }

  /** Total time spent down or in maintenance, the current spell included, in ms: HAProxy `downtime`. */
  get downtimeMs(): number {
    const s = this.#s;
    const current = s.downSinceMs === undefined || this.#clock === undefined ? 0 : this.#clock.now() - s.downSinceMs;
    return s.downtimeMs + current;
  }

  /**
   * True when a new connection must not be given to this server now: `maxconn` reached or
   * connections already waiting in its queue (HAProxy's saturation test).
   */
  get full(): boolean {
    const s = this.#s;
    return s.maxconn > 0 && (s.queued > 0 || s.current >= s.maxconn);
  }

  /** The status as HAProxy's `show stat` prints it: `UP`, `UP 2/3`, `DOWN 1/2`, `NOLB`, `DRAIN`, `MAINT`, `no check`. */
  get status(): string {
    return statusText(this.#s, this.check, this.rise, this.fall);
  }

  /**
   * Whether checks run and apply to this server: `check` is set and they were not disabled at runtime
   * (HAProxy `disable health`, {@link Pool.setChecksEnabled}).
   */
  get checksEnabled(): boolean {
    return this.check && this.#s.checksEnabled;
  }

  /** Whether the agent check runs and applies (`agent` and not disabled at runtime). */
  get agentEnabled(): boolean {
    return this.#s.agent?.enabled === true;
  }

  /** The agent's health: 1 up, 0 down (HAProxy's agent rise and fall are 1); `undefined` without an agent. */
  get agentHealth(): number | undefined {
    return this.#s.agent?.health;
  }

  /** The agent check's last result (`INI` before the first); `undefined` without an agent. */
  get agentCheck(): CheckResult | undefined {
    return this.#s.agent?.last;
  }

  /** True while the server is in maintenance because it was created `disabled` (HAProxy's `CMAINT` flag). */
  get maintFromConfig(): boolean {
    return this.#s.maintFromConfig;
  }

  /** A plain-JSON copy of the server's state and counters. */
  snapshot(): ServerSnapshot {
    const s = this.#s;
    return {
      name: this.name,
      id: this.id,
      host: this.host,
      port: this.port,
      backup: this.backup,
      ...(this.priority === 0 ? {} : { priority: this.priority }),
      ...(Object.keys(s.tags).length === 0 ? {} : { tags: s.tags }),
      ...(this.sendProxy === undefined ? {} : { sendProxy: this.sendProxy }),
      ...(this.onMarkedDown === undefined ? {} : { onMarkedDown: this.onMarkedDown }),
      ...(this.onMarkedUp === undefined ? {} : { onMarkedUp: this.onMarkedUp }),
      weight: s.weight,
      initialWeight: this.initialWeight,
      effectiveWeight: this.effectiveWeight,
      maxconn: s.maxconn,
      maxqueue: s.maxqueue,
      adminState: s.admin,
      operationalState: s.op,
      status: this.status,
      usable: this.usable,
      check: this.check,
      checksEnabled: this.checksEnabled,
      health: s.health,
      rise: this.rise,
      fall: this.fall,
      currentConnections: s.current,
      maxConnections: s.max,
      totalConnections: s.total,
      connectAttempts: s.total + s.repeatedAttempts,
      lbSelections: s.lbSelections,
      queued: s.queued,
      maxQueued: s.maxQueued,
      lastChangeMs: s.lastChangeMs,
      ...(s.lastCheck === undefined ? {} : checkFields(s.lastCheck)),
      ...(s.agent === undefined ? {} : agentFields(s.agent)),
      checkFailures: s.checkFailures,
      downTransitions: s.downTransitions,
      observeFailures: s.observeFailures,
      downtimeMs: this.downtimeMs,
      ...(s.holds === undefined || s.holds.size === 0 ? {} : { holds: Object.fromEntries(s.holds) }),
    };
  }

  /** `name@host:port`, for messages. */
  toString(): string {
    return `${this.name}@${this.host}:${this.port}`;
  }

  /** @internal Used by JSON.stringify. */
  toJSON(): ServerSnapshot {
    return this.snapshot();
  }
}

const NO_HOLDS: ReadonlyMap<string, HoldKind> = new Map();
