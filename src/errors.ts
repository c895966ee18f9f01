/**
 * Every error switchyard throws or rejects with is an {@link LbError} carrying one of these codes.
 * The codes are stable: match on `code`, never on the message.
 */
export const ERROR_CODES = {
  /** An argument or option is missing, of the wrong type or out of range. */
  ERR_LB_INVALID_ARG: 'an argument or option is invalid',
  /** No server of the pool is usable (all down, in maintenance, draining or weight 0). */
  ERR_LB_NO_SERVER: 'no server is available',
  /** Every usable server is at `maxconn` and the caller waited `timeoutQueueMs` in the queue. */
  ERR_LB_QUEUE_TIMEOUT: 'timed out waiting in the queue for a free server',
  /** The queue is full (`maxqueue` on a server chosen by a hash) or the caller could not wait. */
  ERR_LB_QUEUE_FULL: 'the queue is full',
  /** A server name was looked up but the pool has no such server. */
  ERR_LB_UNKNOWN_SERVER: 'no server by that name',
  /** A server with that name is already in the pool. */
  ERR_LB_DUPLICATE_SERVER: 'a server with that name already exists',
  /** The operation is not allowed in the current state (e.g. removing a server with live connections). */
  ERR_LB_INVALID_STATE: 'the operation is not allowed in the current state',
  /** The object was closed or destroyed; it takes no new work. */
  ERR_LB_CLOSED: 'the object is closed',
  /** The caller's AbortSignal fired. */
  ERR_LB_ABORTED: 'the operation was aborted',
  /** Every connection attempt failed and the last one timed out (`timeoutConnectMs`; HAProxy `sC`). */
  ERR_LB_CONNECT_TIMEOUT: 'connecting to a server timed out',
  /** Every connection attempt failed and the last one was refused, reset or failed otherwise (HAProxy `SC`). */
  ERR_LB_CONNECT_FAILED: 'could not connect to a server',
  /** An HAProxy configuration has errors; `details.diagnostics` lists each with file, line and keyword. */
  ERR_LB_CONFIG: 'the HAProxy configuration is invalid',
  /** A listening socket could not be opened (address in use, permission denied…); `cause` is Node's error. */
  ERR_LB_LISTEN: 'could not listen on the address',
  /**
   * A circuit breaker refused the connection: `maxConnections` held or `maxPending` waiting already;
   * `details.limit` says which (`'connections'` or `'pending'`), with `max` and `current`.
   */
  ERR_LB_CIRCUIT_OPEN: 'a circuit breaker refused the connection',
  /** A custom strategy threw, or returned something that is not one of the candidates it was given. */
  ERR_LB_STRATEGY: 'the strategy failed to pick a candidate',
  /** A DNS query of service discovery failed (timeout, SERVFAIL, NXDOMAIN, malformed answer); `details.reason` says which. */
  ERR_LB_RESOLVE: 'name resolution failed',
  /** A request to etcd failed or timed out (`switchyard-lb/etcd`); `details.reason` says which, `cause` holds the client's error. */
  ERR_LB_ETCD: 'a request to etcd failed',
} as const;

/** One of the stable error codes listed in `docs/errors.md`. */
export type LbErrorCode = keyof typeof ERROR_CODES;

const BRAND = Symbol.for('switchyard.LbError');

/** Options of {@link LbError}: the wrapped cause and structured details. */
export interface LbErrorOptions {
  /** The error this one wraps. */
  readonly cause?: unknown;
  /** Structured data about the failure (the offending field, the server name…). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error class of switchyard. Check with {@link LbError.is} (works across two copies of the
 * package) and switch on {@link LbError.code}.
 *
 * @example
 * ```ts
 * try { await balancer.acquire() } catch (err) {
 *   if (LbError.is(err) && err.code === 'ERR_LB_NO_SERVER') serveFromCache()
 * }
 * ```
 */
export class LbError extends Error {
  /** A stable code: see {@link ERROR_CODES}. */
  readonly code: LbErrorCode;
  /** Structured data about the failure. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: LbErrorCode, message: string, options: LbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LbError';
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for an `LbError` from any copy of switchyard loaded in the process. */
  static is(value: unknown): value is LbError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Shorthand for the most common error: a bad argument, naming the field and showing the value. */
export function invalidArg(field: string, expectation: string, received: unknown): LbError {
  return new LbError('ERR_LB_INVALID_ARG', `${field} ${expectation}, got ${describe(received)}`, {
    details: { field, received },
  });
}

/** Renders a received value for an error message: strings quoted, objects summarised, never throws. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return value.toString();
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return 'an object';
}
