import type { TimerHandle } from '../clock.js';
import type { Server } from '../server.js';
import type { OutlierReason } from './outlier-options.js';

/**
 * @internal Outcomes of one server in one interval, double-buffered as Envoy's `SuccessRateAccumulator`: the
 * sweep reads the interval that just ended while the next one fills.
 */
export class Buckets {
  successes = 0;
  total = 0;
  lastSuccesses = 0;
  lastTotal = 0;

  add(success: boolean): void {
    this.total++;
    if (success) this.successes++;
  }

  /** Ends the interval: the current counts become the last ones. */
  swap(): void {
    this.lastSuccesses = this.successes;
    this.lastTotal = this.total;
    this.successes = 0;
    this.total = 0;
  }

  /** Success rate of the last interval in %, or -1 without outcomes. */
  get lastRate(): number {
    return this.lastTotal === 0 ? -1 : (this.lastSuccesses * 100) / this.lastTotal;
  }
}

/** @internal What the detector keeps per server (Envoy's `DetectorHostMonitorImpl`). */
export class OutlierMonitor {
  consecutiveFailures = 0;
  consecutiveLocalOriginFailures = 0;
  /** Reported results (and, unless split, connection outcomes): Envoy's external-origin success-rate monitor. */
  readonly external = new Buckets();
  /** Connection outcomes when split: Envoy's local-origin success-rate monitor. */
  readonly local = new Buckets();
  ejected = false;
  /** Envoy's `ejectTimeBackoff`: +1 per ejection (capped), −1 per healthy interval. */
  multiplier = 0;
  /** Times ejected. */
  ejections = 0;
  ejectedAtMs = 0;
  durationMs = 0;
  lastReturnMs: number | undefined = undefined;
  timer: TimerHandle | undefined = undefined;

  constructor(readonly server: Server) {}

  resetConsecutive(): void {
    this.consecutiveFailures = 0;
    this.consecutiveLocalOriginFailures = 0;
  }
}

/** @internal A server found an outlier by a sweep. */
export interface SweepFinding {
  readonly monitor: OutlierMonitor;
  readonly reason: OutlierReason;
}

/** @internal The sweep's settings for one origin (external or local). */
export interface SweepSettings {
  readonly local: boolean;
  readonly minimumHosts: number;
  readonly srMinimumHosts: number;
  readonly srVolume: number;
  readonly stdevFactor: number;
  readonly srEnabled: boolean;
  readonly fpMinimumHosts: number;
  readonly fpVolume: number;
  readonly fpThreshold: number;
  readonly fpEnabled: boolean;
}

/**
 * @internal Envoy's `processSuccessRateEjections()` for one origin, over the last interval of every monitor not
 * ejected: success-rate outliers (below `mean − factor × stdev` among servers with `srVolume` outcomes, when at
 * least `srMinimumHosts` have it) then failure-percentage ones (`100 − rate ≥ threshold` among servers with
 * `fpVolume`, when at least `fpMinimumHosts` have it). O(n); `rates` is scratch space reused across sweeps.
 */
export function sweepOutliers(monitors: readonly OutlierMonitor[], poolSize: number, s: SweepSettings, rates: Float64Array): SweepFinding[] {
  const found: SweepFinding[] = [];
  if (poolSize < s.srMinimumHosts && poolSize < s.fpMinimumHosts) return found;
  let srCount = 0;
  let srSum = 0;
  let fpCount = 0;
  const n = monitors.length;
  for (let i = 0; i < n; i++) {
    const m = monitors[i]!;
    const b = s.local ? m.local : m.external;
    rates[i] = -1;
    if (m.ejected || b.lastTotal === 0) continue;
    const rate = b.lastRate;
    rates[i] = rate;
    if (b.lastTotal >= s.srVolume) {
      srCount++;
      srSum += rate;
    }
    if (b.lastTotal >= s.fpVolume) fpCount++;
  }
  if (s.srEnabled && srCount > 0 && srCount >= s.srMinimumHosts) {
    const mean = srSum / srCount;
    let variance = 0;
    for (let i = 0; i < n; i++) {
      const m = monitors[i]!;
      if (rates[i]! < 0 || (s.local ? m.local : m.external).lastTotal < s.srVolume) continue;
      variance += (rates[i]! - mean) ** 2;
    }
    const threshold = mean - s.stdevFactor * Math.sqrt(variance / srCount);
    const kind = s.local ? 'local-origin-success-rate' : 'success-rate';
    for (let i = 0; i < n; i++) {
      const m = monitors[i]!;
      if (rates[i]! < 0 || (s.local ? m.local : m.external).lastTotal < s.srVolume) continue;
      if (rates[i]! < threshold) found.push({ monitor: m, reason: { kind, successRate: rates[i]!, mean, threshold } });
    }
  }
  if (s.fpEnabled && fpCount > 0 && fpCount >= s.fpMinimumHosts) {
    const kind = s.local ? 'local-origin-failure-percentage' : 'failure-percentage';
    for (let i = 0; i < n; i++) {
      const m = monitors[i]!;
      if (rates[i]! < 0 || (s.local ? m.local : m.external).lastTotal < s.fpVolume) continue;
      const failurePercent = 100 - rates[i]!;
      if (failurePercent >= s.fpThreshold) found.push({ monitor: m, reason: { kind, failurePercent, threshold: s.fpThreshold } });
    }
  }
  return found;
}
