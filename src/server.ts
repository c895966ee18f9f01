import type { Clock } from './clock.js';
import { invalidArg } from './errors.js';
import type { CheckResult, CheckStatus } from './state/check-result.js';
import * as v from './internal/validate.js';
import {
  type AdminState, type OperationalState, SERVER_DEFAULTS, SERVER_KEYS, type ServerOptions, type ServerSnapshot, WEIGHT_SCALE,
} from './state/server-options.js';

export { SERVER_DEFAULTS, WEIGHT_SCALE } from './state/server-options.js';
export type { AdminState, InitState, OperationalState, ServerOptions, ServerSnapshot } from './state/server-options.js';

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
export class Server {
  /** Unique name within the pool. */
  readonly name: string;
  /** Host to connect to. */
  readonly host: string;
  /** Port to connect to. */
  readonly port: number;
  /** Numeric id (HAProxy `id`). */
  readonly id: number;
  /** True for a backup server. */
  readonly backup: boolean;
  /** The weight the server was created with (HAProxy `iweight`), the base of percentage weights. */
  readonly initialWeight: number;
  /** Whether health checks apply to this server. */
  readonly check: boolean;
  /** Consecutive passed checks to go up. */
  readonly rise: number;
  /** Consecutive failed checks to go down. */
  readonly fall: number;
  /** Slow-start duration in ms (whole seconds, rounded up). */
  readonly slowstartMs: number;

  #weight: number;
  #maxconn: number;
  #maxqueue: number;
  #admin: AdminState;
  #op: OperationalState;
  #health: number;
  #slowstartFactor = WEIGHT_SCALE;
  #current = 0;
  #max = 0;
  #total = 0;
  #lbSelections = 0;
  #queued = 0;
  #maxQueued = 0;
  #lastChangeMs = 0;
  readonly #clock: Clock | undefined;
  #lastCheck: CheckResult | undefined;
  #checkFailures = 0;
  #downTransitions = 0;
  #observeFailures = 0;
  #downtimeMs = 0;
  #downSinceMs: number | undefined;

