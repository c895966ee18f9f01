import type { CircuitGate } from './admission.js';
import type { Clock } from './clock.js';
import { LbError, describe, invalidArg } from './errors.js';
import * as v from './internal/validate.js';
import type { AcquireOptions, Closable, Lease, LeaseRequest, QueuePositions } from './lease.js';
import type { Pool } from './pool.js';
import type { Server } from './server.js';
import { STRATEGY_NAMES, type StrategySpec, createStrategy } from './strategies/index.js';
import { normaliseExclude } from './strategies/internal/pick-context.js';
import type { Strategy } from './strategies/strategy.js';

/** Options of {@link Balancer}. */
export interface BalancerOptions {
  /**
   * The algorithm: a built-in name (`'roundrobin'`, `'static-rr'`, `'leastconn'`, `'first'`, `'source'`,
   * `'random'`, `'swrr'`, `'p2c'`), a built-in with options (`{ name: 'source', hashType: 'consistent' }`),
   * your own {@link Strategy} object, or a factory of them (`() => new MyStrategy()`: with priority tiers or
   * weighted localities each group of servers gets its own instance; see {@link Strategy}). @defaultValue 'roundrobin'
   */
  readonly strategy?: StrategySpec | Strategy | (() => Strategy);
  /**
   * How long a caller may wait in the queue when every usable server is at `maxconn`, in ms
   * (HAProxy `timeout queue`; HAProxy's default is `timeout connect`, which is unset by default).
   * `Infinity` waits forever. @defaultValue 10000
   */
  readonly timeoutQueueMs?: number;
  /** Source of time for queue timeouts. @defaultValue the pool's clock */
  readonly clock?: Clock;
  /** Uniform random numbers in [0, 1) for the random strategies. @defaultValue Math.random */
  readonly random?: () => number;
  /**
   * Limits on this balancer's connections, waiting callers and retries (Envoy's cluster circuit breakers): a
   * `CircuitBreaker`. A caller over `maxConnections` or `maxPending` is refused at once with `ERR_LB_CIRCUIT_OPEN`;
   * the dialers ask it before each retry. @defaultValue none (no limit)
   */
  readonly circuitBreaker?: CircuitGate;
}

/** Default values of {@link BalancerOptions}. */
export const BALANCER_DEFAULTS = Object.freeze({
  strategy: 'roundrobin' as const,
  timeoutQueueMs: 10_000,
});

/** Events of a {@link Balancer}. */
export interface BalancerEvents {
  /** A lease was granted. `queuedMs` is 0 when it was granted without waiting. */
  'lease:acquire': [lease: Lease];
  /** A lease was released. */
  'lease:release': [lease: Lease];
  /** A caller started waiting: `where` is the balancer's queue or a server's own queue. */
  'queue:enter': [where: 'balancer' | Server];
  /** A queued caller gave up: timeout, abort, or close. */
  'queue:leave': [reason: 'timeout' | 'abort' | 'closed' | 'no-server'];
}

/** Plain-JSON counters of a balancer. */
export interface BalancerStats {
  readonly strategy: string;
  readonly activeLeases: number;
  readonly totalLeases: number;
  /** Callers waiting, in the balancer's queue and in server queues. */
  readonly queued: number;
  /** Highest `queued` seen. */
  readonly maxQueued: number;
  /** Callers waiting in the balancer's own queue, server queues aside (HAProxy's backend `qcur`). */
  readonly balancerQueued: number;
  /** Highest `balancerQueued` seen (HAProxy's backend `qmax`). */
  readonly maxBalancerQueued: number;
  readonly queueTimeouts: number;
  /** Picks made in a tier in panic (Envoy's `lb_healthy_panic`). */
  readonly panicPicks: number;
}

const OPTION_KEYS = ['strategy', 'timeoutQueueMs', 'clock', 'random', 'circuitBreaker'] as const;
const ACQUIRE_KEYS = ['clientAddress', 'key', 'exclude', 'signal', 'bindTo', 'timeoutQueueMs'] as const;

/** @internal Validated {@link BalancerOptions}. */
export interface ResolvedBalancerOptions {
  readonly strategy: Strategy;
  /** Makes the strategy of another group (a name or a factory was given); undefined for a strategy object. */
  readonly factory: (() => Strategy) | undefined;
  readonly timeoutQueueMs: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly circuitBreaker: CircuitGate | undefined;
}

/** @internal Validates the options of a Balancer over `pool`, once, in its constructor. */
export function resolveBalancerOptions(pool: Pool, options: BalancerOptions): ResolvedBalancerOptions {
  if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).activeUsable !== 'object') {
    throw invalidArg('pool', 'must be a Pool', pool);
  }
  const o = v.plainObject('balancer options', options);
  v.knownKeys('balancer options', o, OPTION_KEYS);
  const random = o['random'] ?? Math.random;
  if (typeof random !== 'function') throw invalidArg('random', 'must be a function returning numbers in [0, 1)', random);
  const { strategy, factory } = resolveStrategy(o['strategy'] ?? BALANCER_DEFAULTS.strategy);
  return {
    strategy,
    factory,
    timeoutQueueMs: v.durationMs('timeoutQueueMs', o['timeoutQueueMs'] ?? BALANCER_DEFAULTS.timeoutQueueMs, { allowInfinite: true }),
    clock: (o['clock'] as Clock | undefined) ?? pool.clock,
    random: random as () => number,
    circuitBreaker: circuitGate(o['circuitBreaker']),
  };
}

