import { EventEmitter } from 'eventemitter3';
import type { Balancer } from '../balancer.js';
import type { Clock, TimerHandle } from '../clock.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { Lease, RecycleReason } from '../lease.js';
import type { Server } from '../server.js';

/** Options of {@link Rebalancer}. */
export interface RebalancerOptions {
  /**
   * A server is over its share when its share of the balancer's leases exceeds the share its weight gives it by
   * more than this percentage of that share (25: a server due 50 % is over at more than 62.5 %). @defaultValue 25
   */
  readonly thresholdPercent?: number;
  /** A server must stay over its share this long before its leases are recycled. @defaultValue 30000 */
  readonly sustainMs?: number;
  /** How often the shares are compared. @defaultValue 5000 */
  readonly intervalMs?: number;
  /**
   * The recycles of one round are spread evenly over this long (the first at once), so the client pools never
   * reconnect all at once. @defaultValue 10000
   */
  readonly spreadMs?: number;
  /** Below this many leases on the eligible servers, nothing is rebalanced (small counts are noise). @defaultValue 4 */
  readonly minLeases?: number;
  /** Source of time. @defaultValue the balancer's pool clock */
  readonly clock?: Clock;
}

/** Default values of {@link RebalancerOptions}. */
export const REBALANCER_DEFAULTS = Object.freeze({
  thresholdPercent: 25,
  sustainMs: 30_000,
  intervalMs: 5000,
  spreadMs: 10_000,
  minLeases: 4,
});

/** Events of a {@link Rebalancer}. */
export interface RebalancerEvents {
  /** A server stayed over its share for `sustainMs`: `count` of its leases will be recycled over `spreadMs`. */
  'rebalance:start': [server: Server, count: number, reason: RecycleReason];
  /** One lease was asked to go (`lease.recycle(reason)`). */
  'lease:recycle': [lease: Lease, reason: RecycleReason];
}

/** Plain-JSON counters of a {@link Rebalancer}. */
export interface RebalancerStats {
  /** Rounds started. */
  readonly rounds: number;
  /** Leases asked to go. */
  readonly recycled: number;
  /** Per server: since when it has been over its share (clock ms), and its leases recycled so far. */
  readonly servers: Readonly<Record<string, { readonly overSince: number | undefined; readonly recycled: number }>>;
}

const KEYS = ['thresholdPercent', 'sustainMs', 'intervalMs', 'spreadMs', 'minLeases', 'clock'] as const;

/** What the rebalancer reads of a balancer: its pool and the grant and release of its leases. */
export type RebalanceSource = Pick<Balancer, 'pool' | 'on' | 'off'>;

/**
 * Rebalances long-lived connections: database and cache clients keep their pooled connections, so after a server
 * comes back (or when the spread is uneven) traffic never returns to it until the client happens to reconnect.
 * Every `intervalMs` the rebalancer compares each eligible server's share of the balancer's leases with the share
 * its effective weight gives it; a server over it by more than `thresholdPercent` for `sustainMs` has its excess
 * leases recycled (`lease.recycle({ kind: 'imbalance', … })`), oldest first, spread over `spreadMs`. The holders
 * (`balancer.connect()`, `createConnection()`, the ioredis, pg and mysql2 adapters) close each connection at its
 * first idle moment; the client opens another, which the balancer places again. Eligible servers are the usable
 * ones of the highest-priority tier that has one (actives before backups). Leases nobody honours are skipped.
 *
 * @example
 * ```ts
 * const balancer = new Balancer(pool, { strategy: 'leastconn' })
 * const rebalancer = new Rebalancer(balancer, { thresholdPercent: 25, sustainMs: 30_000 })
 * rebalancer.on('rebalance:start', (server, count) => log.info({ server: server.name, count }, 'rebalancing'))
 * const db = new pg.Pool({ max: 20, stream: pgStream(balancer) })   // pg.Pool: handle its 'error' event
 * ```
 */
