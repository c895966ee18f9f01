import type { Pool } from './pool.js';
import type { Server } from './server.js';
import type { CheckResult, StateCause } from './state/check-result.js';

/*
 * The messages of switchyard's diagnostics channels (DIAGNOSTICS_CHANNELS in diagnostics.ts), as subscribers
 * receive them. Declared apart from the publishers, which sit below the Pool they report on.
 */

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
  /** Servers kept whose weight, limits, tags or hold changed. */
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