function circuitGate(value: unknown): CircuitGate | undefined {
  if (value === undefined) return undefined;
  const g = value as Partial<CircuitGate> | null;
  if (
    typeof g !== 'object' || g === null || typeof g.maxConnections !== 'number' || typeof g.maxPending !== 'number' ||
    typeof g.overflowed !== 'function' || typeof g.tryRetry !== 'function' || typeof g.retryEnded !== 'function'
  ) {
    throw invalidArg('circuitBreaker', 'must be a CircuitBreaker (maxConnections, maxPending, overflowed(), tryRetry(), retryEnded())', value);
  }
  return value as CircuitGate;
}

/** @internal Validates the options of one public `acquire()`/`tryAcquire()` call into a {@link LeaseRequest}. */
export function validateAcquire(options: AcquireOptions): LeaseRequest {
  const o = v.plainObject('acquire options', options);
  v.knownKeys('acquire options', o, ACQUIRE_KEYS);
  const { clientAddress, key, signal } = v.affinity(o);
  if (signal?.aborted) throw new LbError('ERR_LB_ABORTED', 'acquire was aborted before it started', { cause: signal.reason });
  const bindTo = o['bindTo'];
  if (bindTo !== undefined && (typeof bindTo !== 'object' || bindTo === null || typeof (bindTo as Closable).once !== 'function')) {
    throw invalidArg('bindTo', "must have a once('close', …) method, such as a net.Socket", bindTo);
  }
  const timeoutQueueMs =
    o['timeoutQueueMs'] === undefined ? undefined : v.durationMs('timeoutQueueMs', o['timeoutQueueMs'], { allowInfinite: true });
  return {
    clientAddress,
    key,
    exclude: normaliseExclude(o['exclude']),
    previous: undefined,
    signal,
    bindTo: bindTo as Closable | undefined,
    timeoutQueueMs,
  };
}

/** @internal */
export function closedError(): LbError {
  return new LbError('ERR_LB_CLOSED', 'the balancer is closed');
}

/** @internal `ERR_LB_QUEUE_TIMEOUT` after `waited` ms in the balancer's queue, or in the queue of server `server`. */
export function queueTimeoutError(pool: string, waited: number, server: string | undefined, positions: QueuePositions): LbError {
  const where = server === undefined ? '' : ` in the queue of server ${server}`;
  return new LbError('ERR_LB_QUEUE_TIMEOUT', `no server of pool ${pool} became free within timeoutQueueMs (waited ${waited} ms${where})`, {
    details: { pool, waitedMs: waited, server, queuePositions: positions },
  });
}

/** @internal */
/** @internal The error a caller gets when it leaves the queue for `reason` after `waited` ms (positions: where it waited). */
export function queueLeaveError(
  pool: Pool, reason: 'timeout' | 'abort' | 'closed' | 'no-server', waited: number, server: string | undefined, positions: QueuePositions, cause?: unknown,
): LbError {
  if (reason === 'timeout') return queueTimeoutError(pool.name, waited, server, positions);
  if (reason === 'abort') return new LbError('ERR_LB_ABORTED', `acquire was aborted after ${waited} ms in the queue`, { cause });
  if (reason === 'closed') return new LbError('ERR_LB_CLOSED', 'the balancer was closed while waiting in the queue');
  return noServer(pool);
}

export function noServer(pool: Pool): LbError {
  return new LbError('ERR_LB_NO_SERVER', `pool ${JSON.stringify(pool.name)} has no usable server`, { details: { pool: pool.name } });
}

/**
 * @internal A strategy that threw (`what` is `'threw'`, `value` the error) or returned something that is not one
 * of its candidates (`what` says why, `value` is what it returned).
 */
export function strategyError(strategy: Strategy, what: string, value: unknown): LbError {
  const name = JSON.stringify(String(strategy.name));
  if (what === 'threw') {
    return new LbError('ERR_LB_STRATEGY', `strategy ${name} threw in pick(): ${value instanceof Error ? value.message : String(value)}`, {
      cause: value,
      details: { strategy: strategy.name },
    });
  }
  return new LbError('ERR_LB_STRATEGY', `strategy ${name} returned ${describeReturn(value)} from pick(), not one of its candidates: ${what}`, {
    details: { strategy: strategy.name, reason: what },
  });
}

function describeReturn(value: unknown): string {
  if (typeof value === 'object' && value !== null && typeof (value as Server).name === 'string' && typeof (value as Server).snapshot === 'function') {
    return `server ${JSON.stringify((value as Server).name)}`;
  }
  return describe(value);
}

/**
 * The strategy of a balancer, and a factory for the other groups of a tiered pool: from a name or a built-in with
 * options (the same again), from a factory (called again), or a Strategy object (no factory: see StrategyGroups).
 */
function resolveStrategy(value: unknown): { strategy: Strategy; factory: (() => Strategy) | undefined } {
  if (typeof value === 'function') {
    const make = value as () => unknown;
    const factory = (): Strategy => {
      const s = make();
      if (typeof s !== 'object' || s === null || typeof (s as Strategy).pick !== 'function') throw invalidArg('strategy', 'factory must return a Strategy object', s);
      return s as Strategy;
    };
    return { strategy: factory(), factory };
  }
  const spec = (): { strategy: Strategy; factory: () => Strategy } => ({
    strategy: createStrategy(value as StrategySpec),
    factory: () => createStrategy(value as StrategySpec),
  });
  if (typeof value === 'string') return spec();
  const o = v.plainObject('strategy', value);
  if (typeof o['pick'] === 'function') return { strategy: value as Strategy, factory: undefined };
  // A built-in by name with options ({ name: 'source', hashType }), or an object meant as a Strategy without pick.
  if (typeof o['name'] === 'string' && (STRATEGY_NAMES as readonly string[]).includes(o['name'])) return spec();
  throw invalidArg('strategy.pick', 'must be a function: a Strategy object needs pick(candidates, context)', o['pick']);
}