export class Rebalancer extends EventEmitter<RebalancerEvents> {
  readonly #source: RebalanceSource;
  readonly #clock: Clock;
  readonly #thresholdPercent: number;
  readonly #sustainMs: number;
  readonly #intervalMs: number;
  readonly #spreadMs: number;
  readonly #minLeases: number;
  /** Live leases of the balancer by server, oldest first (a Set keeps insertion order). */
  readonly #leases = new Map<Server, Set<Lease>>();
  readonly #overSince = new Map<Server, number>();
  readonly #recycledBy = new Map<string, number>();
  /** Servers with a round under way, and its pending timer. */
  readonly #rounds = new Map<Server, TimerHandle>();
  readonly #onAcquire = (lease: Lease): void => {
    let set = this.#leases.get(lease.server);
    if (set === undefined) this.#leases.set(lease.server, (set = new Set()));
    set.add(lease);
  };
  readonly #onRelease = (lease: Lease): void => {
    const set = this.#leases.get(lease.server);
    if (set === undefined) return;
    set.delete(lease);
    if (set.size === 0) this.#leases.delete(lease.server);
  };
  #timer: TimerHandle | undefined;
  #roundCount = 0;
  #recycled = 0;
  #closed = false;

  constructor(balancer: RebalanceSource, options: RebalancerOptions = {}) {
    super();
    if (typeof balancer !== 'object' || balancer === null || typeof balancer.on !== 'function' || typeof balancer.pool?.servers !== 'object') {
      throw invalidArg('balancer', 'must be a Balancer', balancer);
    }
    const o = v.plainObject('rebalancer options', options);
    v.knownKeys('rebalancer options', o, KEYS);
    const d = REBALANCER_DEFAULTS;
    const threshold = o['thresholdPercent'] ?? d.thresholdPercent;
    if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
      throw invalidArg('thresholdPercent', 'must be a number of 0 or more', threshold);
    }
    this.#thresholdPercent = threshold;
    this.#sustainMs = v.durationMs('sustainMs', o['sustainMs'] ?? d.sustainMs);
    this.#intervalMs = v.durationMs('intervalMs', o['intervalMs'] ?? d.intervalMs, { allowZero: false });
    this.#spreadMs = v.durationMs('spreadMs', o['spreadMs'] ?? d.spreadMs);
    this.#minLeases = v.nonNegativeInteger('minLeases', o['minLeases'] ?? d.minLeases);
    const clock = (o['clock'] as Clock | undefined) ?? balancer.pool.clock;
    if (typeof clock !== 'object' || clock === null || typeof clock.setTimeout !== 'function' || typeof clock.now !== 'function') {
      throw invalidArg('clock', 'must be a Clock with now() and setTimeout()', clock);
    }
    this.#clock = clock;
    this.#source = balancer;
    balancer.on('lease:acquire', this.#onAcquire);
    balancer.on('lease:release', this.#onRelease);
    this.#schedule();
  }

  /** Compares the shares now (the timer does it every `intervalMs`); starts the rounds that are due. */
  evaluate(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const servers = this.#eligible();
    let total = 0;
    let weights = 0;
    for (const s of servers) {
      total += this.#count(s);
      weights += s.effectiveWeight;
    }
    if (servers.length < 2 || total < this.#minLeases || weights <= 0) {
      this.#overSince.clear();
      return;
    }
    for (const s of this.#overSince.keys()) if (!servers.includes(s)) this.#overSince.delete(s);
    for (const s of servers) {
      const weightShare = s.effectiveWeight / weights;
      const count = this.#count(s);
      if (count / total <= weightShare * (1 + this.#thresholdPercent / 100)) {
        this.#overSince.delete(s);
        continue;
      }
      const since = this.#overSince.get(s);
      if (since === undefined) this.#overSince.set(s, now);
      if (since === undefined || now - since < this.#sustainMs || this.#rounds.has(s)) continue;
      const excess = count - Math.ceil(weightShare * total);
      if (excess <= 0) continue;
      const reason: RecycleReason = { kind: 'imbalance', sharePercent: round2((100 * count) / total), weightSharePercent: round2(100 * weightShare) };
      // The sustain window starts again after a round: the recycled connections need time to be placed again.
      this.#overSince.set(s, now);
      this.#roundCount++;
      this.emit('rebalance:start', s, excess, reason);
      this.#recycleNext(s, excess, excess, reason);
    }
  }

  stats(): RebalancerStats {
    const servers: Record<string, { overSince: number | undefined; recycled: number }> = {};
    for (const s of this.#source.pool.servers) servers[s.name] = { overSince: this.#overSince.get(s), recycled: this.#recycledBy.get(s.name) ?? 0 };
    return { rounds: this.#roundCount, recycled: this.#recycled, servers };
  }

  /** Stops comparing and cancels the rounds under way (leases asked to go already stay asked). Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#timer?.cancel();
      this.#timer = undefined;
      for (const t of this.#rounds.values()) t.cancel();
      this.#rounds.clear();
      this.#source.off('lease:acquire', this.#onAcquire);
      this.#source.off('lease:release', this.#onRelease);
      this.#leases.clear();
    }
    return Promise.resolve();
  }

  /** Same as {@link Rebalancer.close}: the rebalancer owns timers only. */
  destroy(): void {
    void this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.evaluate();
      if (!this.#closed) this.#schedule();
    }, this.#intervalMs);
  }

  /** Recycles one lease of `server` now, and schedules the next `spreadMs / count` later while some are left. */
  #recycleNext(server: Server, left: number, count: number, reason: RecycleReason): void {
    this.#rounds.delete(server);
    if (this.#closed || left <= 0) return;
    const lease = this.#pickLease(server);
    if (lease === undefined) return;
    lease.recycle(reason);
    this.#recycled++;
    this.#recycledBy.set(server.name, (this.#recycledBy.get(server.name) ?? 0) + 1);
    this.emit('lease:recycle', lease, reason);
    if (left > 1) this.#rounds.set(server, this.#clock.setTimeout(() => this.#recycleNext(server, left - 1, count, reason), this.#spreadMs / count));
  }

  /** The oldest lease of `server` that a holder honours and that is not asked to go already. */
  #pickLease(server: Server): Lease | undefined {
    for (const lease of this.#leases.get(server) ?? []) if (lease.recyclable && lease.recycleReason === undefined) return lease;
    return undefined;
  }

  /** Leases of `server` not asked to go yet: the ones that still count. */
  #count(server: Server): number {
    let n = 0;
    for (const lease of this.#leases.get(server) ?? []) if (lease.recycleReason === undefined) n++;
    return n;
  }

  /** The usable servers of the highest-priority tier that has one, actives before backups. */
  #eligible(): Server[] {
    let best: Server[] = [];
    let bestRank = Infinity;
    for (const s of this.#source.pool.servers) {
      if (!s.usable) continue;
      const rank = s.priority * 2 + (s.backup ? 1 : 0);
      if (rank < bestRank) {
        bestRank = rank;
        best = [s];
      } else if (rank === bestRank) best.push(s);
    }
    return best;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
