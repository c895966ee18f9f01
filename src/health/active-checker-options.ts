import type { Clock } from '../clock.js';
import * as v from '../internal/validate.js';
import type { Probe } from './probe.js';

/** Per-server check settings: HAProxy's `server … inter/fastinter/downinter/port/addr`. */
export interface ServerCheckOptions {
  /** Interval while fully up, ms. @defaultValue the checker's `interMs` */
  readonly interMs?: number;
  /** Interval while in transition, ms. @defaultValue the checker's `fastinterMs` */
  readonly fastinterMs?: number;
  /** Interval while fully down, ms. @defaultValue the checker's `downinterMs` */
  readonly downinterMs?: number;
  /** Port to check instead of the server's. @defaultValue the checker's `port` */
  readonly port?: number;
  /** Address to check instead of the server's. @defaultValue the checker's `addr` */
  readonly addr?: string;
}

/** Options of {@link ActiveChecker}. Times are milliseconds (HAProxy's unit without suffix: `inter 4` is 4 ms). */
export interface ActiveCheckerOptions extends ServerCheckOptions {
  /** The check to run. @defaultValue tcpConnectProbe() (HAProxy's plain `check`) */
  readonly probe?: Probe;
  /** Interval while fully up (HAProxy `inter`). @defaultValue 2000 */
  readonly interMs?: number;
  /** Interval while in transition, `UP 1/3` at start included (HAProxy `fastinter`). @defaultValue interMs */
  readonly fastinterMs?: number;
  /** Interval while fully down (HAProxy `downinter`). @defaultValue interMs */
  readonly downinterMs?: number;
  /**
   * Exchange timeout once connected (HAProxy `timeout check`). Unset, the whole check must finish within
   * `interMs`; set, connecting is bounded by `min(interMs, timeoutConnectMs)` and the exchange by this.
   * @defaultValue undefined
   */
  readonly timeoutCheckMs?: number;
  /** Connect timeout used with `timeoutCheckMs` (HAProxy `timeout connect`). @defaultValue undefined (interMs alone) */
  readonly timeoutConnectMs?: number;
  /** Random jitter of each interval, ± this percent, 0–50 (HAProxy `spread-checks`). @defaultValue 0 */
  readonly spreadChecks?: number;
  /** Cap of the interval the first checks are spread over, 0 = none (HAProxy `max-spread-checks`). @defaultValue 0 */
  readonly maxSpreadChecksMs?: number;
  /** Most probes running at once; the others wait their turn (HAProxy 2.7 `tune.max-checks-per-thread`). @defaultValue 100 */
  readonly concurrency?: number;
  /**
   * Settings of particular servers, by name. Each must name a server of the pool with `check: true` (else
   * `ERR_LB_UNKNOWN_SERVER` / `ERR_LB_INVALID_ARG`: an override that never applies is a mistake). @defaultValue {}
   */
  readonly servers?: Readonly<Record<string, ServerCheckOptions>>;
  /** Start checking at once. @defaultValue true */
  readonly autoStart?: boolean;
  /** Source of time. @defaultValue the pool's clock */
  readonly clock?: Clock;
  /** Uniform random numbers in [0, 1) for `spreadChecks`. @defaultValue Math.random */
  readonly random?: () => number;
}

/** Default values of {@link ActiveCheckerOptions}. */
export const ACTIVE_CHECKER_DEFAULTS = Object.freeze({
  interMs: 2000,
  spreadChecks: 0,
  maxSpreadChecksMs: 0,
  concurrency: 100,
  autoStart: true,
});

/** @internal The keys of {@link ActiveCheckerOptions}, for option validation. */
export const ACTIVE_CHECKER_OPTION_KEYS = [
  'probe', 'interMs', 'fastinterMs', 'downinterMs', 'timeoutCheckMs', 'timeoutConnectMs', 'spreadChecks',
  'maxSpreadChecksMs', 'concurrency', 'servers', 'autoStart', 'clock', 'random', 'port', 'addr',
] as const;
const SERVER_KEYS = ['interMs', 'fastinterMs', 'downinterMs', 'port', 'addr'] as const;

/** @internal The intervals and target of one server's checks, validated. */
export interface CheckSettings {
  readonly interMs: number;
  readonly fastinterMs: number | undefined;
  readonly downinterMs: number | undefined;
  readonly port: number | undefined;
  readonly addr: string | undefined;
}

/**
 * @internal Validates check settings: the checker's own (`base` undefined) or one server's entry of `servers`
 * (`prefix` `servers.<name>.`), which falls back to `base` for what it leaves out.
 */
export function resolveCheckSettings(prefix: string, o: Record<string, unknown>, base: CheckSettings | undefined): CheckSettings {
  if (base !== undefined) v.knownKeys(prefix.slice(0, -1), o, SERVER_KEYS);
  const interval = (key: string): number | undefined =>
    o[key] === undefined ? undefined : v.durationMs(`${prefix}${key}`, o[key], { allowZero: false });
  const port = o['port'] === undefined ? base?.port : v.integerInRange(`${prefix}port`, o['port'], 1, 65535);
  const addr = o['addr'] === undefined ? base?.addr : v.nonEmptyString(`${prefix}addr`, o['addr']);
  return {
    interMs: interval('interMs') ?? base?.interMs ?? ACTIVE_CHECKER_DEFAULTS.interMs,
    fastinterMs: interval('fastinterMs') ?? base?.fastinterMs,
    downinterMs: interval('downinterMs') ?? base?.downinterMs,
    port,
    addr,
  };
}