  /** @internal Servers are created by {@link Pool.add}; `id` is assigned there, `clock` is the pool's. */
  constructor(options: ServerOptions, id: number, clock?: Clock) {
    const o = v.plainObject('server', options);
    v.knownKeys('server', o, SERVER_KEYS);
    this.name = v.nonEmptyString('server.name', o['name']);
    const at = `server ${JSON.stringify(this.name)}`;
    this.host = v.nonEmptyString(`${at}: host`, o['host']);
    this.port = v.integerInRange(`${at}: port`, o['port'], 1, 65535);
    this.id = v.positiveInteger(`${at}: id`, id);
    this.#weight = v.integerInRange(`${at}: weight`, o['weight'] ?? SERVER_DEFAULTS.weight, 0, 256);
    this.initialWeight = this.#weight;
    this.backup = v.boolean(`${at}: backup`, o['backup'] ?? SERVER_DEFAULTS.backup);
    this.#maxconn = v.nonNegativeInteger(`${at}: maxconn`, o['maxconn'] ?? SERVER_DEFAULTS.maxconn);
    this.#maxqueue = v.nonNegativeInteger(`${at}: maxqueue`, o['maxqueue'] ?? SERVER_DEFAULTS.maxqueue);
    const disabled = v.boolean(`${at}: disabled`, o['disabled'] ?? SERVER_DEFAULTS.disabled);
    this.check = v.boolean(`${at}: check`, o['check'] ?? SERVER_DEFAULTS.check);
    this.rise = v.integerInRange(`${at}: rise`, o['rise'] ?? SERVER_DEFAULTS.rise, 1, 1_000_000);
    this.fall = v.integerInRange(`${at}: fall`, o['fall'] ?? SERVER_DEFAULTS.fall, 1, 1_000_000);
    const init = v.oneOf(`${at}: initState`, o['initState'] ?? SERVER_DEFAULTS.initState, ['up', 'fully-up', 'down', 'fully-down']);
    const ss = v.durationMs(`${at}: slowstartMs`, o['slowstartMs'] ?? SERVER_DEFAULTS.slowstartMs);
    this.slowstartMs = Math.ceil(ss / 1000) * 1000;
    this.#admin = disabled ? 'maint' : 'ready';
    const full = this.rise + this.fall - 1;
    if (!this.check) {
      this.#health = full;
      this.#op = 'up';
    } else {
      this.#health = { up: this.rise, 'fully-up': full, down: this.rise - 1, 'fully-down': 0 }[init];
      this.#op = init === 'up' || init === 'fully-up' ? 'up' : 'down';
    }
    if (this.#admin === 'maint' && this.check) this.#health = 0;
    if (this.#admin === 'maint' && this.check) this.#op = 'down';
    this.#clock = clock;
    if (this.check) this.#lastCheck = INITIAL_CHECK;
    if (this.#admin === 'maint' || this.#op === 'down') this.#downSinceMs = clock?.now() ?? 0;
  }

  /** Current user weight, 0–256 (HAProxy `uweight`). */
  get weight(): number {
    return this.#weight;
  }

  /**
   * Weight the dynamic strategies use, in HAProxy's 1/16 units (`eweight`): `weight × 16`, scaled down
   * during slow start. 0 means the server is never picked.
   */
  get effectiveWeight(): number {
    return this.#weight * this.#slowstartFactor;
  }

  /** Most concurrent connections, 0 = unlimited. */
  get maxconn(): number {
    return this.#maxconn;
  }

  /** Most connections in this server's own queue, 0 = unlimited. */
  get maxqueue(): number {
    return this.#maxqueue;
  }

  /** Administrative state. */
  get adminState(): AdminState {
    return this.#admin;
  }

  /** Operational state derived from health. */
  get operationalState(): OperationalState {
    return this.#op;
  }

  /** HAProxy's health counter, in `[0, rise + fall − 1]`. */
  get health(): number {
    return this.#health;
  }

  /**
   * True when the strategies may pick this server: effective weight above 0, admin state `ready`,
   * operational state `up` or `starting` (HAProxy `srv_willbe_usable()`).
   */
  get usable(): boolean {
    return this.effectiveWeight > 0 && this.#admin === 'ready' && (this.#op === 'up' || this.#op === 'starting');
  }

  /** Connections currently held (leases not yet released): HAProxy `scur`. */
  get currentConnections(): number {
    return this.#current;
  }

  /** Highest `currentConnections` seen: HAProxy `smax`. */
  get maxConnections(): number {
    return this.#max;
  }

  /** Connections handed out since creation: HAProxy `stot`. */
  get totalConnections(): number {
    return this.#total;
  }

  /** Times the strategy picked this server: HAProxy `lbtot`. */
  get lbSelections(): number {
    return this.#lbSelections;
  }

  /** Connections waiting in this server's own queue: HAProxy `qcur`. */
  get queued(): number {
    return this.#queued;
  }

  /** Highest `queued` seen: HAProxy `qmax`. */
  get maxQueued(): number {
    return this.#maxQueued;
  }

  /** Clock time (ms) of the last operational or administrative change. */
  get lastChangeMs(): number {
    return this.#lastChangeMs;
  }

  /** HAProxy's `check_status` of the last check: `INI` before the first one; `undefined` without checks. */
  get checkStatus(): CheckStatus | undefined {
    return this.#lastCheck?.status;
  }

  /**
   * The last check result (status, code, info, duration), or passive observation's verdict when that was
   * the last word; `{ status: 'INI' }` before the first check; `undefined` without checks.
   */
  get lastCheck(): CheckResult | undefined {
    return this.#lastCheck;
  }

  /** Failed checks that lowered the health counter, passive ones included: HAProxy `chkfail`. */
  get checkFailures(): number {
    return this.#checkFailures;
  }

  /** Transitions from up to down, for any reason: HAProxy `chkdown`. */
  get downTransitions(): number {
    return this.#downTransitions;
  }

  /** Times passive observation reached its error limit: HAProxy `hanafail`. */
  get observeFailures(): number {
    return this.#observeFailures;
  }

  /** Total time spent down or in maintenance, the current spell included, in ms: HAProxy `downtime`. */
  get downtimeMs(): number {
    const current = this.#downSinceMs === undefined || this.#clock === undefined ? 0 : this.#clock.now() - this.#downSinceMs;
    return this.#downtimeMs + current;
  }

  /**
   * True when a new connection must not be given to this server now: `maxconn` reached or
   * connections already waiting in its queue (HAProxy's saturation test).
   */
  get full(): boolean {
    return this.#maxconn > 0 && (this.#queued > 0 || this.#current >= this.#maxconn);
  }

  /** The status as HAProxy's `show stat` prints it: `UP`, `UP 2/3`, `DOWN 1/2`, `NOLB`, `DRAIN`, `MAINT`, `no check`. */
  get status(): string {
    if (this.#admin === 'maint') return 'MAINT';
    const full = this.rise + this.fall - 1;
    if (this.#op === 'up' || this.#op === 'starting') {
      const goingDown = this.check && this.#health < full;
      if (this.#admin === 'drain') return goingDown ? `DRAIN ${this.#health - this.rise + 1}/${this.fall}` : 'DRAIN';
      if (goingDown) return `UP ${this.#health - this.rise + 1}/${this.fall}`;
      return this.check ? 'UP' : 'no check';
    }
    if (this.#op === 'stopping') {
      return !this.check || this.#health === full ? 'NOLB' : `NOLB ${this.#health - this.rise + 1}/${this.fall}`;
    }
    if (this.check && this.#health > 0) return `DOWN ${this.#health}/${this.rise}`;
    return 'DOWN';
  }

  /** A plain-JSON copy of the server's state and counters. */
  snapshot(): ServerSnapshot {
    return {
      name: this.name,
      id: this.id,
      host: this.host,
      port: this.port,
      backup: this.backup,
      weight: this.#weight,
      initialWeight: this.initialWeight,
      effectiveWeight: this.effectiveWeight,
      maxconn: this.#maxconn,
      maxqueue: this.#maxqueue,
      adminState: this.#admin,
      operationalState: this.#op,
      status: this.status,
      usable: this.usable,
      check: this.check,
      health: this.#health,
      rise: this.rise,
      fall: this.fall,
      currentConnections: this.#current,
      maxConnections: this.#max,
      totalConnections: this.#total,
      lbSelections: this.#lbSelections,
      queued: this.#queued,
      maxQueued: this.#maxQueued,
      lastChangeMs: this.#lastChangeMs,
      ...(this.#lastCheck === undefined ? {} : checkFields(this.#lastCheck)),
      checkFailures: this.#checkFailures,
      downTransitions: this.#downTransitions,
      observeFailures: this.#observeFailures,
      downtimeMs: this.downtimeMs,
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

  // ---- Mutators: called only by Pool (state) and Balancer (counters). ----

  /** @internal */
  _setWeight(weight: number): void {
    this.#weight = weight;
  }
  /** @internal */
  _setSlowstartFactor(factor: number): void {
    this.#slowstartFactor = factor;
  }
  /** @internal */
  _setLimits(maxconn: number, maxqueue: number): void {
    this.#maxconn = maxconn;
    this.#maxqueue = maxqueue;
  }
  /** @internal */
  _setAdmin(state: AdminState, nowMs: number): void {
    this.#admin = state;
    this.#lastChangeMs = nowMs;
  }
  /** @internal */
  _setOperational(state: OperationalState, nowMs: number): void {
    this.#op = state;
    this.#lastChangeMs = nowMs;
  }
  /** @internal */
  _setHealth(health: number): void {
    this.#health = health;
  }
  /** @internal The latest check result or passive verdict. */
  _recordCheck(result: CheckResult): void {
    this.#lastCheck = result;
  }
  /** @internal */
  _countCheckFailure(): void {
    this.#checkFailures++;
  }
  /** @internal */
  _countObserveFailure(): void {
    this.#observeFailures++;
  }
  /** @internal The server stopped being up (operationally down or in maintenance). */
  _wentDown(nowMs: number): void {
    this.#downTransitions++;
    this.#downSinceMs = nowMs;
  }
  /** @internal The server is up again. */
  _cameUp(nowMs: number): void {
    if (this.#downSinceMs !== undefined) this.#downtimeMs += Math.max(0, nowMs - this.#downSinceMs);
    this.#downSinceMs = undefined;
  }
  /** @internal A lease was granted; `picked` when the strategy chose it (not when served from a queue). */
  _acquired(picked: boolean): void {
    this.#current++;
    this.#total++;
    if (picked) this.#lbSelections++;
    if (this.#current > this.#max) this.#max = this.#current;
  }
  /** @internal */
  _released(): void {
    this.#current--;
  }
  /** @internal */
  _queuedDelta(delta: 1 | -1): void {
    this.#queued += delta;
    if (this.#queued > this.#maxQueued) this.#maxQueued = this.#queued;
  }
}

const INITIAL_CHECK: CheckResult = Object.freeze({ status: 'INI' });

function checkFields(r: CheckResult): Pick<ServerSnapshot, 'checkStatus' | 'checkCode' | 'checkInfo' | 'checkDurationMs'> {
  return {
    checkStatus: r.status,
    ...(r.code === undefined ? {} : { checkCode: r.code }),
    ...(r.info === undefined ? {} : { checkInfo: r.info }),
    ...(r.durationMs === undefined ? {} : { checkDurationMs: r.durationMs }),
  };
}

/** Parses a HAProxy-style weight: an absolute `0..256`, or `'N%'` of the initial weight (integer division). */
export function resolveWeight(field: string, value: unknown, initialWeight: number): number {
  if (typeof value === 'string') {
    const m = /^(\d+)%$/.exec(value);
    if (!m) throw invalidArg(field, "must be an integer 0–256 or a percentage such as '50%'", value);
    const pct = Number(m[1]);
    const w = Math.floor((initialWeight * pct) / 100);
    if (w > 256) throw invalidArg(field, `gives ${w}, above the maximum weight 256`, value);
    return w;
  }
  return v.integerInRange(field, value, 0, 256);
}
