import dc from 'node:diagnostics_channel';
import type { CheckResult, StateCause } from './state/check-result.js';

/**
 * Every `diagnostics_channel` switchyard publishes on, by role. Subscribe with Node's
 * `diagnostics_channel.subscribe(name, listener)`; nothing is built or published while a channel
 * has no subscriber.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel'
 * import { DIAGNOSTICS_CHANNELS } from 'switchyard-lb'
 * diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.serverState, (message) => {
 *   const { pool, server, previousStatus, status } = message as ServerStateMessage
 *   console.log(`${pool.name}/${server.name}: ${previousStatus} -> ${status}`)
 * })
 * ```
 */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  /** A lease was granted on a server (PickMessage). */
  pick: 'switchyard:pool:pick',
  /** The pool's last usable server went away (PoolMessage). */
  poolEmpty: 'switchyard:pool:empty',
  /** A server became usable again after `poolEmpty` (PoolMessage). */
  poolRecovered: 'switchyard:pool:recovered',
  /** A queued caller gave up: timeout, abort, close (QueueLeaveMessage). */
  queueLeave: 'switchyard:queue:leave',
  /** A server joined a pool (ServerMessage). */
  serverAdded: 'switchyard:server:added',
  /** A server left a pool (ServerMessage). */
  serverRemoved: 'switchyard:server:removed',
  /** A server's displayed status (`UP`, `DOWN 1/2`, `MAINT`…) changed (ServerStateMessage). */
  serverState: 'switchyard:server:state',
  /** An active health check finished (CheckResultMessage). */
  checkResult: 'switchyard:check:result',
  /** A discovery source changed the membership of a pool (DiscoveryUpdateMessage). */
  discoveryUpdate: 'switchyard:discovery:update',
  /** A discovery source failed; the pool keeps its last good list (DiscoveryErrorMessage). */
  discoveryError: 'switchyard:discovery:error',
  /** `switchyard-lb/xds`: a CDS or EDS resource was accepted (XdsUpdateMessage, published by that entry). */
  xdsUpdate: 'switchyard:xds:update',
  /** `switchyard-lb/xds`: a response was NACKed; the previous resources stay (XdsNackMessage). */
  xdsNack: 'switchyard:xds:nack',
  /** `switchyard-lb/xds`: the ADS stream connected, disconnected or closed (XdsConnectionMessage). */
  xdsConnection: 'switchyard:xds:connection',
} as const);

/**
 * The name of the tracing channel around `connect` (pick + dial): Node derives
 * `tracing:switchyard:connect:start|end|asyncStart|asyncEnd|error` from it. The context is a ConnectContext.
 */
export const CONNECT_TRACING_CHANNEL = 'switchyard:connect';

const PASSED: ReadonlySet<string> = new Set(['L4OK', 'L6OK', 'L7OK', 'L7OKC', 'PROCOK']);

// Channel objects are looked up once; `hasSubscribers` is a cheap property read on every publish.
const pickChannel = dc.channel(DIAGNOSTICS_CHANNELS.pick);
const poolEmptyChannel = dc.channel(DIAGNOSTICS_CHANNELS.poolEmpty);
const poolRecoveredChannel = dc.channel(DIAGNOSTICS_CHANNELS.poolRecovered);
const queueLeaveChannel = dc.channel(DIAGNOSTICS_CHANNELS.queueLeave);
const serverAddedChannel = dc.channel(DIAGNOSTICS_CHANNELS.serverAdded);
const serverRemovedChannel = dc.channel(DIAGNOSTICS_CHANNELS.serverRemoved);
const serverStateChannel = dc.channel(DIAGNOSTICS_CHANNELS.serverState);
const checkResultChannel = dc.channel(DIAGNOSTICS_CHANNELS.checkResult);
const discoveryUpdateChannel = dc.channel(DIAGNOSTICS_CHANNELS.discoveryUpdate);
const discoveryErrorChannel = dc.channel(DIAGNOSTICS_CHANNELS.discoveryError);
const connectChannel = dc.tracingChannel<unknown, object>(CONNECT_TRACING_CHANNEL);

/** Publishes on `switchyard:pool:pick` if anyone listens. Call where a lease is granted. */
export function publishPick(pool: object, server: { readonly status: string }, picked: boolean, queuedMs: number): void {
  if (pickChannel.hasSubscribers) pickChannel.publish({ pool, server, picked, queuedMs });
}

/** Publishes on `switchyard:pool:empty` if anyone listens. */
export function publishPoolEmpty(pool: object): void {
  if (poolEmptyChannel.hasSubscribers) poolEmptyChannel.publish({ pool });
}

/** Publishes on `switchyard:pool:recovered` if anyone listens. */
export function publishPoolRecovered(pool: object): void {
  if (poolRecoveredChannel.hasSubscribers) poolRecoveredChannel.publish({ pool });
}

/** Publishes on `switchyard:queue:leave` if anyone listens. */
export function publishQueueLeave(pool: object, reason: 'timeout' | 'abort' | 'closed' | 'no-server', waitedMs: number): void {
  if (queueLeaveChannel.hasSubscribers) queueLeaveChannel.publish({ pool, reason, waitedMs });
}

/** Publishes on `switchyard:server:added` if anyone listens. */
export function publishServerAdded(pool: object, server: { readonly status: string }): void {
  if (serverAddedChannel.hasSubscribers) serverAddedChannel.publish({ pool, server });
}

/** Publishes on `switchyard:server:removed` if anyone listens. */
export function publishServerRemoved(pool: object, server: { readonly status: string }): void {
  if (serverRemovedChannel.hasSubscribers) serverRemovedChannel.publish({ pool, server });
}

/** Publishes on `switchyard:server:state` if anyone listens; `status` is read from the server. */
export function publishServerState(pool: object, server: { readonly status: string }, previousStatus: string, cause: StateCause): void {
  if (serverStateChannel.hasSubscribers) {
    serverStateChannel.publish({ pool, server, previousStatus, status: server.status, cause });
  }
}

/** Publishes on `switchyard:check:result` if anyone listens. */
export function publishCheckResult(pool: object, server: { readonly status: string }, result: CheckResult): void {
  if (checkResultChannel.hasSubscribers) {
    checkResultChannel.publish({ pool, server, result, passed: PASSED.has(result.status) });
  }
}

/** Publishes on `switchyard:discovery:update` if anyone listens. */
export function publishDiscoveryUpdate(
  pool: object,
  added: readonly object[],
  removed: readonly object[],
  updated: readonly object[],
): void {
  if (discoveryUpdateChannel.hasSubscribers) {
    discoveryUpdateChannel.publish({ pool, added, removed, updated });
  }
}

/** Publishes on `switchyard:discovery:error` if anyone listens. */
export function publishDiscoveryError(pool: object, error: unknown): void {
  if (discoveryErrorChannel.hasSubscribers) discoveryErrorChannel.publish({ pool, error });
}

/**
 * Runs an asynchronous connect inside the `switchyard:connect` tracing channel when anyone listens, and
 * plainly otherwise. `context.server` may be set by `fn` once it has picked.
 */
export function traceConnect<T>(context: object, fn: () => Promise<T>): Promise<T> {
  return connectChannel.hasSubscribers ? connectChannel.tracePromise(fn, context) : fn();
}

/** The synchronous form of {@link traceConnect}, for socket factories that must return at once. */
export function traceConnectSync<T>(context: object, fn: () => T): T {
  return connectChannel.hasSubscribers ? connectChannel.traceSync(fn, context) : fn();
}
