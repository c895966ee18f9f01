import type { LbState, Pool, Tier, TierLocality } from './pool.js';
import { localityOf } from './pool-tiers.js';
import type { Server } from './server.js';
import { First } from './strategies/first.js';
import { LeastConn } from './strategies/leastconn.js';
import { PowerOfTwoChoices } from './strategies/p2c.js';
import { RandomStrategy } from './strategies/random.js';
import { RoundRobin } from './strategies/roundrobin.js';
import { SmoothWeightedRoundRobin } from './strategies/smooth-weighted-rr.js';
import { SourceHash } from './strategies/source.js';
import { StaticRoundRobin } from './strategies/static-rr.js';
import type { Strategy } from './strategies/strategy.js';

const NONE: readonly Server[] = Object.freeze([]);

interface PanicGroup {
  readonly strategy: Strategy;
  readonly members: Set<Server>;
  version: number;
}

/**
 * @internal
 * One strategy per group of candidates, so that strategies keep HAProxy's per-group state: the primary (given
 * to the balancer) serves priority 0 and the backups, exactly as before tiers existed; each other tier, each
 * weighted locality of a tier, and each tier in panic gets its own instance, made by `factory` the first time
 * it picks and reset with that group's servers. Hooks go to every instance that holds the server. Without a
 * factory (a user's strategy object), the primary is shared by every group.
 */
export class StrategyGroups {
  readonly primary: Strategy;
  readonly #factory: (() => Strategy) | undefined;
  readonly #tiers = new Map<number, Strategy>();
  /** By `priority \0 locality`. */
  readonly #localities = new Map<string, Strategy>();
  readonly #panic = new Map<number, PanicGroup>();

  constructor(primary: Strategy, factory: (() => Strategy) | undefined) {
    this.primary = primary;
    this.#factory = factory ?? rebuildOf(primary);
  }

  /** True when every group shares the primary (a user's object without a factory). */
  get shared(): boolean {
    return this.#factory === undefined;
  }

  /** The primary's `reset`: priority 0 and the backups (every non-backup server when shared). */
  reset(pool: Pool): void {
    const active = this.shared || !pool.tiered ? pool.activeUsable : (pool.tiers.find((t) => t.priority === 0)?.usable ?? NONE);
    this.primary.reset?.(active, pool.backupUsable);
  }

  /** The strategy of a tier (the primary for priority 0). */
  forTier(tier: Tier): Strategy {
    if (tier.priority === 0 || this.#factory === undefined) return this.primary;
    let s = this.#tiers.get(tier.priority);
    if (s === undefined) {
      s = this.#factory();
      s.reset?.(tier.usable, NONE);
      this.#tiers.set(tier.priority, s);
    }
    return s;
  }

  /** The strategy of a weighted locality of a tier. */
  forLocality(tier: Tier, locality: TierLocality): Strategy {
    if (this.#factory === undefined) return this.primary;
    const key = `${tier.priority}\u0000${locality.name}`;
    let s = this.#localities.get(key);
    if (s === undefined) {
      s = this.#factory();
      s.reset?.(locality.usable, NONE);
      this.#localities.set(key, s);
    }
    return s;
  }

  /**
   * The strategy of a tier in panic, over its eligible servers: rebuilt whenever the tier's eligible list or one
   * of their weights changed (the hooks follow usable servers only; a server going down stays eligible).
   */
  forPanic(tier: Tier): Strategy {
    if (this.#factory === undefined) return this.primary;
    let g = this.#panic.get(tier.priority);
    if (g === undefined || g.version !== tier.version) {
      g = { strategy: this.#factory(), members: new Set(tier.eligible), version: tier.version };
      g.strategy.reset?.(tier.eligible, NONE);
      this.#panic.set(tier.priority, g);
    }
    return g.strategy;
  }

  /** Forgets the panic strategy of tiers no longer in panic (called when a tier leaves panic). */
  panicEnded(priority: number): void {
    this.#panic.delete(priority);
  }

  /** Tells the strategies how `server` changed since `previous` (`now`: usable and a member); returns `now`. */
  changed(server: Server, previous: LbState, now: boolean): boolean {
    if (!previous.usable && now) this.serverUsable(server);
    else if (previous.usable && !now) this.serverUnusable(server);
    else if (now && previous.effectiveWeight !== server.effectiveWeight) this.weightChanged(server, previous.effectiveWeight);
    return now;
  }

  serverUsable(server: Server): void {
    this.#tierOf(server)?.serverUsable?.(server);
    this.#localityOf(server)?.serverUsable?.(server);
  }

  serverUnusable(server: Server): void {
    this.#tierOf(server)?.serverUnusable?.(server);
    this.#localityOf(server)?.serverUnusable?.(server);
  }

  weightChanged(server: Server, previous: number): void {
    this.#tierOf(server)?.weightChanged?.(server, previous);
    this.#localityOf(server)?.weightChanged?.(server, previous);
  }

  limitsChanged(server: Server): void {
    this.#each(server, (s) => s.limitsChanged?.(server));
  }

  acquired(server: Server): void {
    this.#each(server, (s) => s.acquired?.(server));
  }

  released(server: Server): void {
    this.#each(server, (s) => s.released?.(server));
  }

  /** The strategy of `server`'s tier: the primary for priority 0, the backups, or when shared. */
  #tierOf(server: Server): Strategy | undefined {
    if (this.#factory === undefined || server.backup || server.priority === 0) return this.primary;
    return this.#tiers.get(server.priority);
  }

  /** The strategy of `server`'s weighted locality, if it has one (never for backups or a shared strategy). */
  #localityOf(server: Server): Strategy | undefined {
    if (this.#factory === undefined || server.backup || this.#localities.size === 0) return undefined;
    return this.#localities.get(`${server.priority}\u0000${localityOf(server)}`);
  }

  /**
   * Calls `fn` on every strategy holding `server`, its tier's panic strategy included (load hooks). The usability
   * and weight hooks call the tier's and the locality's directly: a pool batch calls them for every server, without
   * a closure each.
   */
  #each(server: Server, fn: (s: Strategy) => void): void {
    const tier = this.#tierOf(server);
    if (tier !== undefined) fn(tier);
    const locality = this.#localityOf(server);
    if (locality !== undefined) fn(locality);
    if (this.#panic.size > 0 && this.#factory !== undefined && !server.backup) {
      const g = this.#panic.get(server.priority);
      if (g !== undefined && g.members.has(server)) fn(g.strategy);
    }
  }
}

/** A factory for a built-in strategy object (same class and options), so that each group gets its own. */
function rebuildOf(s: Strategy): (() => Strategy) | undefined {
  if (s instanceof SourceHash && s.constructor === SourceHash) return () => new SourceHash(s.options);
  if (s instanceof RandomStrategy && s.constructor === RandomStrategy) return () => new RandomStrategy(s.options);
  for (const C of [RoundRobin, StaticRoundRobin, LeastConn, First, SmoothWeightedRoundRobin, PowerOfTwoChoices]) {
    if (s.constructor === C) return () => new C();
  }
  return undefined;
}
