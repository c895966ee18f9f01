import { EventEmitter } from 'eventemitter3';
import type { CircuitGate, CircuitLimit } from '../admission.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';

/**
 * Options of {@link CircuitBreaker}: Envoy's cluster `circuit_breakers.thresholds` (priority DEFAULT) for TCP.
 * Every limit is off unless set (Envoy's defaults are 1024, 1024 and 3): see docs/resilience.md for why.
 */
export interface CircuitBreakerOptions {
  /**
   * Most connections the balancer holds at once (its leases: connecting or connected). One more is refused at
   * once with `ERR_LB_CIRCUIT_OPEN` (`limit: 'connections'`), and queued callers wait until one is released
   * (Envoy `max_connections`, `upstream_cx_overflow`). @defaultValue Infinity
   */
  readonly maxConnections?: number;
  /**
   * Most callers waiting at once in the balancer's queues (every server at `maxconn`). One more is refused at once
   * with `ERR_LB_CIRCUIT_OPEN` (`limit: 'pending'`) instead of queueing (Envoy `max_pending_requests`,
   * `upstream_rq_pending_overflow`). @defaultValue Infinity
   */
  readonly maxPending?: number;
  /**
   * Most retries under way at once across every dial of the balancer (`balancer.connect()`, the adapters,
   * `TcpProxy`); a retry over it is refused and the dial ends as its last attempt did (Envoy `max_retries`,
   * `upstream_rq_retry_overflow`). For a limit that follows the load, use a `RetryBudget`. @defaultValue Infinity
   */
  readonly maxRetries?: number;
}

/** Default values of {@link CircuitBreakerOptions}: no limit. */
export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  maxConnections: Infinity,
  maxPending: Infinity,
  maxRetries: Infinity,
});

/** Events of a {@link CircuitBreaker}. */
export interface CircuitBreakerEvents {
  /** A caller or a retry was refused because of `limit`. */
  'circuit:overflow': [limit: CircuitLimit];
}

/** Plain-JSON counters of a {@link CircuitBreaker}. */
export interface CircuitBreakerStats {
  readonly maxConnections: number;
  readonly maxPending: number;
  readonly maxRetries: number;
  /** Retries under way now. */
  readonly activeRetries: number;
  /** Callers and retries refused, by limit (Envoy `upstream_cx_overflow`, `upstream_rq_pending_overflow`, `upstream_rq_retry_overflow`). */
  readonly overflows: { readonly connections: number; readonly pending: number; readonly retries: number };
}

const KEYS = ['maxConnections', 'maxPending', 'maxRetries'] as const;

/**
 * Envoy's circuit breakers for one balancer: limits on the connections it holds, the callers waiting in its queues
 * and the retries under way. Give it to the balancer (`new Balancer(pool, { circuitBreaker })`): the balancer
 * compares its own counts with the limits when it places a connection (O(1), nothing allocated), and its dialers ask
 * it before each retry. A refused caller gets `ERR_LB_CIRCUIT_OPEN` at once (a `TcpProxy` closes the client: `SC`,
 * or `SQ` for the pending limit); a refused retry ends the dial as its last attempt did (`SC`/`sC`).
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ maxConnections: 200, maxPending: 50, maxRetries: 10 })
 * const balancer = new Balancer(pool, { circuitBreaker: breaker })
 * breaker.on('circuit:overflow', (limit) => metrics.increment(`lb.overflow.${limit}`))
 * ```
 */
export class CircuitBreaker extends EventEmitter<CircuitBreakerEvents> implements CircuitGate {
  #maxConnections: number;
  #maxPending: number;
  #maxRetries: number;
  #activeRetries = 0;
  #overflowConnections = 0;
  #overflowPending = 0;
  #overflowRetries = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    const o = resolve(options, CIRCUIT_BREAKER_DEFAULTS);
    this.#maxConnections = o.maxConnections;
    this.#maxPending = o.maxPending;
    this.#maxRetries = o.maxRetries;
  }

  get maxConnections(): number {
    return this.#maxConnections;
  }

  get maxPending(): number {
    return this.#maxPending;
  }

  get maxRetries(): number {
    return this.#maxRetries;
  }

  /** Retries under way now (admitted and not ended). */
  get activeRetries(): number {
    return this.#activeRetries;
  }

  /**
   * Changes limits at runtime (a control plane's new thresholds): the options given replace the current ones, those
   * absent are kept. Connections and callers already admitted stay.
   */
  update(options: CircuitBreakerOptions): void {
    const o = resolve(options, { maxConnections: this.#maxConnections, maxPending: this.#maxPending, maxRetries: this.#maxRetries });
    this.#maxConnections = o.maxConnections;
    this.#maxPending = o.maxPending;
    this.#maxRetries = o.maxRetries;
  }

  /** @internal Called by the balancer when it refuses a caller. */
  overflowed(limit: CircuitLimit): void {
    if (limit === 'connections') this.#overflowConnections++;
    else if (limit === 'pending') this.#overflowPending++;
    else this.#overflowRetries++;
    this.emit('circuit:overflow', limit);
  }

  /** @internal Asked by a dialer before a retry. */
  tryRetry(): boolean {
    if (this.#activeRetries >= this.#maxRetries) {
      this.overflowed('retries');
      return false;
    }
    this.#activeRetries++;
    return true;
  }

  /** @internal A retry admitted by {@link CircuitBreaker.tryRetry} ended. */
  retryEnded(): void {
    if (this.#activeRetries > 0) this.#activeRetries--;
  }

  stats(): CircuitBreakerStats {
    return {
      maxConnections: this.#maxConnections,
      maxPending: this.#maxPending,
      maxRetries: this.#maxRetries,
      activeRetries: this.#activeRetries,
      overflows: { connections: this.#overflowConnections, pending: this.#overflowPending, retries: this.#overflowRetries },
    };
  }
}

function resolve(options: CircuitBreakerOptions, base: Required<CircuitBreakerOptions>): Required<CircuitBreakerOptions> {
  const o = v.plainObject('circuit breaker options', options);
  v.knownKeys('circuit breaker options', o, KEYS);
  return {
    maxConnections: limit('maxConnections', o['maxConnections'] ?? base.maxConnections),
    maxPending: limit('maxPending', o['maxPending'] ?? base.maxPending),
    maxRetries: limit('maxRetries', o['maxRetries'] ?? base.maxRetries),
  };
}

function limit(field: string, value: unknown): number {
  if (value === Infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidArg(field, 'must be an integer of 0 or more, or Infinity (no limit)', value);
  }
  return value;
}
