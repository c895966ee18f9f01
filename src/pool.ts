import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from './clock.js';
import { publishCheckResult } from './diagnostics.js';
import {
  publishPoolEmpty, publishPoolRecovered, publishServerAdded, publishServerRemoved, publishServerState,
} from './diagnostics.js';
import { LbError, describe, invalidArg } from './errors.js';
import {
  ADMIN_CAUSE,
  type CheckCause,
  type CheckResult,
  ON_ERROR_ACTIONS,
  type OnErrorAction,
  type StateCause,
  checkVerdict,
  validCheckResult,
} from './state/check-result.js';
import {
  FULL_WEIGHT_FACTOR,
  healthAfterFailure,
  healthAfterSuccess,
  healthBeforeOnError,
  onErrorFailsCheck,
} from './state/health-counter.js';
import { SlowStartRamps } from './state/slowstart.js';
import * as v from './internal/validate.js';
import type { LbState, PoolEvents, PoolOptions, PoolSnapshot, ServerUpdate } from './pool-events.js';
import { type AdminState, Server, type ServerOptions, resolveWeight } from './server.js';

export type { LbState, PoolEvents, PoolOptions, PoolSnapshot, ServerUpdate } from './pool-events.js';

const POOL_KEYS = ['servers', 'allBackups', 'clock'] as const;
const UPDATE_KEYS = ['weight', 'maxconn', 'maxqueue', 'adminState'] as const;

/**
 * The servers of one backend and the single writer of their state.
 *
 * A pool knows which servers are usable: the active ones, or when none is, the first usable backup
 * (all usable backups with `allBackups`). Every change goes through a method here and is announced
 * by a typed event.
 *
 * @example
 * ```ts
 * const pool = new Pool('web', { servers: [
 *   { name: 'web1', host: '127.0.0.1', port: 8081 },
 *   { name: 'web2', host: '127.0.0.1', port: 8082, weight: 2 },
 * ] })
 * pool.on('server:down', (server) => console.warn(`${server.name} is down`))
 * pool.setAdminState('web1', 'drain')
 * ```
 */
export class Pool extends EventEmitter<PoolEvents> {
  /** The backend's name (HAProxy backend name). */
  readonly name: string;
  /** Whether all usable backups share the load when no active server is usable. */
  readonly allBackups: boolean;
  /** The pool's clock. */
  readonly clock: Clock;

  #servers: Server[] = [];
  #ids = new Set<number>();
  #byName = new Map<string, Server>();
  #order = new Map<Server, number>();
  #nextOrder = 0;
  #active: Server[] = [];
  #backup: Server[] = [];
  #emptyAnnounced = false;
  /** Slow-start ramps in progress; each step is applied through #change. */
  #ramps: SlowStartRamps<Server>;

