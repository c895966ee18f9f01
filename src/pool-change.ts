import type { EventEmitter } from 'eventemitter3';
import { publishServerState } from './diagnostics.js';
import { LbError } from './errors.js';
import * as v from './internal/validate.js';
import { panicEligible } from './pool-tiers.js';
import type { LbState, PoolEvents } from './pool-events.js';
import type { Server } from './server.js';
import { type CheckCause, type OnErrorAction, type StateCause, checkVerdict } from './state/check-result.js';
import { applyCheckResult } from './state/health-counter.js';
import type { ServerState } from './state/server-state.js';

/** @internal What a server looked like before a change: what {@link announceChange} compares with. */
export interface BeforeChange {
  readonly lb: LbState;
  readonly weight: number;
  readonly maxconn: number;
  readonly maxqueue: number;
  readonly status: string;
  readonly up: boolean;
  /** Counted in its tier's share (see `panicEligible`). */
  readonly eligible: boolean;
}

/** @internal Up in HAProxy's sense: neither in maintenance nor operationally down (NOLB and DRAIN are up). */
export function isUp(server: Server): boolean {
  return server.adminState !== 'maint' && server.operationalState !== 'down';
}

/** @internal Captures a server before a change. */
export function beforeChange(server: Server): BeforeChange {
  return {
    lb: { usable: server.usable, effectiveWeight: server.effectiveWeight },
    weight: server.weight,
    maxconn: server.maxconn,
    maxqueue: server.maxqueue,
    status: server.status,
    up: isUp(server),
    eligible: panicEligible(server),
  };
}

/**
 * @internal Emits every event a change implies, in a fixed order: weight, limits, lb (members only), down/up,
 * state (also published on `switchyard:server:state`). The state is already updated when this runs.
 */
export function announceChange(pool: EventEmitter<PoolEvents>, server: Server, b: BeforeChange, member: boolean, cause: StateCause): void {
  if (server.weight !== b.weight) pool.emit('server:weight', server, b.weight);
  if (server.maxconn !== b.maxconn || server.maxqueue !== b.maxqueue) {
    pool.emit('server:limits', server, { maxconn: b.maxconn, maxqueue: b.maxqueue });
  }
  if (member && (b.lb.usable !== server.usable || b.lb.effectiveWeight !== server.effectiveWeight)) pool.emit('server:lb', server, b.lb);
  const up = isUp(server);
  if (b.up && !up) pool.emit('server:down', server, cause);
  else if (!b.up && up) pool.emit('server:up', server, cause);
  if (server.status !== b.status) {
    pool.emit('server:state', server, b.status, cause);
    publishServerState(pool, server, b.status, cause);
  }
}

/**
 * @internal What one check result (or passive observation's verdict, with its `onError` action) does, for the
 * pool's one write path: the health counter rules on the state, then `observe:limit` and `check:pass`/`check:fail`
 * before the events of the change itself.
 */
export function checkChange(
  pool: EventEmitter<PoolEvents>,
  server: Server,
  cause: CheckCause,
  onError: OnErrorAction | undefined,
  setOperational: (st: ServerState, op: ServerState['op']) => void,
): { mutate: (st: ServerState) => void; announce: () => void } {
  const result = cause.result;
  const previousHealth = server.health;
  const previousStatus = server.checkStatus;
  const verdict = checkVerdict(result.status);
  return {
    mutate: (st) => {
      const op = applyCheckResult(st, server.rise, server.fall, result, verdict, onError);
      if (op !== undefined) setOperational(st, op);
    },
    announce: () => {
      if (onError !== undefined) pool.emit('observe:limit', server, onError, result);
      if (verdict === 'fail') pool.emit('check:fail', server, cause, previousHealth, previousStatus);
      else if (verdict !== 'neutral') pool.emit('check:pass', server, cause, previousHealth, previousStatus);
    },
  };
}

/** @internal `pool.setChecksEnabled()` on a server without `check`. */
export function noChecksError(pool: string, name: string): LbError {
  return new LbError('ERR_LB_INVALID_STATE', `server ${JSON.stringify(name)} of pool ${JSON.stringify(pool)} has no check to enable or disable`, {
    details: { pool, server: name },
  });
}

/** @internal Validates `pool.setAddress()` and applies it to `st`; returns the previous address when it changed. */
export function applyAddress(server: Server, st: ServerState, host: string, port: number | undefined): { host: string; port: number } | undefined {
  const h = v.nonEmptyString(`host of ${server.name}`, host);
  const p = port === undefined ? server.port : v.integerInRange(`port of ${server.name}`, port, 1, 65535);
  if (h === server.host && p === server.port) return undefined;
  const previous = { host: server.host, port: server.port };
  st.host = h;
  st.port = p;
  return previous;
}
