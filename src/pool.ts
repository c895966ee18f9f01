import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from './clock.js';
import { publishCheckResult, publishServerAdded, publishServerRemoved } from './diagnostics.js';
import { announceChange, applyAddress, beforeChange, checkChange, isUp, noChecksError } from './pool-change.js';
import { type ResolvedServerUpdate, resolveServerUpdate } from './pool-update.js';
import { invalidArg } from './errors.js';
import { ADMIN_CAUSE, type CheckCause, type CheckResult, ON_ERROR_ACTIONS, type OnErrorAction, type StateCause, validCheckResult } from './state/check-result.js';
import { FULL_WEIGHT_FACTOR, applyAdminState, applyForcedHealth, onErrorFailsCheck } from './state/health-counter.js';
import { SlowStartRamps } from './state/slowstart.js';
import * as v from './internal/validate.js';
import type { LbState, PoolEvents, PoolOptions, PoolSnapshot, ServerUpdate, Tier, TierOptions } from './pool-events.js';
import { type AdminState, type HoldKind, Server, type ServerOptions, stateOf } from './server.js';
import { ServerState } from './state/server-state.js';
import { PoolCounters } from './pool-counters.js';
import { PoolMembers } from './pool-members.js';
import { NOT_USABLE, PoolBatch } from './pool-batch.js';
import { TIER_KEYS } from './pool-tier-options.js';
import { PoolTiers } from './pool-tiers.js';
import { type AgentHost, type AgentReport, applyAgentReport } from './pool-agent.js';
import { type PoolState, RESTORE_CAUSE, type RestoreReport, exportPoolState, restorePoolState } from './pool-state.js';

export type {
  LbState, PoolEvents, PoolOptions, PoolSnapshot, ServerUpdate, Tier, TierLocality, TierOptions, TierSnapshot,
} from './pool-events.js';

const POOL_KEYS = ['servers', 'allBackups', 'clock', ...TIER_KEYS] as const;

