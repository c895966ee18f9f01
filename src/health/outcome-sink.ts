import type { Server } from '../server.js';
import { errorCode } from './probes/socket-errors.js';

/**
 * How one connection attempt to a server ended, as whatever dialed it saw it: established (`success`), refused,
 * reset while connecting, timed out while connecting, or another error while connecting. Errors after the
 * connection was established are not connection outcomes.
 */
export type ConnectOutcome = 'success' | 'refused' | 'reset' | 'timeout' | 'error';

/** Every {@link ConnectOutcome}, for validation. */
export const CONNECT_OUTCOMES: readonly ConnectOutcome[] = Object.freeze(['success', 'refused', 'reset', 'timeout', 'error']);

/**
 * The narrow interface dialers report to: a proxy or `balancer.connect()` calls `report` once per connection
 * attempt — every retry included — and need know nothing else about health. {@link PassiveObserver} is one.
 *
 * @example
 * ```ts
 * const socket = net.connect(server.port, server.host)
 * socket.once('connect', () => sink.report(server, 'success'))
 * socket.once('error', (err) => { if (socket.connecting) sink.report(server, connectOutcomeOf(err)) })
 * ```
 */
export interface OutcomeSink {
  report(server: Server, outcome: ConnectOutcome): void;
}

/** Classifies an error raised while connecting: `refused`, `reset`, `timeout` or `error`. */
export function connectOutcomeOf(err: unknown): Exclude<ConnectOutcome, 'success'> {
  const code = errorCode(err);
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET') return 'reset';
  if (code === 'ETIMEDOUT' || (err as { name?: unknown } | null)?.name === 'TimeoutError') return 'timeout';
  return 'error';
}
