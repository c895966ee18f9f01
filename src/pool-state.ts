import type { Clock } from './clock.js';
import { invalidArg } from './errors.js';
import * as v from './internal/validate.js';
import type { AdminState, OperationalState, Server } from './server.js';
import { type CheckResult, type StateCause, validCheckResult } from './state/check-result.js';
import type { ServerState } from './state/server-state.js';

/**
 * One server in a {@link PoolState}: what HAProxy's `show servers state` keeps of it, as plain JSON.
 */
export interface ServerStateRecord {
  readonly name: string;
  /** Where the server was: the record is restored only to a server at the same host and port. */
  readonly host: string;
  readonly port: number;
  /** The user weight (HAProxy `uweight`). */
  readonly weight: number;
  /** The weight the server was created with (`iweight`): `weight` is restored only when the server's is the same. */
  readonly initialWeight: number;
  readonly adminState: AdminState;
  /** In maintenance because of `disabled` at creation (HAProxy `CMAINT`). */
  readonly maintFromConfig: boolean;
  readonly operationalState: OperationalState;
  /** HAProxy's health counter. */
  readonly health: number;
  /** The server had checks. */
  readonly check: boolean;
  /** Its checks were on (`pool.setChecksEnabled()`, HAProxy `enable|disable health`). */
  readonly checksEnabled: boolean;
  /** The last check result, when it had checks. */
  readonly lastCheck?: CheckResult;
  /** Milliseconds between the server's last change and the export. */
  readonly sinceLastChangeMs: number;
}

/** A pool's server state, from `pool.exportState()`: plain JSON, to keep across a restart. */
export interface PoolState {
  /** The format's version: 1. */
  readonly version: 1;
  /** The pool it was taken from: `pool.restoreState()` refuses another pool's state. */
  readonly pool: string;
  readonly servers: readonly ServerStateRecord[];
}

/** Why a record of a {@link PoolState} was not restored. */
export type RestoreSkipReason =
  /** No server of that name in the pool. */
  | 'unknown-server'
  /** The pool's server of that name has another host or port: the saved state describes another endpoint. */
  | 'address-changed';

/** What `pool.restoreState()` did. */
export interface RestoreReport {
  /** Servers whose state was restored, in the state's order. */
  readonly restored: readonly string[];
  readonly skipped: readonly { readonly name: string; readonly reason: RestoreSkipReason }[];
}

/** The cause of the changes a restore makes (HAProxy: "changed from server-state after a reload"). */
export const RESTORE_CAUSE: StateCause = Object.freeze({ source: 'admin', via: 'state' });

/** @internal What exporting needs of the pool. */
export interface StateSource {
  readonly name: string;
  readonly servers: readonly Server[];
  readonly clock: Clock;
}

/** @internal What restoring needs of the pool: its public methods, and `write`, its one place of change. */
export interface RestoreTarget extends StateSource {
  find(name: string): Server | undefined;
  setAdminState(name: string, state: AdminState, cause?: StateCause): void;
  setChecksEnabled(name: string, enabled: boolean): void;
  setWeight(name: string, weight: number): void;
}

/** @internal Runs `mutate` on a server's state through the pool's change path (events, usable lists). */
export type StateWrite = (server: Server, cause: StateCause, mutate: (st: ServerState) => void) => void;

/** @internal `pool.exportState()`. */
export function exportPoolState(pool: StateSource): PoolState {
  const now = pool.clock.now();
  return {
    version: 1,
    pool: pool.name,
    servers: pool.servers.map((s) => ({
      name: s.name,
      host: s.host,
      port: s.port,
      weight: s.weight,
      initialWeight: s.initialWeight,
      adminState: s.adminState,
      maintFromConfig: s.maintFromConfig,
      operationalState: s.operationalState,
      health: s.health,
      check: s.check,
      checksEnabled: s.checksEnabled,
      ...(s.check && s.lastCheck !== undefined ? { lastCheck: s.lastCheck } : {}),
      sinceLastChangeMs: Math.max(0, now - s.lastChangeMs),
    })),
  };
}

const STATE_KEYS = ['version', 'pool', 'servers'] as const;
const RECORD_KEYS = [
  'name', 'host', 'port', 'weight', 'initialWeight', 'adminState', 'maintFromConfig', 'operationalState', 'health', 'check',
  'checksEnabled', 'lastCheck', 'sinceLastChangeMs',
] as const;

