import type { Clock } from '../clock.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { Server } from '../server.js';

/**
 * Options of {@link OutlierDetector}: Envoy's `outlier_detection` (cluster v3 API), field for field, times in ms.
 * The defaults are Envoy's except where marked (and listed in docs/resilience.md).
 */
export interface OutlierDetectorOptions {
  /** Time between sweeps: success-rate and failure-percentage evaluation, back-off decay (`interval`). @defaultValue 10000 */
  readonly intervalMs?: number;
  /** Ejection time of a first ejection; the n-th consecutive one lasts n × this (`base_ejection_time`). @defaultValue 30000 */
  readonly baseEjectionTimeMs?: number;
  /** Longest ejection (`max_ejection_time`). @defaultValue the larger of 300000 and baseEjectionTimeMs */
  readonly maxEjectionTimeMs?: number;
  /** Up to this much random time added to each ejection, so returns do not come at once (`max_ejection_time_jitter`). @defaultValue 0 */
  readonly maxEjectionTimeJitterMs?: number;
  /**
   * Most servers of the pool ejected at once, in % of its servers: an ejection happens when
   * `100 × (ejected + 1) / servers ≤ maxEjectionPercent` (`max_ejection_percent`). @defaultValue 10
   */
  readonly maxEjectionPercent?: number;
  /**
   * Eject one server when none is, whatever `maxEjectionPercent` says (`always_eject_one_host`).
   * @defaultValue true (Envoy: false; with 10 % and fewer than 10 servers Envoy ejects nothing)
   */
  readonly alwaysEjectOneHost?: boolean;
  /**
   * Count connection failures (local origin) apart from the failures the application reports
   * (`split_external_local_origin_errors`). When false, both feed `consecutiveFailures` and one success rate.
   * @defaultValue true (Envoy: false)
   */
  readonly splitLocalOriginErrors?: boolean;
  /** Consecutive failures that eject (`consecutive_5xx`): reported ones, and connection failures unless split. @defaultValue 5 */
  readonly consecutiveFailures?: number;
  /** Chance in % that such a detection ejects (`enforcing_consecutive_5xx`). @defaultValue 100 */
  readonly enforcingConsecutiveFailures?: number;
  /** Consecutive connection failures that eject when split (`consecutive_local_origin_failure`). @defaultValue 5 */
  readonly consecutiveLocalOriginFailures?: number;
  /** Chance in % that such a detection ejects (`enforcing_consecutive_local_origin_failure`). @defaultValue 100 */
  readonly enforcingConsecutiveLocalOriginFailures?: number;
  /** Servers with enough volume needed for success-rate ejection (`success_rate_minimum_hosts`). @defaultValue 5 */
  readonly successRateMinimumHosts?: number;
  /** Outcomes in one interval for a server to count in success-rate ejection (`success_rate_request_volume`). @defaultValue 100 */
  readonly successRateRequestVolume?: number;
  /** Ejection below `mean − stdevFactor × stdev` of the success rates (`success_rate_stdev_factor` / 1000). @defaultValue 1.9 */
  readonly successRateStdevFactor?: number;
  /** Chance in % that a success-rate detection ejects (`enforcing_success_rate`). @defaultValue 100 */
  readonly enforcingSuccessRate?: number;
  /** The same for the connection (local-origin) success rate when split (`enforcing_local_origin_success_rate`). @defaultValue 100 */
  readonly enforcingLocalOriginSuccessRate?: number;
  /** Failure % at or above which a server is ejected (`failure_percentage_threshold`). @defaultValue 85 */
  readonly failurePercentageThreshold?: number;
  /** Servers with enough volume needed for failure-percentage ejection (`failure_percentage_minimum_hosts`). @defaultValue 5 */
  readonly failurePercentageMinimumHosts?: number;
  /** Outcomes in one interval for a server to count (`failure_percentage_request_volume`). @defaultValue 50 */
  readonly failurePercentageRequestVolume?: number;
  /** Chance in % that a failure-percentage detection ejects (`enforcing_failure_percentage`): 0 turns it off. @defaultValue 0 */
  readonly enforcingFailurePercentage?: number;
  /** The same for connection failures when split (`enforcing_failure_percentage_local_origin`). @defaultValue 0 */
  readonly enforcingLocalOriginFailurePercentage?: number;
  /**
   * A passed active check (server up by its checks) ends an ejection and clears the counters
   * (`successful_active_health_check_uneject_host`). @defaultValue true
   */
  readonly successfulCheckUnejects?: boolean;
  /** Source of time for the sweep and the ejection timers. @defaultValue the pool's clock */
  readonly clock?: Clock;
  /** Uniform random numbers in [0, 1), for enforcement chances and jitter. @defaultValue Math.random */
  readonly random?: () => number;
}