  constructor(name: string, options: PoolOptions = {}) {
    super();
    this.name = v.nonEmptyString('pool name', name);
    const o = v.plainObject('pool options', options);
    v.knownKeys('pool options', o, POOL_KEYS);
    this.allBackups = v.boolean('allBackups', o['allBackups'] ?? false);
    this.clock = (o['clock'] as Clock | undefined) ?? systemClock;
    this.#ramps = new SlowStartRamps(this.clock, (server, factor, cause) => this.#change(server, cause, () => {
      server._setSlowstartFactor(factor);
      if (factor >= FULL_WEIGHT_FACTOR) server._setOperational('up', this.clock.now());
    }));
    const servers = o['servers'] ?? [];
    if (!Array.isArray(servers)) throw invalidArg('servers', 'must be an array of server options', servers);
    for (const s of servers as ServerOptions[]) this.add(s);
  }

  /** All servers, in declaration order (a live view: do not keep or modify it). */
  get servers(): readonly Server[] {
    return this.#servers;
  }

  /** Number of servers. */
  get size(): number {
    return this.#servers.length;
  }

  /** Usable active servers in declaration order (a live view: do not keep or modify it). */
  get activeUsable(): readonly Server[] {
    return this.#active;
  }

  /** Usable backup servers in declaration order (a live view: do not keep or modify it). */
  get backupUsable(): readonly Server[] {
    return this.#backup;
  }

  /** True when at least one server can take a connection. */
  get available(): boolean {
    return this.#active.length > 0 || this.#backup.length > 0;
  }

  /** The server called `name`, or `undefined`. */
  find(name: string): Server | undefined {
    return this.#byName.get(name);
  }

  /** The server called `name`; throws `ERR_LB_UNKNOWN_SERVER` if there is none. */
  get(name: string): Server {
    const server = this.#byName.get(name);
    if (server === undefined) {
      throw new LbError('ERR_LB_UNKNOWN_SERVER', `pool ${JSON.stringify(this.name)} has no server named ${JSON.stringify(name)}`, {
        details: { pool: this.name, server: name },
      });
    }
    return server;
  }

  /** Adds a server at the end of the declaration order and returns it. */
  add(options: ServerOptions): Server {
    const name = v.plainObject('server', options)['name'];
    if (typeof name === 'string' && this.#byName.has(name)) {
      throw new LbError('ERR_LB_DUPLICATE_SERVER', `server.name ${JSON.stringify(name)} is already used in pool ${JSON.stringify(this.name)}`, {
        details: { field: 'server.name', received: name },
      });
    }
    const id = options.id ?? this.#nextFreeId();
    // The name is not validated yet (the Server does it): describe() renders any value without throwing.
    if (options.id !== undefined) v.positiveInteger(`server ${describe(name)}: id`, options.id);
    if (this.#ids.has(id)) {
      throw invalidArg(`server ${describe(name)}: id`, 'must be unique in the pool', id);
    }
    const server = new Server(options, id, this.clock);
    this.#servers.push(server);
    this.#ids.add(id);
    this.#byName.set(server.name, server);
    this.#order.set(server, this.#nextOrder++);
    const wasAvailable = this.available;
    if (server.usable) this.#insertUsable(server);
    this.emit('server:added', server);
    publishServerAdded(this, server);
    if (server.usable) this.emit('server:lb', server, { usable: false, effectiveWeight: 0 });
    this.#announceAvailability(wasAvailable);
    return server;
  }

  /**
   * Removes a server. Its live leases stay valid and release normally; it is never picked again.
   * Returns the removed server.
   */
  remove(name: string): Server {
    const server = this.get(name);
    const wasAvailable = this.available;
    const before = this.#lbState(server);
    this.#servers.splice(this.#servers.indexOf(server), 1);
    this.#ids.delete(server.id);
    this.#byName.delete(name);
    this.#order.delete(server);
    this.#removeUsable(server);
    if (this.#ramps.end(server)) server._setSlowstartFactor(FULL_WEIGHT_FACTOR);
    if (before.usable) this.emit('server:lb', server, before);
    this.emit('server:removed', server);
    publishServerRemoved(this, server);
    this.#announceAvailability(wasAvailable);
    return server;
  }

  /** True when `server` (the object) is currently a member. */
  has(server: Server): boolean {
    return this.#order.has(server);
  }

  /** Declaration rank of a member server (0-based); -1 when it is not a member. */
  rank(server: Server): number {
    return this.#order.get(server) ?? -1;
  }

  /**
   * Sets the user weight: an integer 0–256, or a percentage of the initial weight such as `'50%'`
   * (HAProxy `set weight`). Takes effect on the next pick.
   */
  setWeight(name: string, weight: number | `${number}%`): void {
    const server = this.get(name);
    const w = resolveWeight(`weight of ${name}`, weight, server.initialWeight);
    this.#change(server, ADMIN_CAUSE, () => server._setWeight(w));
  }

  /** Changes `maxconn` and/or `maxqueue` of a server (0 = unlimited). */
  setLimits(name: string, limits: { readonly maxconn?: number; readonly maxqueue?: number }): void {
    const server = this.get(name);
    const maxconn = v.nonNegativeInteger(`maxconn of ${name}`, limits.maxconn ?? server.maxconn);
    const maxqueue = v.nonNegativeInteger(`maxqueue of ${name}`, limits.maxqueue ?? server.maxqueue);
    this.#change(server, ADMIN_CAUSE, () => server._setLimits(maxconn, maxqueue));
  }

  /** Applies several changes to one server; each is validated before any is applied. */
  update(name: string, changes: ServerUpdate): void {
    const server = this.get(name);
    const o = v.plainObject('changes', changes);
    v.knownKeys('changes', o, UPDATE_KEYS);
    const w = o['weight'] === undefined ? undefined : resolveWeight(`weight of ${name}`, o['weight'], server.initialWeight);
    const maxconn = v.nonNegativeInteger(`maxconn of ${name}`, o['maxconn'] ?? server.maxconn);
    const maxqueue = v.nonNegativeInteger(`maxqueue of ${name}`, o['maxqueue'] ?? server.maxqueue);
    const admin = o['adminState'] === undefined ? undefined : v.oneOf(`adminState of ${name}`, o['adminState'], ['ready', 'drain', 'maint']);
    this.#change(server, ADMIN_CAUSE, () => {
      if (w !== undefined) server._setWeight(w);
      server._setLimits(maxconn, maxqueue);
    });
    if (admin !== undefined) this.setAdminState(name, admin);
  }

  /**
   * Sets the administrative state (HAProxy `set server <b>/<s> state`):
   * - `maint`: out of the load balancing, checks paused, health reset to 0;
   * - `drain`: no new connections from the strategies, still checked;
   * - `ready`: back in service; a checked server restarts at `UP 1/fall` ("start OK but check immediately").
   */
  setAdminState(name: string, state: AdminState, cause: StateCause = ADMIN_CAUSE): void {
    const server = this.get(name);
    const next = v.oneOf(`adminState of ${name}`, state, ['ready', 'drain', 'maint']);
    const previous = server.adminState;
    if (previous === next) return;
    this.#change(server, cause, () => {
      const now = this.clock.now();
      if (next === 'maint') {
        if (server.check) {
          server._setHealth(0);
          server._setOperational('down', now);
        }
      } else if (previous === 'maint') {
        if (server.check) server._setHealth(server.rise);
        server._setOperational('up', now);
      }
      server._setAdmin(next, now);
    });
    this.emit('server:admin', server, previous, cause);
  }

  /**
   * Forces the health result (HAProxy `set server <b>/<s> health up|stopping|down`):
   * `up` sets the counter to full, `stopping` makes the server NOLB, `down` sets the counter to 0.
   */
  setHealth(name: string, health: 'up' | 'stopping' | 'down', cause: StateCause = ADMIN_CAUSE): void {
    const server = this.get(name);
    const h = v.oneOf(`health of ${name}`, health, ['up', 'stopping', 'down']);
    this.#change(server, cause, () => {
      const now = this.clock.now();
      if (h === 'up') {
        server._setHealth(server.rise + server.fall - 1);
        if (server.operationalState !== 'up' && server.operationalState !== 'starting') server._setOperational('up', now);
      } else if (h === 'stopping') {
        if (server.operationalState !== 'stopping') server._setOperational('stopping', now);
      } else {
        server._setHealth(0);
        if (server.operationalState !== 'down') server._setOperational('down', now);
      }
    });
  }

  /**
   * Applies one active check result to a member server with checks: HAProxy's health counter
   * (a failure below `rise` drops to 0, a success reaching `rise` jumps to full), `chkfail`, the check status,
   * then `check:pass` / `check:fail` and any `server:down` / `server:up` it causes. Results for servers in
   * maintenance (checks paused), without checks, or no longer in the pool are ignored; returns whether it
   * was applied. Checkers call this; so can your own checking code. Published on `switchyard:check:result`.
   */
  reportCheck(server: Server, result: CheckResult): boolean {
    const r = validCheckResult(result);
    if (!this.#order.has(server) || !server.check || server.adminState === 'maint') return false;
    this.#applyResult(server, { source: 'check', result: r }, undefined);
    publishCheckResult(this, server, r);
    return true;
  }

  /**
   * Applies passive observation's `on-error` action after `errorLimit` consecutive connection errors
   * (HAProxy `__health_adjust()`): counts `hanafail`, emits `observe:limit`, and for every action but
   * `fastinter` simulates one failed check with `result` (status `HANA`), after `sudden-death` has capped the
   * counter at `rise + 1` or `mark-down` has set it to `rise`. Same conditions and return value as
   * {@link Pool.reportCheck}.
   */
  reportErrorLimit(server: Server, onError: OnErrorAction, result: CheckResult): boolean {
    const action = v.oneOf('onError', onError, ON_ERROR_ACTIONS);
    const r = validCheckResult(result);
    if (!this.#order.has(server) || !server.check || server.adminState === 'maint') return false;
    const cause: CheckCause = { source: 'observe', result: r };
    if (!onErrorFailsCheck(action)) {
      server._countObserveFailure();
      this.emit('observe:limit', server, action, r);
      return true;
    }
    this.#applyResult(server, cause, action);
    return true;
  }

  #applyResult(server: Server, cause: CheckCause, onError: OnErrorAction | undefined): void {
    const result = cause.result;
    const previousHealth = server.health;
    const previousStatus = server.checkStatus;
    const verdict = checkVerdict(result.status);
    this.#change(
      server,
      cause,
      () => {
        const now = this.clock.now();
        server._recordCheck(result);
        if (onError !== undefined) {
          server._countObserveFailure();
          server._setHealth(healthBeforeOnError(server.health, server.rise, onError));
        }
        if (verdict === 'fail') {
          if (server.health > 0) {
            server._countCheckFailure();
            server._setHealth(healthAfterFailure(server.health, server.rise));
          }
          if (server.health === 0 && server.operationalState !== 'down') server._setOperational('down', now);
        } else if (verdict === 'pass' || verdict === 'conditional') {
          server._setHealth(healthAfterSuccess(server.health, server.rise, server.fall));
          if (server.health >= server.rise) {
            const op = server.operationalState;
            if (verdict === 'conditional') {
              if (op !== 'stopping') server._setOperational('stopping', now);
            } else if (op === 'down' || op === 'stopping') {
              server._setOperational('up', now);
            }
          }
        }
      },
      () => {
        if (onError !== undefined) this.emit('observe:limit', server, onError, result);
        if (verdict === 'fail') this.emit('check:fail', server, cause, previousHealth, previousStatus);
        else if (verdict !== 'neutral') this.emit('check:pass', server, cause, previousHealth, previousStatus);
      },
    );
  }

  /**
   * @internal The one place where a server's state changes: runs `mutate`, then keeps the usable lists in
   * step and emits every event the change implies, in a fixed order (announce, weight, lb, down/up, state, pool).
   */
  _change(server: Server, cause: StateCause, mutate: () => void): void {
    this.#change(server, cause, mutate);
  }

  #change(server: Server, cause: StateCause, mutate: () => void, announce?: () => void): void {
    const before = this.#lbState(server);
    const beforeWeight = server.weight;
    const beforeStatus = server.status;
    const beforeOp = server.operationalState;
    const beforeAdmin = server.adminState;
    const beforeLimits = { maxconn: server.maxconn, maxqueue: server.maxqueue };
    const wasAvailable = this.available;
    mutate();
    const member = this.#order.has(server);
    const wasUp = beforeAdmin !== 'maint' && beforeOp !== 'down';
    const isUp = server.adminState !== 'maint' && server.operationalState !== 'down';
    if (wasUp !== isUp) this.#transition(server, isUp, member, cause);
    if (server.operationalState !== 'starting' && this.#ramps.end(server)) server._setSlowstartFactor(FULL_WEIGHT_FACTOR);
    const after = this.#lbState(server);
    if (member && before.usable !== after.usable) {
      if (after.usable) this.#insertUsable(server);
      else this.#removeUsable(server);
    }
    announce?.();
    if (server.weight !== beforeWeight) this.emit('server:weight', server, beforeWeight);
    if (server.maxconn !== beforeLimits.maxconn || server.maxqueue !== beforeLimits.maxqueue) {
      this.emit('server:limits', server, beforeLimits);
    }
    if (member && (before.usable !== after.usable || before.effectiveWeight !== after.effectiveWeight)) {
      this.emit('server:lb', server, before);
    }
    if (wasUp && !isUp) this.emit('server:down', server, cause);
    else if (!wasUp && isUp) this.emit('server:up', server, cause);
    if (server.status !== beforeStatus) {
      this.emit('server:state', server, beforeStatus, cause);
      publishServerState(this, server, beforeStatus, cause);
    }
    if (member) this.#announceAvailability(wasAvailable);
  }

  /**
   * Bookkeeping of an up/down transition: downtime and `chkdown`, and the slow-start ramp when a server
   * comes back (never at creation: servers are born through {@link Pool.add}, not here).
   */
  #transition(server: Server, isUp: boolean, member: boolean, cause: StateCause): void {
    const now = this.clock.now();
    if (!isUp) {
      server._wentDown(now);
      return;
    }
    server._cameUp(now);
    if (!member || server.slowstartMs <= 0 || server.operationalState !== 'up') return;
    server._setOperational('starting', now);
    server._setSlowstartFactor(this.#ramps.begin(server, cause));
  }

  /** A plain-JSON copy of the pool and its servers. */
  snapshot(): PoolSnapshot {
    return {
      name: this.name,
      allBackups: this.allBackups,
      activeUsable: this.#active.length,
      backupUsable: this.#backup.length,
      servers: this.#servers.map((s) => s.snapshot()),
    };
  }

  #lbState(server: Server): LbState {
    return { usable: server.usable, effectiveWeight: server.effectiveWeight };
  }

  #announceAvailability(wasAvailable: boolean): void {
    const now = this.available;
    if (wasAvailable && !now) {
      this.#emptyAnnounced = true;
      this.emit('pool:empty');
      publishPoolEmpty(this);
    } else if (!wasAvailable && now && this.#emptyAnnounced) {
      this.#emptyAnnounced = false;
      this.emit('pool:recovered');
      publishPoolRecovered(this);
    }
  }

  #nextFreeId(): number {
    let id = this.#servers.length + 1;
    while (this.#ids.has(id)) id++;
    return id;
  }

  #insertUsable(server: Server): void {
    const list = server.backup ? this.#backup : this.#active;
    const rank = this.#order.get(server) ?? Number.MAX_SAFE_INTEGER;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#order.get(list[mid]!) ?? 0) < rank) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, server);
  }

  #removeUsable(server: Server): void {
    const list = server.backup ? this.#backup : this.#active;
    const i = list.indexOf(server);
    if (i >= 0) list.splice(i, 1);
  }
}
