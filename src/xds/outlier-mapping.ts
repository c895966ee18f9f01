import { systemClock } from '../clock.js';
import { LbError } from '../errors.js';
import type { OutlierDetectorOptions } from '../resilience/outlier-options.js';
import { resolveOutlierOptions } from '../resilience/outlier-options.js';


/**
 * Envoy's `outlier_detection`, parsed into plain values: counts and percentages as numbers, durations in ms, only
 * the fields the control plane set (Envoy's defaults apply to the others: consecutive 5xx 5, interval 10 s, base
 * ejection 30 s, max ejection 10 %…). The follower runs an `OutlierDetector` with them (`outlierOptionsOf`).
 */
export interface XdsOutlierDetection {
  readonly consecutive5xx?: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
  readonly enforcingConsecutive5xx?: number;
  readonly enforcingSuccessRate?: number;
  readonly successRateMinimumHosts?: number;
  readonly successRateRequestVolume?: number;
  /** Envoy's unit: 1900 means a factor of 1.9. */
  readonly successRateStdevFactor?: number;
  readonly consecutiveGatewayFailure?: number;
  readonly enforcingConsecutiveGatewayFailure?: number;
  readonly splitExternalLocalOriginErrors?: boolean;
  readonly consecutiveLocalOriginFailure?: number;
  readonly enforcingConsecutiveLocalOriginFailure?: number;
  readonly enforcingLocalOriginSuccessRate?: number;
  readonly failurePercentageThreshold?: number;
  readonly enforcingFailurePercentage?: number;
  readonly enforcingFailurePercentageLocalOrigin?: number;
  readonly failurePercentageMinimumHosts?: number;
  readonly failurePercentageRequestVolume?: number;
  readonly maxEjectionTimeMs?: number;
  readonly maxEjectionTimeJitterMs?: number;
  readonly successfulActiveHealthCheckUnejectHost?: boolean;
  readonly alwaysEjectOneHost?: boolean;
}

/** Envoy's `success_rate_stdev_factor` unit: 1900 is a factor of 1.9. */
const STDEV_FACTOR_UNIT = 1000;

/**
 * The options of the `OutlierDetector` a CDS `outlier_detection` asks for, field for field (docs/resilience.md has
 * the table). Fields the control plane left unset take Envoy's defaults, which are the detector's except two that
 * switchyard's library defaults differ on: `always_eject_one_host` and `split_external_local_origin_errors` are
 * false when unset, as in Envoy. `consecutive_gateway_failure` and its enforcement (HTTP 502/503/504) have no
 * counterpart: a result reported to the detector is a success or a failure.
 */
export function outlierOptionsOf(x: XdsOutlierDetection): OutlierDetectorOptions {
  const o: Record<string, unknown> = {
    alwaysEjectOneHost: x.alwaysEjectOneHost ?? false,
    splitLocalOriginErrors: x.splitExternalLocalOriginErrors ?? false,
  };
  const set = (key: keyof OutlierDetectorOptions, value: unknown): void => {
    if (value !== undefined) o[key] = value;
  };
  set('intervalMs', x.intervalMs);
  set('baseEjectionTimeMs', x.baseEjectionTimeMs);
  set('maxEjectionTimeMs', x.maxEjectionTimeMs);
  set('maxEjectionTimeJitterMs', x.maxEjectionTimeJitterMs);
  set('maxEjectionPercent', x.maxEjectionPercent);
  set('consecutiveFailures', x.consecutive5xx);
  set('enforcingConsecutiveFailures', x.enforcingConsecutive5xx);
  set('consecutiveLocalOriginFailures', x.consecutiveLocalOriginFailure);
  set('enforcingConsecutiveLocalOriginFailures', x.enforcingConsecutiveLocalOriginFailure);
  set('successRateMinimumHosts', x.successRateMinimumHosts);
  set('successRateRequestVolume', x.successRateRequestVolume);
  set('successRateStdevFactor', x.successRateStdevFactor === undefined ? undefined : x.successRateStdevFactor / STDEV_FACTOR_UNIT);
  set('enforcingSuccessRate', x.enforcingSuccessRate);
  set('enforcingLocalOriginSuccessRate', x.enforcingLocalOriginSuccessRate);
  set('failurePercentageThreshold', x.failurePercentageThreshold);
  set('failurePercentageMinimumHosts', x.failurePercentageMinimumHosts);
  set('failurePercentageRequestVolume', x.failurePercentageRequestVolume);
  set('enforcingFailurePercentage', x.enforcingFailurePercentage);
  set('enforcingLocalOriginFailurePercentage', x.enforcingFailurePercentageLocalOrigin);
  set('successfulCheckUnejects', x.successfulActiveHealthCheckUnejectHost);
  return o as OutlierDetectorOptions;
}

/**
 * Checks that the detector would take what `outlier_detection` maps to (a `max_ejection_time` below
 * `base_ejection_time`, a count of 0…): each refusal becomes an error of the CDS resource, so it is NACKed and the
 * last good cluster stays, rather than accepted and then not applied.
 */
export function checkOutlierDetection(x: XdsOutlierDetection, at: string, errors: string[]): void {
  try {
    resolveOutlierOptions(outlierOptionsOf(x), systemClock);
  } catch (err) {
    if (!LbError.is(err)) throw err;
    errors.push(`${at}: the outlier detector refuses it: ${err.message}`);
  }
}
