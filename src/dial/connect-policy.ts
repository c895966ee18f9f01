import type { RetryGate } from '../admission.js';
import type { Clock } from '../clock.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { LeaseSource } from '../lease.js';
import type { OutcomeSink } from '../outcome.js';
import { retryBudgetOption } from './retry-admission.js';

/**
 * How to reach a server: HAProxy's `timeout connect`, `retries`, `option redispatch` and `timeout queue`.
 * Shared by {@link TcpProxy} and `balancer.connect()`.
 */
export interface ConnectPolicyOptions {
  /**
   * Time allowed for one connection attempt, in ms (HAProxy `timeout connect`; HAProxy's default is none).
   * `Infinity` waits as long as the operating system does. @defaultValue 5000
   */
  readonly timeoutConnectMs?: number;
  /**
   * Extra attempts after a failed one: `retries: 3` makes up to 4 attempts (HAProxy 2.6.x and later). After a
   * refused or reset attempt that will be retried on the same server, the next one waits
   * `min(timeoutConnectMs, 1000)` ms (HAProxy's turn-around); after a connect timeout it starts at once.
   * @defaultValue 3
   */
  readonly retries?: number;
  /**
   * Retry on another server (HAProxy `option redispatch [interval]`): `true` (= `-1`) on the last retry,
   * `P > 0` on every P-th retry, `-N` on the N-th retry from the end, `false` or `0` never. When enabled, a
   * retry always moves to another server if the failed one is no longer usable, or if the strategy is not a
   * hash and more than one active server is usable (HAProxy 2.6.x `stream_choose_redispatch()`).
   * Every server that failed for this connection is avoided while another can serve.
   * @defaultValue false
   */
  readonly redispatch?: boolean | number;
  /** Longest wait in the balancer's queue when every server is at `maxconn`, in ms. @defaultValue the balancer's `timeoutQueueMs` */
  readonly timeoutQueueMs?: number;
  /** Receives the outcome of every connection attempt (a `PassiveObserver`, a metrics sink). @defaultValue none */
  readonly observer?: OutcomeSink;
  /**
   * Asked before each retry, as the balancer's circuit breaker is (a `RetryBudget`: retries at most a share of the
   * connections under way). A refused retry ends the dial as its last attempt did, with `details.retryRefused`.
   * @defaultValue none (every retry allowed by `retries`)
   */
  readonly retryBudget?: RetryGate;
  /** Source of time for connect timeouts and turn-around delays. @defaultValue the pool's clock */
  readonly clock?: Clock;
}

/** Default values of {@link ConnectPolicyOptions}. */
export const CONNECT_DEFAULTS = Object.freeze({
  timeoutConnectMs: 5000,
  retries: 3,
  redispatch: false as boolean | number,
});

/** The keys of {@link ConnectPolicyOptions}, for option validation. */
export const CONNECT_POLICY_KEYS = ['timeoutConnectMs', 'retries', 'redispatch', 'timeoutQueueMs', 'observer', 'clock', 'retryBudget'] as const;

/** @internal A validated, frozen connect policy. */
export interface ConnectPolicy {
  readonly timeoutConnectMs: number;
  readonly retries: number;
  /** 0 = off, -N = N-th retry from the end, P = every P-th retry. */
  readonly redispatchInterval: number;
  readonly turnAroundMs: number;
  readonly timeoutQueueMs: number | undefined;
  readonly observer: OutcomeSink | undefined;
  readonly clock: Clock;
  readonly retryBudget: RetryGate | undefined;
}

/** @internal Validates the policy part of an options object (the caller checks for unknown keys). */
export function resolveConnectPolicy(o: Record<string, unknown>, balancer: LeaseSource): ConnectPolicy {
  const timeoutConnectMs = v.durationMs('timeoutConnectMs', o['timeoutConnectMs'] ?? CONNECT_DEFAULTS.timeoutConnectMs, {
    allowInfinite: true,
    allowZero: false,
  });
  const retries = v.integerInRange('retries', o['retries'] ?? CONNECT_DEFAULTS.retries, 0, 1000);
  const r = o['redispatch'] ?? CONNECT_DEFAULTS.redispatch;
  let redispatchInterval: number;
  if (r === true) redispatchInterval = -1;
  else if (r === false) redispatchInterval = 0;
  else if (typeof r === 'number' && Number.isInteger(r) && r >= -1000 && r <= 1000) redispatchInterval = r;
  else throw invalidArg('redispatch', 'must be a boolean or an integer from -1000 to 1000', r);
  const q = o['timeoutQueueMs'];
  const timeoutQueueMs = q === undefined ? undefined : v.durationMs('timeoutQueueMs', q, { allowInfinite: true });
  const observer = o['observer'];
  if (observer !== undefined && (typeof observer !== 'object' || observer === null || typeof (observer as OutcomeSink).reportOutcome !== 'function')) {
    throw invalidArg('observer', 'must have a reportOutcome(server, outcome) method', observer);
  }
  const clock = o['clock'] ?? balancer.pool.clock;
  if (typeof clock !== 'object' || clock === null || typeof (clock as Clock).setTimeout !== 'function' || typeof (clock as Clock).now !== 'function') {
    throw invalidArg('clock', 'must be a Clock with now() and setTimeout()', clock);
  }
  return Object.freeze({
    retryBudget: retryBudgetOption(o['retryBudget']),
    timeoutConnectMs,
    retries,
    redispatchInterval,
    turnAroundMs: Math.min(timeoutConnectMs, 1000),
    timeoutQueueMs,
    observer: observer as OutcomeSink | undefined,
    clock: clock as Clock,
  });
}