/** Default values of {@link OutlierDetectorOptions}. */
export const OUTLIER_DETECTOR_DEFAULTS = Object.freeze({
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionTimeJitterMs: 0,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: true,
  splitLocalOriginErrors: true,
  consecutiveFailures: 5,
  enforcingConsecutiveFailures: 100,
  consecutiveLocalOriginFailures: 5,
  enforcingConsecutiveLocalOriginFailures: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1.9,
  enforcingSuccessRate: 100,
  enforcingLocalOriginSuccessRate: 100,
  failurePercentageThreshold: 85,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  enforcingFailurePercentage: 0,
  enforcingLocalOriginFailurePercentage: 0,
  successfulCheckUnejects: true,
});

/** What an ejection was for (Envoy's `OutlierEjectionType`), as the stats name it. */
export type OutlierReasonKind =
  | 'consecutive-failures'
  | 'consecutive-local-origin-failures'
  | 'success-rate'
  | 'local-origin-success-rate'
  | 'failure-percentage'
  | 'local-origin-failure-percentage';

/** The kinds of {@link OutlierReasonKind}, in stats order. */
export const OUTLIER_REASON_KINDS: readonly OutlierReasonKind[] = Object.freeze([
  'consecutive-failures', 'consecutive-local-origin-failures', 'success-rate', 'local-origin-success-rate',
  'failure-percentage', 'local-origin-failure-percentage',
]);

/** Why a server was found an outlier, with the numbers that decided it. Rates and thresholds in %. */
export type OutlierReason =
  | { readonly kind: 'consecutive-failures' | 'consecutive-local-origin-failures'; readonly count: number }
  | {
      readonly kind: 'success-rate' | 'local-origin-success-rate';
      readonly successRate: number;
      readonly mean: number;
      readonly threshold: number;
    }
  | { readonly kind: 'failure-percentage' | 'local-origin-failure-percentage'; readonly failurePercent: number; readonly threshold: number };

/** Why an ejected server came back. */
export type OutlierReturn = 'time' | 'check' | 'admin' | 'closed';

/** What the application says of one request or transaction on a connection that worked at the TCP level. */
export type RequestResult = 'success' | 'failure';

/** Events of an {@link OutlierDetector}. The pool's hold is already in place (or lifted) when they fire. */
export interface OutlierDetectorEvents {
  /** A server was ejected for `durationMs` (its `ejections`-th ejection). */
  'outlier:eject': [server: Server, reason: OutlierReason, durationMs: number, ejections: number];
  /** An ejected server is back in the load balancing. */
  'outlier:return': [server: Server, why: OutlierReturn];
  /** A server was found an outlier but `maxEjectionPercent` kept it in (Envoy's `ejections_overflow`). */
  'outlier:overflow': [server: Server, reason: OutlierReason];
}

/** One server as the detector sees it. */
export interface OutlierServerStats {
  /** True while ejected. */
  readonly ejected: boolean;
  /** Times ejected since it joined. */
  readonly ejections: number;
  /** The ejection-time multiplier: the next ejection lasts `min(base × (multiplier + 1), max)`. */
  readonly multiplier: number;
  readonly consecutiveFailures: number;
  readonly consecutiveLocalOriginFailures: number;
  /** Ms left of the current ejection. */
  readonly returnInMs?: number;
}

