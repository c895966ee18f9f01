import { EventEmitter } from 'eventemitter3';
import type { Clock, TimerHandle } from '../clock.js';
import { invalidArg } from '../errors.js';
import type { ConnectOutcome, OutcomeSink } from '../outcome.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import type { CheckCause } from '../state/check-result.js';
import { OutlierMonitor, type SweepSettings, Sweeper } from './outlier-monitor.js';
import {
  OUTLIER_REASON_KINDS, type OutlierDetectorEvents, type OutlierDetectorOptions, type OutlierDetectorStats, type OutlierReason,
  type OutlierReasonKind, type OutlierReturn, type OutlierServerStats, type RequestResult, type OutlierDetectorSettings,
  resolveOutlierOptions,
} from './outlier-options.js';

export { OUTLIER_DETECTOR_DEFAULTS, OUTLIER_REASON_KINDS } from './outlier-options.js';
export type {
  OutlierDetectorEvents, OutlierDetectorOptions, OutlierDetectorSettings, OutlierDetectorStats, OutlierReason, OutlierReasonKind, OutlierReturn,
  OutlierServerStats, RequestResult,
} from './outlier-options.js';

/** The holder name of the detector's holds on the pool's servers (`server.holds.get('outlier')`). */
export const OUTLIER_HOLDER = 'outlier';

const OUTCOME_KINDS = new Set<string>(['success', 'refused', 'reset', 'timeout', 'error']);

/**
 * Envoy's outlier detection (`arch_overview/upstream/outlier`) beside HAProxy's passive rule: an
 * {@link OutcomeSink} fed the same connection outcomes as a {@link PassiveObserver} (the proxy and
 * `balancer.connect()` report every attempt), plus {@link OutlierDetector.reportResult} for what the application
 * knows ("connected, but the request failed"). It ejects a server that fails `consecutiveFailures` /
 * `consecutiveLocalOriginFailures` times in a row (at once), or whose success rate over the last interval falls
 * below `mean − 1.9 × stdev` of the pool's, or whose failure percentage reaches a threshold (at each sweep).
 *
 * An ejection is a hold on the pool (`pool.setHold(name, 'outlier', 'out')`): the server stays up for its checks
 * and its admin state is untouched, but it is not picked (except by a tier in panic). It lasts
 * `baseEjectionTimeMs × n` for the n-th ejection in a row (capped at `maxEjectionTimeMs`; the multiplier decays by
 * one each healthy interval), and never takes more than `maxEjectionPercent` of the pool out (one server always
 * may be, with `alwaysEjectOneHost`). A passed active check ends it early. The sweep runs on the injected clock.
 *
 * @example
 * ```ts
 * const detector = new OutlierDetector(pool)                      // Envoy's defaults: 5 in a row → 30 s out
 * const observer = new PassiveObserver(pool)
 * const proxy = new TcpProxy(balancer, { observer: fanOutOutcomes(observer, detector) })
 * detector.on('outlier:eject', (server, reason, ms) => log.warn(`${server.name} ejected for ${ms} ms`, reason))
 * // after a request on a balanced connection: the application's verdict
 * detector.reportResult(lease.server, response.ok ? 'success' : 'failure')
 * ```
 */
export class OutlierDetector extends EventEmitter<OutlierDetectorEvents> implements OutcomeSink {
  /** The pool whose servers are watched. */
  readonly pool: Pool;
  /** The validated options. */
  readonly options: Readonly<OutlierDetectorSettings>;

  readonly #clock: Clock;
  readonly #monitors = new Map<Server, OutlierMonitor>();
  /** The same monitors as a list, for the sweep (swap-removed; `#index` maps back). */
  readonly #list: OutlierMonitor[] = [];
  readonly #index = new Map<OutlierMonitor, number>();
  readonly #detected = countsByKind();
  readonly #enforced = countsByKind();
  readonly #sweeper = new Sweeper();
  /** Monitors back from an ejection whose multiplier has still to decay. */
  readonly #decaying = new Set<OutlierMonitor>();
  /** Monitors ejected at least once, for stats. */
  readonly #ejectedOnce = new Set<OutlierMonitor>();
  #ejected = 0;
  #ejections = 0;
  #overflow = 0;
  #sweepTimer: TimerHandle | undefined;
  #closed = false;
  /** True while this detector lifts its own hold (so that `server:hold` is not read as an operator's). */
  #lifting = false;
  readonly #externalSweep: SweepSettings;
  readonly #localSweep: SweepSettings | undefined;

