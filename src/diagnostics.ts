import dc from 'node:diagnostics_channel';
import type { CheckResult, StateCause } from './health/check-result.js';
import type { Pool } from './pool.js';
import type { Server } from './server.js';

/**
 * Every `diagnostics_channel` switchyard publishes on, by role. Subscribe with Node's
 * `diagnostics_channel.subscribe(name, listener)`; nothing is built or published while a channel
 * has no subscriber.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel'
 * import { DIAGNOSTICS_CHANNELS } from 'switchyard'
 * diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.serverState, (message) => {
 *   const { pool, server, previousStatus, status } = message as ServerStateMessage
 *   console.log(`${pool.name}/${server.name}: ${previousStatus} -> ${status}`)
 * })
 * ```
 */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  /** A lease was granted on a server ({@link PickMessage}). */
  pick: 'switchyard:pool:pick',
  /** The pool's last usable server went away ({@link PoolMessage}). */
  poolEmpty: 'switchyard:pool:empty',
  /** A server became usable again after `poolEmpty` ({@link PoolMessage}). */
  poolRecovered: 'switchyard:pool:recovered',
  /** A queued caller gave up: timeout, abort, close ({@link QueueLeaveMessage}). */
  queueLeave: 'switchyard:queue:leave',
  /** A server joined a pool ({@link ServerMessage}). */
  serverAdded: 'switchyard:server:added',
  /** A server left a pool ({@link ServerMessage}). */
  serverRemoved: 'switchyard:server:removed',
  /** A server's displayed status (`UP`, `DOWN 1/2`, `MAINT`…) changed ({@link ServerStateMessage}). */
  serverState: 'switchyard:server:state',
  /** An active health check finished ({@link CheckResultMessage}). */
  checkResult: 'switchyard:check:result',
  /** A discovery source changed the membership of a pool ({@link DiscoveryUpdateMessage}). */
  discoveryUpdate: 'switchyard:discovery:update',
  /** A discovery source failed; the pool keeps its last good list ({@link DiscoveryErrorMessage}). */
  discoveryError: 'switchyard:discovery:error',
} as const);

/**
 * The name of the tracing channel around `connect` (pick + dial): Node derives
 * `tracing:switchyard:connect:start|end|asyncStart|asyncEnd|error` from it. The context is a {@link ConnectContext}.
 */
export const CONNECT_TRACING_CHANNEL = 'switchyard:connect';

/** Message of {@link DIAGNOSTICS_CHANNELS}`.pick`. */
export interface PickMessage {
  readonly pool: Pool;
  readonly server: Server;
  /** True when the strategy chose the server; false when a queued caller was given a freed slot. */
  readonly picked: boolean;
  /** Time the caller spent in the queue, ms (0 when served at once). */
  readonly queuedMs: number;
}

/** Message of {@link DIAGNOSTICS_CHANNELS}`.poolEmpty` and `.poolRecovered`. */
export interface PoolMessage {
  readonly pool: Pool;
}

/** Message of {@link DIAGNOSTICS_CHANNELS}`.queueLeave`. */
export interface QueueLeaveMessage {
  readonly pool: Pool;
  readonly reason: 'timeout' | 'abort' | 'closed' | 'no-server';
  /** Time spent in the queue, ms. */
  readonly waitedMs: number;
}

/** Message of {@link DIAGNOSTICS_CHANNELS}`.serverAdded` and `.serverRemoved`. */
export interface ServerMessage {
  readonly pool: Pool;
  readonly server: Server;
}

/** Message of {@link DIAGNOSTICS_CHANNELS}`.serverState`. */
export interface ServerStateMessage {
  readonly pool: Pool;
  readonly server: Server;
  readonly previousStatus: string;
  /** The new status, as `server.status` and HAProxy's `show stat` print it. */
  readonly status: string;
  readonly cause: StateCause;
}

/** Message of {@link DIAGNOSTICS_CHANNELS}`.checkResult`. */
export interface CheckResultMessage {
  readonly pool: Pool;
  readonly server: Server;
  readonly result: CheckResult;
  /** True when the check passed (`L4OK`, `L6OK`, `L7OK`, `L7OKC`, `PROCOK`). */
  readonly passed: boolean;
}

/** Message of {@link DIAGNOSTICS_CHANNELS}`.discoveryUpdate`. */
export interface DiscoveryUpdateMessage {
  readonly pool: Pool;
  readonly added: readonly Server[];
  readonly removed: readonly Server[];
  /** Servers kept whose weight or limits changed. */
  readonly updated: readonly Server[];
}