/** Plain-JSON counters of an {@link OutlierDetector} (Envoy's `outlier_detection.*` cluster stats). */
export interface OutlierDetectorStats {
  /** Servers ejected now (`ejections_active`). */
  readonly ejected: number;
  /** Ejections made (`ejections_enforced_total`). */
  readonly ejections: number;
  /** Outliers kept in by `maxEjectionPercent` (`ejections_overflow`). */
  readonly overflow: number;
  /** Outliers found, by kind, ejected or not (`ejections_detected_*`). */
  readonly detected: Readonly<Record<OutlierReasonKind, number>>;
  /** Ejections made, by kind (`ejections_enforced_*`). */
  readonly enforced: Readonly<Record<OutlierReasonKind, number>>;
  /** Every server of the pool ejected at least once, by name. */
  readonly servers: Readonly<Record<string, OutlierServerStats>>;
}

/** The options of an {@link OutlierDetector} as it runs with them: validated, every default filled in. */
export type OutlierDetectorSettings = Required<Omit<OutlierDetectorOptions, 'clock' | 'random'>> & {
  readonly clock: Clock;
  readonly random: () => number;
};

const KEYS = [...Object.keys(OUTLIER_DETECTOR_DEFAULTS), 'clock', 'random'] as const;
const PERCENT_KEYS = [
  'maxEjectionPercent', 'enforcingConsecutiveFailures', 'enforcingConsecutiveLocalOriginFailures', 'enforcingSuccessRate',
  'enforcingLocalOriginSuccessRate', 'failurePercentageThreshold', 'enforcingFailurePercentage', 'enforcingLocalOriginFailurePercentage',
] as const;
const COUNT_KEYS = [
  'consecutiveFailures', 'consecutiveLocalOriginFailures', 'successRateMinimumHosts', 'successRateRequestVolume',
  'failurePercentageMinimumHosts', 'failurePercentageRequestVolume',
] as const;

/** @internal Validates the options once, in the constructor. */
export function resolveOutlierOptions(options: OutlierDetectorOptions, poolClock: Clock): OutlierDetectorSettings {
  const o = v.plainObject('outlier detector options', options);
  v.knownKeys('outlier detector options', o, KEYS);
  const d = OUTLIER_DETECTOR_DEFAULTS;
  const out: Record<string, unknown> = {};
  out['intervalMs'] = v.durationMs('intervalMs', o['intervalMs'] ?? d.intervalMs, { allowZero: false });
  out['baseEjectionTimeMs'] = v.durationMs('baseEjectionTimeMs', o['baseEjectionTimeMs'] ?? d.baseEjectionTimeMs, { allowZero: false });
  const max = o['maxEjectionTimeMs'] ?? Math.max(d.maxEjectionTimeMs, out['baseEjectionTimeMs'] as number);
  out['maxEjectionTimeMs'] = v.durationMs('maxEjectionTimeMs', max, { allowZero: false });
  if ((out['maxEjectionTimeMs'] as number) < (out['baseEjectionTimeMs'] as number)) {
    throw invalidArg('maxEjectionTimeMs', `must not be below baseEjectionTimeMs (${String(out['baseEjectionTimeMs'])})`, max);
  }
  out['maxEjectionTimeJitterMs'] = v.durationMs('maxEjectionTimeJitterMs', o['maxEjectionTimeJitterMs'] ?? d.maxEjectionTimeJitterMs);
  for (const k of PERCENT_KEYS) out[k] = v.integerInRange(k, o[k] ?? d[k], 0, 100);
  for (const k of COUNT_KEYS) out[k] = v.positiveInteger(k, o[k] ?? d[k]);
  const factor = o['successRateStdevFactor'] ?? d.successRateStdevFactor;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 0) throw invalidArg('successRateStdevFactor', 'must be a finite number ≥ 0', factor);
  out['successRateStdevFactor'] = factor;
  for (const k of ['alwaysEjectOneHost', 'splitLocalOriginErrors', 'successfulCheckUnejects'] as const) out[k] = v.boolean(k, o[k] ?? d[k]);
  const random = o['random'] ?? Math.random;
  if (typeof random !== 'function') throw invalidArg('random', 'must be a function returning numbers in [0, 1)', random);
  out['random'] = random;
  const clock = o['clock'] ?? poolClock;
  if (typeof clock !== 'object' || clock === null || typeof (clock as Clock).setTimeout !== 'function') throw invalidArg('clock', 'must be a Clock', clock);
  out['clock'] = clock;
  return out as OutlierDetectorSettings;
}
