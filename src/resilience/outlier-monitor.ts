import type { TimerHandle } from '../clock.js';
import type { Server } from '../server.js';
import type { OutlierReason } from './outlier-options.js';

/**
 * @internal What the detector keeps per server (Envoy's `DetectorHostMonitorImpl`). The outcome counts of the
 * current interval are plain fields (no nested objects: the sweep reads every monitor, and at 100 000 servers
 * every pointer followed is a cache miss); the sweep reads and clears them, as Envoy's double-buffered
 * `SuccessRateAccumulator` hands the interval that just ended to the evaluation.
 */
export class OutlierMonitor {
  consecutiveFailures = 0;
  consecutiveLocalOriginFailures = 0;
  /** Reported results (and, unless split, connection outcomes) in this interval: Envoy's external-origin monitor. */
  externalOk = 0;
  externalTotal = 0;
  /** Connection outcomes in this interval when split: Envoy's local-origin monitor. */
  localOk = 0;
  localTotal = 0;
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
  readonly srMinimumHosts: number;
  readonly srVolume: number;
  readonly stdevFactor: number;
  readonly srEnabled: boolean;
  readonly fpMinimumHosts: number;
  readonly fpVolume: number;
  readonly fpThreshold: number;
  readonly fpEnabled: boolean;
}

/** Per-origin scratch of one sweep: rates and volumes by monitor index, and the sums for the mean and stdev. */
class Origin {
  rates = new Float64Array(0);
  volumes = new Float64Array(0);
  srCount = 0;
  srSum = 0;
  srSquares = 0;
  fpCount = 0;
  any = false;

  begin(n: number): void {
    if (this.rates.length < n) {
      this.rates = new Float64Array(n * 2);
      this.volumes = new Float64Array(n * 2);
    }
    this.srCount = this.srSum = this.srSquares = this.fpCount = 0;
    this.any = false;
  }

  add(i: number, ok: number, total: number, s: SweepSettings): void {
    this.volumes[i] = total;
    if (total === 0) return;
    this.any = true;
    const rate = (ok * 100) / total;
    this.rates[i] = rate;
    if (total >= s.srVolume) {
      this.srCount++;
      this.srSum += rate;
      this.srSquares += rate * rate;
    }
    if (total >= s.fpVolume) this.fpCount++;
  }

  /**
   * Envoy's `processSuccessRateEjections()` for this origin: success-rate outliers (below `mean − factor × stdev`
   * among servers with `srVolume` outcomes, when at least `srMinimumHosts` have it), then failure-percentage ones
   * (`100 − rate ≥ threshold` among servers with `fpVolume`, when at least `fpMinimumHosts` have it).
   */
  find(monitors: readonly OutlierMonitor[], s: SweepSettings, local: boolean, found: SweepFinding[]): void {
    if (!this.any) return;
    const n = monitors.length;
    const { rates, volumes } = this;
    if (s.srEnabled && this.srCount > 0 && this.srCount >= s.srMinimumHosts) {
      const mean = this.srSum / this.srCount;
      const variance = Math.max(0, this.srSquares / this.srCount - mean * mean);
      const threshold = mean - s.stdevFactor * Math.sqrt(variance);
      const kind = local ? 'local-origin-success-rate' : 'success-rate';
      for (let i = 0; i < n; i++) {
        if (volumes[i]! >= s.srVolume && rates[i]! < threshold) {
          found.push({ monitor: monitors[i]!, reason: { kind, successRate: rates[i]!, mean, threshold } });
        }
      }
    }
    if (s.fpEnabled && this.fpCount > 0 && this.fpCount >= s.fpMinimumHosts) {
      const kind = local ? 'local-origin-failure-percentage' : 'failure-percentage';
      for (let i = 0; i < n; i++) {
        if (volumes[i]! >= s.fpVolume && 100 - rates[i]! >= s.fpThreshold) {
          found.push({ monitor: monitors[i]!, reason: { kind, failurePercent: 100 - rates[i]!, threshold: s.fpThreshold } });
        }
      }
    }
  }
}

/**
 * @internal One sweep over every monitor, O(n): one pass over the monitors reads and clears the interval's counts
 * (ejected servers are not evaluated, as in Envoy), then one pass over flat arrays per origin finds the outliers.
 * The variance is Σx²/n − mean², rates being bounded (0–100) so the difference is exact enough.
 */
export class Sweeper {
  readonly #external = new Origin();
  readonly #local = new Origin();

  sweep(monitors: readonly OutlierMonitor[], poolSize: number, external: SweepSettings, local: SweepSettings | undefined): SweepFinding[] {
    const n = monitors.length;
    const ext = this.#external;
    const loc = this.#local;
    ext.begin(n);
    loc.begin(n);
    for (let i = 0; i < n; i++) {
      const m = monitors[i]!;
      if (m.ejected) {
        ext.volumes[i] = 0;
        loc.volumes[i] = 0;
      } else {
        ext.add(i, m.externalOk, m.externalTotal, external);
        if (local !== undefined) loc.add(i, m.localOk, m.localTotal, local);
        else loc.volumes[i] = 0;
      }
      m.externalOk = m.externalTotal = m.localOk = m.localTotal = 0;
    }
    const found: SweepFinding[] = [];
    // Envoy skips the evaluation when the pool is smaller than both minimums.
    if (poolSize >= Math.min(external.srMinimumHosts, external.fpMinimumHosts)) {
      ext.find(monitors, external, false, found);
      if (local !== undefined) loc.find(monitors, local, true, found);
    }
    return found;
  }
}
