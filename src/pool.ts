import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from './clock.js';
import { publishCheckResult, publishServerAdded, publishServerRemoved } from './diagnostics.js';
import { announceChange, applyAddress, beforeChange, checkResultChange, invalidState, isUp, validUpdate } from './pool-change.js';
import { invalidArg } from './errors.js';
import {
  ADMIN_CAUSE, type CheckCause, type CheckResult, ON_ERROR_ACTIONS, type OnErrorAction, type StateCause, validCheckResult,
} from './state/check-result.js';
import { FULL_WEIGHT_FACTOR, applyAdminState, applyForcedHealth, onErrorFailsCheck } from './state/health-counter.js';
import { SlowStartRamps } from './state/slowstart.js';
import * as v from './internal/validate.js';
import type { LbState, PoolEvents, PoolOptions, PoolSnapshot, ServerUpdate, Tier, TierOptions } from './pool-events.js';
import { type AdminState, type HoldKind, Server, type ServerOptions, stateOf } from './server.js';
import { ServerState } from './state/server-state.js';
import { PoolCounters } from './pool-counters.js';
import { PoolMembers } from './pool-members.js';
import { type AgentHost, type AgentReport, applyAgentReport } from './pool-agent.js';
import { PoolTiers, TIER_KEYS } from './pool-tiers.js';
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

  readonly #members = new PoolMembers();
  readonly #tiers: PoolTiers;
  /** The state of every server this pool created, removed ones included (their leases still count). */
  readonly #agentHost: AgentHost = { pool: this, change: (...a) => this.#change(...a) };
  /** @internal The counts the Balancer and the dialers move (leases, queues, picks, attempts), in this pool's state. */
  readonly _counters = new PoolCounters((server) => this.#state(server));
  /** Slow-start ramps in progress; each step is applied through #change. */
  #ramps: SlowStartRamps<Server>;

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

  /**
   * Changes tier options at runtime (`localityWeights: undefined` turns locality weighting off), all validated before
   * any applies; the next pick follows. Emits `tier:load` / `tier:panic` for what moves.
   */
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
    const wasAvailable = this.available;
    this.#members.append(server);
    if (server.usable) this.#members.setUsable(server, true);
    if (this.#tiers.active) this.#tiers.add(server);
    else if (server.priority !== 0) this.#tiers.activate(this.#members.servers);
    this.emit('server:added', server);
    publishServerAdded(this, server);
    if (server.usable) this.emit('server:lb', server, { usable: false, effectiveWeight: 0 });
    this.#tiers.announce(this);
    this.#members.announceAvailability(this, wasAvailable);
    return server;
  }

  /**
   * Removes a server. Its live leases stay valid and release normally; it is never picked again.
   * Returns the removed server.
   */
  remove(name: string): Server {
    const server = this.get(name);
    const wasAvailable = this.available;
    const before: LbState = { usable: server.usable, effectiveWeight: server.effectiveWeight };
    if (this.#tiers.active) this.#tiers.remove(server);
    this.#members.delete(server);
    if (this.#ramps.end(server)) this.#state(server).slowstartFactor = FULL_WEIGHT_FACTOR;
    if (before.usable) this.emit('server:lb', server, before);
    this.emit('server:removed', server);
    publishServerRemoved(this, server);
    this.#tiers.announce(this);
    this.#members.announceAvailability(this, wasAvailable);
    return server;
  }

  /** True when `server` (the object) is currently a member. */
  has(server: Server): boolean {
    return this.#members.has(server);
  }

  /** Declaration rank of a member server (0-based); -1 when it is not a member. */
  rank(server: Server): number {
    return this.#members.rank(server);
  }

  /** Sets the user weight: 0–256, or a percentage of the initial weight (`'50%'`; HAProxy `set weight`), from the next pick. */
  setWeight(name: string, weight: number | `${number}%`): void {
    this.update(name, { weight });
  }

  /**
   * Changes where new connections to a server go (HAProxy `set server <b>/<s> addr <ip> [port <p>]`; `port` kept
   * when omitted). Counters, health, state and leases stay; open connections stay on the old address; checks
   * follow unless they have their own. Emits `server:address` when something changed.
   */
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
    const { w, maxconn, maxqueue, admin } = validUpdate(server, changes);
    this.#change(server, ADMIN_CAUSE, (st) => {
      if (w !== undefined) st.weight = w;
      st.maxconn = maxconn;
      st.maxqueue = maxqueue;
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

  /**
   * Forces the health result (HAProxy `set server <b>/<s> health up|stopping|down`):
   * `up` sets the counter to full, `stopping` makes the server NOLB, `down` sets the counter to 0.
   */
  setHealth(name: string, health: 'up' | 'stopping' | 'down', cause: StateCause = ADMIN_CAUSE): void {
    const server = this.get(name);
    const h = v.oneOf(`health of ${name}`, health, ['up', 'stopping', 'down']);
    this.#change(server, cause, (st) => {
      st.setOperational(applyForcedHealth(st, h, server.rise, server.fall), this.clock.now());
    });
  }

  /**
   * Turns the checks of a server with `check` on or off (HAProxy `enable health` / `disable health`). While off,
   * checkers skip the server and results reported for it are ignored; its health counter stays where it was, and
   * its status shows as unchecked (`no check`, `DOWN`). Throws `ERR_LB_INVALID_STATE` for a server without `check`.
   */
  setChecksEnabled(name: string, enabled: boolean): void {
    const server = this.get(name);
    const on = v.boolean(`checksEnabled of ${name}`, enabled);
    if (!server.check) throw invalidState(this.name, name, 'has no check to enable or disable');
    if (server.checksEnabled === on) return;
    this.#change(server, ADMIN_CAUSE, (st) => void (st.checksEnabled = on));
    this.emit('server:checks', server, on);
  }

  /**
   * Puts a hold on a server for `holder` (`'out'` or `'drain'`), or lifts it (`undefined`): how components other
   * than checks and operators take a server out of the load balancing without touching its admin state or health
   * (outlier detection, a control plane's endpoint health). A held server is not picked; `drain` and `out` differ
   * only for what reads them (a panic mode may still use `out` servers; nothing cuts their connections). Each
   * holder's hold is separate; the server is usable again when none is left. Emits `server:hold`.
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

  /**
   * Puts back a state from {@link Pool.exportState} (after a restart) with HAProxy's `load-server-state-from-file`
   * rules (docs/getting-started.md). Records of unknown servers, or of a server whose host or port changed, are
   * skipped and reported. Bad input throws `ERR_LB_INVALID_ARG` naming the field, before anything changes.
   */
  restoreState(state: PoolState, cause: StateCause = RESTORE_CAUSE): RestoreReport {
    return restorePoolState(this, state, cause, (server, c, mutate) => this.#change(server, c, mutate));
  }

  /** Applies an agent check (`agent-check`), forces its health (`{ force }`) or turns it on/off (`{ enabled }`): pool-agent.ts. */
  reportAgent(server: Server, report: AgentReport, cause?: StateCause): boolean {
    const allowed = server.agentEnabled || (server.agent && 'enabled' in (report ?? {}));
    return this.#members.has(server) && allowed && applyAgentReport(this.#agentHost, server, report, cause);
  }

  /** Times the pool lost its last usable server (`pool:empty`): HAProxy's `chkdown` of the BACKEND row. */
  get emptyTransitions(): number {
    return this.#members.emptyTransitions;
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
    if (!this.#members.has(server) || !server.checksEnabled || server.adminState === 'maint') return false;
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
    const { mutate, announce } = checkResultChange(this, server, cause, onError);
    this.#change(server, cause, mutate, announce);
  }

  /**
   * The one place where a server's state changes: runs `mutate` on its state, then keeps the usable lists in
   * step and emits every event the change implies, in a fixed order (announce, weight, lb, down/up, state, pool).
   */
  #change(server: Server, cause: StateCause, mutate: (state: ServerState) => void, announce?: () => void): void {
    const b = beforeChange(server);
    const wasAvailable = this.available;
    const st = this.#state(server);
    mutate(st);
    const member = this.#members.has(server);
    const up = isUp(server);
    if (b.up !== up) this.#transition(server, st, up, member, cause);
    if (st.op !== 'starting' && this.#ramps.end(server)) st.slowstartFactor = FULL_WEIGHT_FACTOR;
    if (member && b.lb.usable !== server.usable) this.#members.setUsable(server, server.usable);
    const tiersChanged = member && this.#tiers.changed(server, b.lb.usable, b.eligible, b.lb.effectiveWeight);
    announce?.();
    announceChange(this, server, b, member, cause);
    if (tiersChanged) this.#tiers.announce(this);
    if (member) this.#members.announceAvailability(this, wasAvailable);
  }

  /**
   * Bookkeeping of an up/down transition: downtime and `chkdown`, and the slow-start ramp when a server
   * comes back (never at creation: servers are born through {@link Pool.add}, not here).
   */
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