/** Message of {@link DIAGNOSTICS_CHANNELS}`.discoveryError`. */
export interface DiscoveryErrorMessage {
  readonly pool: Pool;
  readonly error: unknown;
}

/**
 * Context object of the {@link CONNECT_TRACING_CHANNEL} tracing channel, one per `connect()` call (retries
 * included). The dialer fills `server` and `attempts` as it goes; Node adds `result` (the socket) or `error`
 * when the connect settles.
 */
export interface ConnectContext {
  readonly pool: Pool;
  /** The client address used for hashing, if any. */
  readonly clientAddress: string | undefined;
  /** The server of the latest attempt; `undefined` until one is picked. */
  server: Server | undefined;
  /** Connection attempts made so far, retries included. */
  attempts: number;
}

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
const connectChannel = dc.tracingChannel<unknown, ConnectContext>(CONNECT_TRACING_CHANNEL);

/** Publishes on `switchyard:pool:pick` if anyone listens. Call where a lease is granted. */
export function publishPick(pool: Pool, server: Server, picked: boolean, queuedMs: number): void {
  if (pickChannel.hasSubscribers) pickChannel.publish({ pool, server, picked, queuedMs } satisfies PickMessage);
}

/** Publishes on `switchyard:pool:empty` if anyone listens. */
export function publishPoolEmpty(pool: Pool): void {
  if (poolEmptyChannel.hasSubscribers) poolEmptyChannel.publish({ pool } satisfies PoolMessage);
}

/** Publishes on `switchyard:pool:recovered` if anyone listens. */
export function publishPoolRecovered(pool: Pool): void {
  if (poolRecoveredChannel.hasSubscribers) poolRecoveredChannel.publish({ pool } satisfies PoolMessage);
}

/** Publishes on `switchyard:queue:leave` if anyone listens. */
export function publishQueueLeave(pool: Pool, reason: QueueLeaveMessage['reason'], waitedMs: number): void {
  if (queueLeaveChannel.hasSubscribers) queueLeaveChannel.publish({ pool, reason, waitedMs } satisfies QueueLeaveMessage);
}

/** Publishes on `switchyard:server:added` if anyone listens. */
export function publishServerAdded(pool: Pool, server: Server): void {
  if (serverAddedChannel.hasSubscribers) serverAddedChannel.publish({ pool, server } satisfies ServerMessage);
}

/** Publishes on `switchyard:server:removed` if anyone listens. */
export function publishServerRemoved(pool: Pool, server: Server): void {
  if (serverRemovedChannel.hasSubscribers) serverRemovedChannel.publish({ pool, server } satisfies ServerMessage);
}

/** Publishes on `switchyard:server:state` if anyone listens; `status` is read from the server. */
export function publishServerState(pool: Pool, server: Server, previousStatus: string, cause: StateCause): void {
  if (serverStateChannel.hasSubscribers) {
    serverStateChannel.publish({ pool, server, previousStatus, status: server.status, cause } satisfies ServerStateMessage);
  }
}

/** Publishes on `switchyard:check:result` if anyone listens. */
export function publishCheckResult(pool: Pool, server: Server, result: CheckResult): void {
  if (checkResultChannel.hasSubscribers) {
    checkResultChannel.publish({ pool, server, result, passed: PASSED.has(result.status) } satisfies CheckResultMessage);
  }
}

/** Publishes on `switchyard:discovery:update` if anyone listens. */
export function publishDiscoveryUpdate(
  pool: Pool,
  added: readonly Server[],
  removed: readonly Server[],
  updated: readonly Server[],
): void {
  if (discoveryUpdateChannel.hasSubscribers) {
    discoveryUpdateChannel.publish({ pool, added, removed, updated } satisfies DiscoveryUpdateMessage);
  }
}

/** Publishes on `switchyard:discovery:error` if anyone listens. */
export function publishDiscoveryError(pool: Pool, error: unknown): void {
  if (discoveryErrorChannel.hasSubscribers) discoveryErrorChannel.publish({ pool, error } satisfies DiscoveryErrorMessage);
}

/**
 * Runs an asynchronous connect inside the `switchyard:connect` tracing channel when anyone listens, and
 * plainly otherwise. `context.server` may be set by `fn` once it has picked.
 */
export function traceConnect<T>(context: ConnectContext, fn: () => Promise<T>): Promise<T> {
  return connectChannel.hasSubscribers ? connectChannel.tracePromise(fn, context) : fn();
}

/** The synchronous form of {@link traceConnect}, for socket factories that must return at once. */
export function traceConnectSync<T>(context: ConnectContext, fn: () => T): T {
  return connectChannel.hasSubscribers ? connectChannel.traceSync(fn, context) : fn();
}