/** Checks a whole state before anything changes; returns the records, validated and copied. */
function validState(state: unknown, poolName: string): ServerStateRecord[] {
  const o = v.plainObject('state', state);
  v.knownKeys('state', o, STATE_KEYS);
  if (o['version'] !== 1) throw invalidArg('state.version', 'must be 1', o['version']);
  if (o['pool'] !== poolName) throw invalidArg('state.pool', `must be ${JSON.stringify(poolName)}, the name of the pool it is restored to`, o['pool']);
  const list = o['servers'];
  if (!Array.isArray(list)) throw invalidArg('state.servers', 'must be an array of server records', list);
  const names = new Set<string>();
  return list.map((item: unknown, i) => {
    const at = `state.servers[${i}]`;
    const r = v.plainObject(at, item);
    v.knownKeys(at, r, RECORD_KEYS);
    const name = v.nonEmptyString(`${at}.name`, r['name']);
    if (names.has(name)) throw invalidArg(`${at}.name`, 'must be unique in the state', name);
    names.add(name);
    const lastCheck = r['lastCheck'] === undefined ? undefined : validCheckResult(r['lastCheck'] as CheckResult);
    return {
      name,
      host: v.nonEmptyString(`${at}.host`, r['host']),
      port: v.integerInRange(`${at}.port`, r['port'], 1, 65535),
      weight: v.integerInRange(`${at}.weight`, r['weight'], 0, 256),
      initialWeight: v.integerInRange(`${at}.initialWeight`, r['initialWeight'], 0, 256),
      adminState: v.oneOf<AdminState>(`${at}.adminState`, r['adminState'], ['ready', 'drain', 'maint']),
      maintFromConfig: v.boolean(`${at}.maintFromConfig`, r['maintFromConfig']),
      operationalState: v.oneOf<OperationalState>(`${at}.operationalState`, r['operationalState'], ['up', 'down', 'starting', 'stopping']),
      health: v.nonNegativeInteger(`${at}.health`, r['health']),
      check: v.boolean(`${at}.check`, r['check']),
      checksEnabled: v.boolean(`${at}.checksEnabled`, r['checksEnabled']),
      ...(lastCheck === undefined ? {} : { lastCheck }),
      sinceLastChangeMs: v.durationMs(`${at}.sinceLastChangeMs`, r['sinceLastChangeMs']),
    };
  });
}

/**
 * @internal `pool.restoreState()`: every record validated first (`ERR_LB_INVALID_ARG` naming the field, and
 * nothing changed), then each server restored in turn with HAProxy's rules (`src/server_state.c`
 * `srv_state_srv_update()`): operational state and health, then admin state, then weight, checks, last check.
 */
export function restorePoolState(pool: RestoreTarget, state: PoolState, cause: StateCause, write: StateWrite): RestoreReport {
  const records = validState(state, pool.name);
  const restored: string[] = [];
  const skipped: { name: string; reason: RestoreSkipReason }[] = [];
  for (const r of records) {
    const server = pool.find(r.name);
    if (server === undefined) skipped.push({ name: r.name, reason: 'unknown-server' });
    else if (server.host !== r.host || server.port !== r.port) skipped.push({ name: r.name, reason: 'address-changed' });
    else {
      restoreServer(pool, server, r, cause, write);
      restored.push(r.name);
    }
  }
  return { restored, skipped };
}

function restoreServer(pool: RestoreTarget, server: Server, r: ServerStateRecord, cause: StateCause, write: StateWrite): void {
  const { rise, fall } = server;
  const full = rise + fall - 1;
  // A server the configuration keeps in maintenance stays there, as it is (health and all).
  if (!server.maintFromConfig) {
    let op: OperationalState = 'up';
    let health = full;
    if (r.operationalState === 'down' || (r.operationalState === 'stopping' && fall === 1)) {
      op = 'down';
      health = 0;
    } else if (r.operationalState === 'stopping') {
      op = 'stopping';
      health = r.health < rise || r.health > full - 1 ? rise : r.health;
    } else if (r.operationalState === 'starting' && rise > 1) {
      // HAProxy keeps a warming-up server just below `rise`; without a ramp to finish it is up at once.
      health = r.health < 1 || r.health >= rise ? rise - 1 : r.health;
    }
    write(server, cause, (st) => {
      st.health = health;
      if (st.op !== op) st.setOperational(op, pool.clock.now());
    });
  }
  // Admin state: the configuration's `disabled` wins over the saved state; a drain saved while the initial
  // weight was 0 is dropped once the configuration gives a weight (the drain came from that weight).
  let admin: AdminState | undefined;
  if (!server.maintFromConfig) admin = r.maintFromConfig === server.maintFromConfig && r.adminState === 'maint' ? 'maint' : 'ready';
  if (admin === 'ready' && r.adminState === 'drain' && (r.initialWeight > 0 || server.initialWeight === 0)) admin = 'drain';
  if (admin !== undefined && admin !== server.adminState) pool.setAdminState(server.name, admin, cause);
  // A weight set at runtime is kept only when the configured weight did not change (a configuration change wins).
  if (r.initialWeight === server.initialWeight && r.weight !== server.weight) pool.setWeight(server.name, r.weight);
  if (server.check && r.check && r.checksEnabled !== server.checksEnabled) pool.setChecksEnabled(server.name, r.checksEnabled);
  const lastChangeMs = pool.clock.now() - r.sinceLastChangeMs;
  write(server, cause, (st) => {
    if (server.check && r.lastCheck !== undefined) st.lastCheck = r.lastCheck;
    st.lastChangeMs = lastChangeMs;
    // Down since the saved change, not since the restore (HAProxy's `downtime` counts from `last_change`).
    if (st.downSinceMs !== undefined && st.downSinceMs > lastChangeMs) st.downSinceMs = lastChangeMs;
  });
}
