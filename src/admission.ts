import { LbError } from './errors.js';

/** The limit of a circuit breaker that refused something: connections held, callers waiting, retries under way. */
export type CircuitLimit = 'connections' | 'pending' | 'retries';

/**
 * Admits retries: asked by the dialer (`balancer.connect()`, `createConnection()`, the adapters, `TcpProxy`)
 * before each retry of a failed connection attempt. A `RetryBudget`, or a `CircuitBreaker`'s `maxRetries`.
 */
export interface RetryGate {
  /**
   * Asks to start one retry. True: go, and the retry counts as under way until {@link RetryGate.retryEnded};
   * false: refused (counted by the gate), the dial ends as its last attempt did.
   */
  tryRetry(): boolean;
  /** A retry this gate admitted has ended: its attempt connected, failed, or the dial was cancelled. */
  retryEnded(): void;
}

/**
 * What the {@link Balancer} asks of a circuit breaker (`BalancerOptions.circuitBreaker`, a `CircuitBreaker`): the
 * connection and pending limits it compares its own counts with when it places a connection, and where it reports
 * a refusal. Also a {@link RetryGate} for its retry limit, asked by the dialers of that balancer.
 */
export interface CircuitGate extends RetryGate {
  /** Most connections (leases) held at once; `Infinity` for none. */
  readonly maxConnections: number;
  /** Most callers waiting in the queues at once; `Infinity` for none. */
  readonly maxPending: number;
  /** The balancer refused a caller because of `limit` (counted, announced). */
  overflowed(limit: CircuitLimit): void;
}

/** @internal The error of a caller refused by a circuit breaker. */
export function circuitOpen(pool: string, limit: 'connections' | 'pending', max: number, current: number): LbError {
  const what = limit === 'connections' ? `${current} connections are held (maxConnections ${max})` : `${current} callers are waiting (maxPending ${max})`;
  return new LbError('ERR_LB_CIRCUIT_OPEN', `the circuit breaker of pool ${pool} is open: ${what}`, {
    details: { pool, limit, max, current },
  });
}