/**
 * The servers of one backend and the single writer of their state.
 *
 * A pool knows which servers are usable: the active ones, or when none is, the first usable backup
 * (all usable backups with `allBackups`); with priority tiers, Envoy's spill and panic rules over the tiers
 * (`pool.tiers`). Every change goes through a method here and is announced by a typed event.
 *
 * @example
 * ```ts
 * const pool = new Pool('web', { servers: [{ name: 'web1', host: '127.0.0.1', port: 8081 }, { name: 'web2', host: '127.0.0.1', port: 8082, weight: 2 }] })
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

  readonly #members = new PoolMembers();
  readonly #tiers: PoolTiers;
  readonly #agentHost: AgentHost = { pool: this, change: (...a) => this.#change(...a) };
  /** @internal The counts the Balancer and the dialers move (leases, queues, picks, attempts), in this pool's state. */
  readonly _counters = new PoolCounters((server) => this.#state(server));
  /** Slow-start ramps in progress; each step is applied through #change. */
  #ramps: SlowStartRamps<Server>;
  /** The open {@link Pool.batch}, if any. */
  #batch: PoolBatch | undefined;

  constructor(name: string, options: PoolOptions = {}) {
    super();
    this.name = v.nonEmptyString('pool name', name);
    const o = v.plainObject('pool options', options);
    v.knownKeys('pool options', o, POOL_KEYS);
    this.allBackups = v.boolean('allBackups', o['allBackups'] ?? false);
    this.clock = (o['clock'] as Clock | undefined) ?? systemClock;
    this.#tiers = PoolTiers.fromPoolOptions(o, (s) => this.#members.rank(s));
    this.#ramps = new SlowStartRamps(this.clock, (server, factor, cause) => {
      const warmed = factor >= FULL_WEIGHT_FACTOR;
      this.#change(server, cause, (st) => {
        st.slowstartFactor = factor;
        if (warmed) st.setOperational('up', this.clock.now());
      });
      if (warmed) this.emit('server:warmed', server);
    });
    const servers = o['servers'] ?? [];
    if (!Array.isArray(servers)) throw invalidArg('servers', 'must be an array of server options', servers);
    for (const s of servers as ServerOptions[]) this.add(s);
  }

  /** All servers, in declaration order (a live view: do not keep or modify it). */
  get servers(): readonly Server[] {
    return this.#members.servers;
  }

  /** Number of servers. */
  get size(): number {
    return this.#members.size;
  }

  /** Usable active servers in declaration order (a live view: do not keep or modify it). */
  get activeUsable(): readonly Server[] {
    return this.#members.active;
  }

  /** Usable backup servers in declaration order (a live view: do not keep or modify it). */
  get backupUsable(): readonly Server[] {
    return this.#members.backup;
  }

  /** True when at least one server can take a connection. */
  get available(): boolean {
    return this.#members.available;
  }

  /**
   * The priority tiers (non-backup servers by ascending `priority`) with Envoy's health, load and panic arithmetic,
   * once the pool needs them (a priority above 0, locality weights or a panic threshold); `[]` before. Live views.
   */
  get tiers(): readonly Tier[] {
    return this.#tiers.list;
  }

  /** True when the tier rule (spill, panic, localities) replaces HAProxy's active/backup rule alone. */
  get tiered(): boolean {
    return this.#tiers.tiered;
  }

  /** Changes tier options at runtime (`localityWeights: undefined`: off), all checked first; emits `tier:*` for what moves. */
  updateTiers(options: TierOptions): void {
    this.#tiers.update(options, this.#members.servers);
    this.#tiers.announce(this);
  }

  /** The server called `name`, or `undefined`. */
  find(name: string): Server | undefined {
    return this.#members.find(name);
  }

  /** The server called `name`; throws `ERR_LB_UNKNOWN_SERVER` if there is none. */
  get(name: string): Server {
    return this.#members.get(this.name, name);
  }

  /** Adds a server at the end of the declaration order and returns it. */
  add(options: ServerOptions): Server {
    const id = this.#members.newId(this.name, options);
    const state = new ServerState();
    const server = new Server(options, id, this.clock, state);
    state.owner = this;
    const batch = this.#batch;
    const wasAvailable = batch === undefined && this.available;
    this.#members.append(server);
    if (server.usable) this.#members.setUsable(server, true);
    if (this.#tiers.active) this.#tiers.add(server);
    else if (server.priority !== 0) this.#tiers.activate(this.#members.servers);
    this.emit('server:added', server);
    publishServerAdded(this, server);
    if (batch !== undefined) batch.added(server);
    else if (server.usable) this.emit('server:lb', server, NOT_USABLE);
    if (batch === undefined) this.#announcePool(true, wasAvailable);
    return server;
  }

  /** Removes a server and returns it. Its live leases stay valid and release normally; it is never picked again. */
  remove(name: string): Server {
    const server = this.get(name);
    const batch = this.#batch;
    const wasAvailable = batch === undefined && this.available;
    const before: LbState = { usable: server.usable, effectiveWeight: server.effectiveWeight };
    if (this.#tiers.active) this.#tiers.remove(server);
    this.#members.delete(server);
    if (this.#ramps.end(server)) this.#state(server).slowstartFactor = FULL_WEIGHT_FACTOR;
    if (batch !== undefined) batch.record(server, before);
    else if (before.usable) this.emit('server:lb', server, before);
    this.emit('server:removed', server);
    publishServerRemoved(this, server);
    if (batch === undefined) this.#announcePool(true, wasAvailable);
    return server;
  }

  /**
   * Runs `fn` and applies its changes as one (a discovery list): per-server events fire as changes are made, but
   * `server:lb` becomes one `pool:lb` at the end, followed by the tier and availability events; strategies learn the
   * changes then. Nested calls join the outer batch; if `fn` throws, its changes stand. See docs/events.md.
   */
  batch<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw invalidArg('batch', 'must be given a function', fn);
    if (this.#batch !== undefined) return fn();
    const batch = (this.#batch = new PoolBatch(this.available));
    this.#members.deferUsable(true);
    this.#tiers.defer(true);
    try {
      return fn();
    } finally {
      this.#batch = undefined;
      batch.finish(this, this.#members, this.#tiers);
    }
  }

  /** True when `server` (the object) is currently a member. */
  has(server: Server): boolean {
    return this.#members.has(server);
  }

  /** Declaration rank of a member server (0-based); -1 when it is not a member. */
  rank(server: Server): number {
    return this.#members.rank(server);
  }

  /** Sets the user weight: 0–256, or a percentage of the initial weight such as `'50%'` (HAProxy `set weight`). */
  setWeight(name: string, weight: number | `${number}%`): void {
    this.update(name, { weight });
  }

  /** Where new connections go (HAProxy `set server … addr <ip> [port <p>]`); state and open connections stay. Emits `server:address`. */
  setAddress(name: string, host: string, port?: number): void {
    const server = this.get(name);
    const previous = applyAddress(server, this.#state(server), host, port);
    if (previous !== undefined) this.emit('server:address', server, previous);
  }

  /** Changes `maxconn` and/or `maxqueue` of a server (0 = unlimited). */
  setLimits(name: string, limits: { readonly maxconn?: number; readonly maxqueue?: number }): void {
    const o = v.plainObject('limits', limits);
    v.knownKeys('limits', o, ['maxconn', 'maxqueue']);
    this.update(name, o);
  }

  /** Applies several changes to one server; each is validated before any is applied. */
  update(name: string, changes: ServerUpdate): void {
    const server = this.get(name);
    this._applyUpdate(server, resolveServerUpdate(server, changes));
  }

  /** @internal {@link Pool.update} of a member with changes already checked (a discovery list, checked whole): same write, same events. */
  _applyUpdate(server: Server, u: ResolvedServerUpdate): void {
    const tags = server.tags;
    const relocate = u.tags !== undefined && this.#tiers.leaveLocality(server, u.tags); // re-added below, in the new one
    this.#change(server, ADMIN_CAUSE, (st) => {
      if (u.weight !== undefined) st.weight = u.weight;
      st.maxconn = u.maxconn;
      st.maxqueue = u.maxqueue;
      if (u.tags !== undefined) st.tags = u.tags;
      if (relocate) this.#tiers.add(server);
    });
    if (relocate && this.#batch === undefined) this.#tiers.announce(this);
    if (u.tags !== undefined) this.emit('server:tags', server, tags);
    if (u.adminState !== undefined) this.setAdminState(server.name, u.adminState);
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
    if (previous === next) {
      // Any admin command ends HAProxy's "maintenance from the configuration" flag, even one that changes nothing.
      this.#state(server).maintFromConfig = false;
      return;
    }
    this.#change(server, cause, (st) => {
      st.setOperational(applyAdminState(st, next, server.check, server.rise), this.clock.now());
      st.lastChangeMs = this.clock.now();
    });
    this.emit('server:admin', server, previous, cause);
  }

  /** Forces health (HAProxy `set server … health`): `up` fills the counter, `stopping` is NOLB, `down` empties it. */
  setHealth(name: string, health: 'up' | 'stopping' | 'down', cause: StateCause = ADMIN_CAUSE): void {
    const server = this.get(name);
    const h = v.oneOf(`health of ${name}`, health, ['up', 'stopping', 'down']);
    this.#change(server, cause, (st) => st.setOperational(applyForcedHealth(st, h, server.rise, server.fall), this.clock.now()));
  }

  /**
   * Turns a `check` server's checks on or off (HAProxy `enable|disable health`): while off, results are ignored, the
   * counter stays and the status shows unchecked. Throws `ERR_LB_INVALID_STATE` for a server without `check`.
   */
  setChecksEnabled(name: string, enabled: boolean): void {
    const server = this.get(name);
    const on = v.boolean(`checksEnabled of ${name}`, enabled);
    if (!server.check) throw noChecksError(this.name, name);
    if (server.checksEnabled === on) return;
    this.#change(server, ADMIN_CAUSE, (st) => void (st.checksEnabled = on));
    this.emit('server:checks', server, on);
  }

  /**
   * Puts a hold (`'out'` or `'drain'`) for `holder` on a server, or lifts it (`undefined`): how outlier detection or a control plane takes a
   * server out without touching admin state or health. A held server is not picked (a panic may use `out` ones) until no holder holds it. Emits `server:hold`.
   */
  setHold(name: string, holder: string, hold: HoldKind | undefined, cause: StateCause = ADMIN_CAUSE): void {
    const server = this.get(name);
    const who = v.nonEmptyString('holder', holder);
    const next = hold === undefined ? undefined : v.oneOf(`hold of ${name}`, hold, ['out', 'drain']);
    const previous = server.holds.get(who);
    if (previous === next) return;
    this.#change(server, cause, (st) => {
      if (next === undefined) st.holds?.delete(who);
      else (st.holds ??= new Map()).set(who, next);
    });
    this.emit('server:hold', server, who, next, previous);
  }

  /** Every server's state as plain JSON (weights, admin state, health, checks, last check), for {@link Pool.restoreState}. */
  exportState(): PoolState {
    return exportPoolState(this);
  }

  /** Puts back {@link Pool.exportState}'s output (`load-server-state-from-file` rules: unknown or moved servers skipped and reported; bad input throws first). */
  restoreState(state: PoolState, cause: StateCause = RESTORE_CAUSE): RestoreReport {
    return restorePoolState(this, state, cause, (server, c, mutate) => this.#change(server, c, mutate));
  }

  /** Applies an agent check (`agent-check`), forces its health (`{ force }`) or turns it on/off (`{ enabled }`): pool-agent.ts. */
  reportAgent(server: Server, report: AgentReport, cause?: StateCause): boolean {
    return applyAgentReport(this.#agentHost, server, report, cause);
  }

  /** Times the pool lost its last usable server (`pool:empty`): HAProxy's `chkdown` of the BACKEND row. */
  get emptyTransitions(): number {
    return this.#members.emptyTransitions;
  }

  /**
   * Applies one check result to a member with checks (HAProxy's health counter, `chkfail`, the check status, then
   * `check:pass|fail` and any `server:down|up`); ignored (returns false) in maintenance, with checks off, or for a
   * non-member. Checkers call this; so can your own code. Published on `switchyard:check:result`.
   */
  reportCheck(server: Server, result: CheckResult): boolean {
    const r = validCheckResult(result);
    if (!this.#members.has(server) || !server.checksEnabled || server.adminState === 'maint') return false;
    this.#applyResult(server, { source: 'check', result: r }, undefined);
    publishCheckResult(this, server, r);
    return true;
  }

  /**
   * Passive observation's `on-error` action after `errorLimit` errors (HAProxy `__health_adjust()`): `observe:limit`,
   * and but for `fastinter` one failed `HANA` check (after `sudden-death`/`mark-down` set the counter). As reportCheck.
   */
  reportErrorLimit(server: Server, onError: OnErrorAction, result: CheckResult): boolean {
    const action = v.oneOf('onError', onError, ON_ERROR_ACTIONS);
    const r = validCheckResult(result);
    if (!this.#members.has(server) || !server.checksEnabled || server.adminState === 'maint') return false;
    const cause: CheckCause = { source: 'observe', result: r };
    if (!onErrorFailsCheck(action)) {
      this.#state(server).observeFailures++;
      this.emit('observe:limit', server, action, r);
      return true;
    }
    this.#applyResult(server, cause, action);
    return true;
  }

  #applyResult(server: Server, cause: CheckCause, onError: OnErrorAction | undefined): void {
    const c = checkChange(this, server, cause, onError, (st, op) => st.setOperational(op, this.clock.now()));
    this.#change(server, cause, c.mutate, c.announce);
  }

  /** The one place a server's state changes: `mutate`, the usable and tier lists, the events (a batch defers lb/tier/pool ones). */
  #change(server: Server, cause: StateCause, mutate: (state: ServerState) => void, announce?: () => void): void {
    const b = beforeChange(server);
    const batch = this.#batch;
    const wasAvailable = batch === undefined && this.available;
    const st = this.#state(server);
    mutate(st);
    const member = this.#members.has(server);
    const up = isUp(server);
    if (b.up !== up) this.#transition(server, st, up, member, cause);
    if (st.op !== 'starting' && this.#ramps.end(server)) st.slowstartFactor = FULL_WEIGHT_FACTOR;
    if (member && b.lb.usable !== server.usable) this.#members.setUsable(server, server.usable);
    const tiersChanged = member && this.#tiers.changed(server, b.lb.usable, b.eligible, b.lb.effectiveWeight);
    announce?.();
    if (member && batch !== undefined) batch.record(server, b.lb);
    announceChange(this, server, b, member && batch === undefined, cause);
    if (member && batch === undefined) this.#announcePool(tiersChanged, wasAvailable);
  }

  /** Outside a batch, after a change: the tier plan's events (when `tiers` may have moved), then the pool's. */
  #announcePool(tiers: boolean, wasAvailable: boolean): void {
    if (tiers) this.#tiers.announce(this);
    this.#members.announceAvailability(this, wasAvailable);
  }

  /** Bookkeeping of an up/down transition: downtime, `chkdown`, and the slow-start ramp of a server coming back. */
  #transition(server: Server, st: ServerState, isUp: boolean, member: boolean, cause: StateCause): void {
    st.upChanged(isUp, this.clock.now());
    if (!isUp || !member || server.slowstartMs <= 0 || st.op !== 'up') return;
    st.setOperational('starting', this.clock.now());
    st.slowstartFactor = this.#ramps.begin(server, cause);
  }

  #state(server: Server): ServerState {
    const st = typeof server === 'object' && server !== null ? stateOf(server) : undefined;
    if (st === undefined || st.owner !== this) throw invalidArg('server', `must be a server of pool ${JSON.stringify(this.name)}`, server.toString());
    return st;
  }

  /** A plain-JSON copy of the pool and its servers. */
  snapshot(): PoolSnapshot {
    return this.#members.snapshot(this.name, this.allBackups, this.#tiers.tiered ? this.#tiers.snapshot() : undefined);
  }
}