  readonly #onCheckPass = (server: Server, cause: CheckCause): void => {
    if (cause.source !== 'check' || !this.options.successfulCheckUnejects || server.operationalState === 'down') return;
    const m = this.#monitors.get(server);
    if (m?.ejected) this.#return(m, 'check');
  };
  readonly #onRemoved = (server: Server): void => this.#forget(server);
  readonly #onHold = (server: Server, holder: string, hold: string | undefined): void => {
    if (holder !== OUTLIER_HOLDER || hold !== undefined || this.#lifting) return;
    // Someone else (an operator, the runtime API) lifted the hold: the ejection is over.
    const m = this.#monitors.get(server);
    if (m?.ejected) this.#return(m, 'admin');
  };

  constructor(pool: Pool, options: OutlierDetectorOptions = {}) {
    super();
    if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).setHold !== 'function') throw invalidArg('pool', 'must be a Pool', pool);
    this.pool = pool;
    const o = resolveOutlierOptions(options, pool.clock);
    this.options = Object.freeze(o);
    this.#clock = o.clock;
    const common = {
      srMinimumHosts: o.successRateMinimumHosts,
      srVolume: o.successRateRequestVolume,
      stdevFactor: o.successRateStdevFactor,
      fpMinimumHosts: o.failurePercentageMinimumHosts,
      fpVolume: o.failurePercentageRequestVolume,
      fpThreshold: o.failurePercentageThreshold,
    };
    this.#externalSweep = { ...common, srEnabled: o.enforcingSuccessRate > 0, fpEnabled: o.enforcingFailurePercentage > 0 };
    const localSr = o.splitLocalOriginErrors && o.enforcingLocalOriginSuccessRate > 0;
    const localFp = o.splitLocalOriginErrors && o.enforcingLocalOriginFailurePercentage > 0;
    this.#localSweep = localSr || localFp ? { ...common, srEnabled: localSr, fpEnabled: localFp } : undefined;
    pool.on('check:pass', this.#onCheckPass);
    pool.on('server:removed', this.#onRemoved);
    pool.on('server:hold', this.#onHold);
    this.#armSweep();
  }

  /**
   * Records one connection attempt (local origin). A success resets the server's run of connection failures; a
   * failure (refused, reset, timeout, error) adds one and may eject at once. Ignored after close and for servers
   * not in the pool. Synchronous, O(1); throws only for an outcome that is not a {@link ConnectOutcome}.
   */
  reportOutcome(server: Server, outcome: ConnectOutcome): void {
    const kind = (outcome as Partial<ConnectOutcome> | null)?.kind;
    if (!OUTCOME_KINDS.has(kind as string)) {
      throw invalidArg('outcome.kind', "must be 'success', 'refused', 'reset', 'timeout' or 'error'", kind);
    }
    const m = this.#monitor(server);
    if (m === undefined) return;
    const ok = kind === 'success';
    if (!this.options.splitLocalOriginErrors) {
      // Envoy without the split: a connection outcome counts as a transaction result (TCP: connect success is final).
      this.#transaction(m, ok);
      return;
    }
    m.localTotal++;
    if (ok) {
      m.localOk++;
      m.consecutiveLocalOriginFailures = 0;
      return;
    }
    if (++m.consecutiveLocalOriginFailures >= this.options.consecutiveLocalOriginFailures && !m.ejected) {
      const count = m.consecutiveLocalOriginFailures;
      m.consecutiveLocalOriginFailures = 0;
      this.#detect(m, { kind: 'consecutive-local-origin-failures', count });
    }
  }

  /**
   * Records what the application saw of a request on a connection to `server` that worked at the TCP level: a
   * `failure` (an error response, a protocol error, a timeout of the request) counts towards `consecutiveFailures`
   * and the success rate; a `success` resets the run (and, split, counts as a good connection too, as Envoy does).
   * Ignored after close and for servers not in the pool. Synchronous, O(1).
   */
  reportResult(server: Server, result: RequestResult): void {
    if (result !== 'success' && result !== 'failure') throw invalidArg('result', "must be 'success' or 'failure'", result);
    const m = this.#monitor(server);
    if (m === undefined) return;
    this.#transaction(m, result === 'success');
    if (result === 'success' && this.options.splitLocalOriginErrors) {
      m.localTotal++;
      m.localOk++;
      m.consecutiveLocalOriginFailures = 0;
    }
  }

  /** True while `server` is ejected. */
  isEjected(server: Server): boolean {
    return this.#monitors.get(server)?.ejected ?? false;
  }

  /** What the detector knows of `server` (zeros for a server it has seen nothing of). */
  serverStats(server: Server): OutlierServerStats {
    const m = this.#monitors.get(server);
    if (m === undefined) return { ejected: false, ejections: 0, multiplier: 0, consecutiveFailures: 0, consecutiveLocalOriginFailures: 0 };
    return {
      ejected: m.ejected,
      ejections: m.ejections,
      multiplier: m.multiplier,
      consecutiveFailures: m.consecutiveFailures,
      consecutiveLocalOriginFailures: m.consecutiveLocalOriginFailures,
      ...(m.ejected ? { returnInMs: Math.max(0, m.ejectedAtMs + m.durationMs - this.#clock.now()) } : {}),
    };
  }

  /** Counters (Envoy's `outlier_detection.*` stats), and the servers ejected at least once. */
  stats(): OutlierDetectorStats {
    const servers: Record<string, OutlierServerStats> = {};
    for (const m of this.#ejectedOnce) servers[m.server.name] = this.serverStats(m.server);
    return {
      ejected: this.#ejected,
      ejections: this.#ejections,
      overflow: this.#overflow,
      detected: { ...this.#detected },
      enforced: { ...this.#enforced },
      servers,
    };
  }

  /**
   * Runs one sweep now, as the interval timer does: ends the interval (its outcomes become the ones evaluated),
   * ejects success-rate and failure-percentage outliers, and decays the multiplier of servers healthy for a whole
   * interval. O(servers watched). The timer keeps its schedule.
   */
  sweep(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const f of this.#sweeper.sweep(this.#list, this.pool.size, this.#externalSweep, this.#localSweep)) {
      if (!f.monitor.ejected && this.#monitors.get(f.monitor.server) === f.monitor) this.#detect(f.monitor, f.reason);
    }
    const interval = this.options.intervalMs;
    for (const m of this.#decaying) {
      if (m.ejected || m.lastReturnMs === undefined || now - m.lastReturnMs < interval) continue;
      if (m.multiplier > 0) m.multiplier--;
      if (m.multiplier === 0) this.#decaying.delete(m);
    }
  }

  /** Stops the sweep and ends every ejection (the holds are lifted: `outlier:return` with `closed`). Idempotent. */
  close(): Promise<void> {
    this.destroy();
    return CLOSED;
  }

  /** Same as {@link OutlierDetector.close}: nothing is in flight. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweepTimer?.cancel();
    this.pool.off('check:pass', this.#onCheckPass);
    this.pool.off('server:removed', this.#onRemoved);
    for (const m of this.#list) if (m.ejected) this.#return(m, 'closed');
    this.pool.off('server:hold', this.#onHold);
    this.#monitors.clear();
    this.#decaying.clear();
    this.#ejectedOnce.clear();
    this.#list.length = 0;
    this.#index.clear();
  }

  /** Same as {@link OutlierDetector.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #monitor(server: Server): OutlierMonitor | undefined {
    if (this.#closed) return undefined;
    let m = this.#monitors.get(server);
    if (m === undefined) {
      if (!this.pool.has(server)) return undefined;
      m = new OutlierMonitor(server);
      this.#monitors.set(server, m);
      this.#index.set(m, this.#list.length);
      this.#list.push(m);
    }
    return m;
  }

  /** A transaction result (Envoy's `putHttpResponseCode`, success = 200, failure = 5xx). */
  #transaction(m: OutlierMonitor, ok: boolean): void {
    m.externalTotal++;
    if (ok) {
      m.externalOk++;
      m.consecutiveFailures = 0;
      return;
    }
    if (++m.consecutiveFailures >= this.options.consecutiveFailures && !m.ejected) {
      const count = m.consecutiveFailures;
      m.consecutiveFailures = 0;
      this.#detect(m, { kind: 'consecutive-failures', count });
    }
  }

  /** Envoy's `ejectHost()`: the `maxEjectionPercent` cap (overflow), then the enforcement chance, then the hold. */
  #detect(m: OutlierMonitor, reason: OutlierReason): void {
    this.#detected[reason.kind]++;
    const o = this.options;
    const size = Math.max(1, this.pool.size);
    const allowed = (100 * (this.#ejected + 1)) / size <= o.maxEjectionPercent || (o.alwaysEjectOneHost && this.#ejected === 0);
    if (!allowed) {
      this.#overflow++;
      this.emit('outlier:overflow', m.server, reason);
      return;
    }
    if (!this.#enforce(reason.kind)) return;
    const now = this.#clock.now();
    const base = o.baseEjectionTimeMs;
    if (m.multiplier * base < o.maxEjectionTimeMs + base) m.multiplier++;
    const jitter = o.maxEjectionTimeJitterMs > 0 ? Math.floor(o.random() * (o.maxEjectionTimeJitterMs + 1)) : 0;
    m.durationMs = Math.min(base * m.multiplier, o.maxEjectionTimeMs) + jitter;
    m.ejectedAtMs = now;
    m.ejected = true;
    m.ejections++;
    this.#ejectedOnce.add(m);
    this.#ejected++;
    this.#ejections++;
    this.#enforced[reason.kind]++;
    m.timer = this.#clock.setTimeout(() => this.#return(m, 'time'), m.durationMs);
    this.pool.setHold(m.server.name, OUTLIER_HOLDER, 'out');
    this.emit('outlier:eject', m.server, reason, m.durationMs, m.ejections);
  }

  /** Envoy's `enforcing_*` chances: 100 always ejects, 0 never (no random draw for either). */
  #enforce(kind: OutlierReasonKind): boolean {
    const o = this.options;
    let percent: number;
    switch (kind) {
      case 'consecutive-failures':
        percent = o.enforcingConsecutiveFailures;
        break;
      case 'consecutive-local-origin-failures':
        percent = o.enforcingConsecutiveLocalOriginFailures;
        break;
      case 'success-rate':
        percent = o.enforcingSuccessRate;
        break;
      case 'local-origin-success-rate':
        percent = o.enforcingLocalOriginSuccessRate;
        break;
      case 'failure-percentage':
        percent = o.enforcingFailurePercentage;
        break;
      default:
        percent = o.enforcingLocalOriginFailurePercentage;
    }
    return percent >= 100 || (percent > 0 && o.random() * 100 < percent);
  }

  /** Ends an ejection: counters cleared (Envoy's `unejectHost()`), hold lifted unless someone else already did. */
  #return(m: OutlierMonitor, why: OutlierReturn): void {
    if (!m.ejected) return;
    m.ejected = false;
    m.timer?.cancel();
    m.timer = undefined;
    m.lastReturnMs = this.#clock.now();
    m.resetConsecutive();
    this.#ejected--;
    this.#decaying.add(m);
    if (why !== 'admin' && this.pool.has(m.server) && this.pool.get(m.server.name) === m.server) {
      this.#lifting = true;
      try {
        this.pool.setHold(m.server.name, OUTLIER_HOLDER, undefined);
      } finally {
        this.#lifting = false;
      }
    }
    this.emit('outlier:return', m.server, why);
  }

  /** A server left the pool: its monitor goes, an ejection ends without an event (nothing to return to). */
  #forget(server: Server): void {
    const m = this.#monitors.get(server);
    if (m === undefined) return;
    if (m.ejected) {
      m.timer?.cancel();
      this.#ejected--;
    }
    this.#decaying.delete(m);
    this.#ejectedOnce.delete(m);
    this.#monitors.delete(server);
    const at = this.#index.get(m)!;
    const last = this.#list.pop()!;
    if (last !== m) {
      this.#list[at] = last;
      this.#index.set(last, at);
    }
    this.#index.delete(m);
  }

  #armSweep(): void {
    this.#sweepTimer = this.#clock.setTimeout(() => {
      this.sweep();
      if (!this.#closed) this.#armSweep();
    }, this.options.intervalMs);
  }
}

const CLOSED = Promise.resolve();

function countsByKind(): Record<OutlierReasonKind, number> {
  return Object.fromEntries(OUTLIER_REASON_KINDS.map((k) => [k, 0])) as Record<OutlierReasonKind, number>;
}
