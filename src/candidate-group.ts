import type { Pool, Tier, TierLocality } from './pool.js';
import { localityOf, panicEligible } from './pool-tiers.js';
import type { Server } from './server.js';
import { addressKey, fullHash, sdbmHash } from './strategies/internal/hash.js';
import type { MutablePickContext } from './strategies/internal/pick-context.js';
import type { ServerGroup, Strategy } from './strategies/strategy.js';
import type { StrategyGroups } from './strategy-groups.js';

const EMPTY: readonly Server[] = Object.freeze([]);

/**
 * @internal
 * Which servers the next pick is made among, and by which strategy.
 *
 * HAProxy's rule (reference §2.2), for a pool without tiers: the usable active servers; when there is none, the
 * first usable backup, or every usable backup with `allBackups`. One per balancer: the one-backup list is reused,
 * so choosing allocates nothing.
 *
 * The tier rule (Envoy's, `pool.tiered`): a tier is chosen by the loads the pool computed (spill with the
 * overprovisioning factor); a tier in panic offers its eligible servers, usable or not; otherwise, when
 * localities are weighted, a locality of the tier is chosen by effective weight, else the whole tier. Backups
 * keep HAProxy's rule and come in only when no tier has a usable server, before any panic. The choices are a
 * smooth weighted round robin (deterministic, exact shares over a window), or for a hash strategy with a key
 * or client address, by the key's hash (a key stays in its tier and locality, as Envoy's hash balancers do).
 */
export class CandidateGroup {
  /** The group of the last {@link CandidateGroup.candidates} call, for the strategy's pick context. */
  group: ServerGroup = 'active';
  /** True when the last call chose the first backup alone: nothing is left for the strategy to decide. */
  firstBackupOnly = false;
  /** True when the last candidates are a tier in panic. */
  panic = false;
  /** The strategy that picks among the last candidates. */
  strategy: Strategy;
  readonly #groups: StrategyGroups;
  readonly #first: Server[] = [];
  /** Smooth weighted round robin state of the tier and locality choices. */
  readonly #current = new Map<Tier | TierLocality, number>();
  /** The tier and locality of the last tiered selection, for {@link CandidateGroup.rejects}. */
  #tier: Tier | undefined;
  #locality: TierLocality | undefined;
  readonly #scratch = new Uint16Array(8);

  constructor(groups: StrategyGroups) {
    this.#groups = groups;
    this.strategy = groups.primary;
  }

  /** HAProxy's rule: the usable actives, else the first usable backup (all of them with `allBackups`). */
  candidates(pool: Pool): readonly Server[] {
    this.firstBackupOnly = false;
    this.panic = false;
    this.strategy = this.#groups.primary;
    if (pool.activeUsable.length > 0) {
      this.group = 'active';
      return pool.activeUsable;
    }
    return this.#backups(pool);
  }

  /**
   * The candidates of one pick (HAProxy's rule, or the tier rule when the pool is tiered), setting
   * {@link CandidateGroup.strategy} and the context's `group`, `tier`, `locality` and `panic`.
   */
  select(pool: Pool, ctx: MutablePickContext): readonly Server[] {
    ctx.tier = 0;
    ctx.locality = undefined;
    ctx.panic = false;
    this.#tier = this.#locality = undefined;
    if (!pool.tiered) {
      const c = this.candidates(pool);
      ctx.group = this.group;
      return c;
    }
    this.firstBackupOnly = false;
    this.panic = false;
    const tiers = pool.tiers;
    if (!anyUsable(tiers) && pool.backupUsable.length > 0) {
      this.strategy = this.#groups.primary;
      ctx.group = 'backup';
      return this.#backups(pool);
    }
    this.group = ctx.group = 'active';
    const hash = this.#hash(ctx);
    const tier = this.#chooseTier(tiers, hash);
    if (tier === undefined) {
      this.strategy = this.#groups.primary;
      return EMPTY;
    }
    ctx.tier = tier.priority;
    this.#tier = tier;
    if (tier.panic) {
      this.panic = ctx.panic = true;
      this.strategy = this.#groups.forPanic(tier);
      return tier.eligible;
    }
    const locality = this.#chooseLocality(tier, hash);
    if (locality !== undefined) {
      this.#locality = locality;
      ctx.locality = locality.name;
      this.strategy = this.#groups.forLocality(tier, locality);
      return locality.usable;
    }
    this.strategy = this.#groups.forTier(tier);
    return tier.usable;
  }

  /**
   * Why `server` (what a strategy returned from the last {@link CandidateGroup.select}) is not one of the candidates,
   * or `undefined` when it is: a member of the pool, usable, in the group picks were made among (its tier and
   * locality with tiers) — or, for a tier in panic, an eligible server of that tier.
   */
  rejects(pool: Pool, server: Server): string | undefined {
    if (!pool.has(server)) return `not a server of pool ${JSON.stringify(pool.name)} (removed, of another pool, or not a Server)`;
    const name = JSON.stringify(server.name);
    const tier = this.#tier;
    if (this.panic && tier !== undefined) {
      if (!server.backup && server.priority === tier.priority && panicEligible(server)) return undefined;
      return `server ${name} is not an eligible server of priority ${tier.priority}, the tier in panic picked from`;
    }
    if (!server.usable) return `server ${name} is not usable (${server.status}${server.hold === undefined ? '' : `, held ${server.hold}`})`;
    if (tier === undefined || server.backup) {
      return CandidateGroup.includes(pool, server) && (tier === undefined || this.group === 'backup')
        ? undefined
        : `server ${name} is a backup and is not in the group picked from`;
    }
    if (server.priority !== tier.priority) return `server ${name} has priority ${server.priority}, not ${tier.priority}, the tier picked from`;
    const locality = this.#locality;
    if (locality !== undefined && localityOf(server) !== locality.name) {
      return `server ${name} is in locality ${JSON.stringify(localityOf(server))}, not ${JSON.stringify(locality.name)}, the one picked from`;
    }
    return undefined;
  }

  /** True when a tier in panic can take a connection although no server is usable (Envoy's total panic). */
  static panicAvailable(pool: Pool): boolean {
    if (!pool.tiered) return false;
    for (const t of pool.tiers) if (t.panic && t.loadPercent > 0 && t.eligible.length > 0) return true;
    return false;
  }

  /** True when a usable member `server` is in the group picks are made among now. */
  static includes(pool: Pool, server: Server): boolean {
    if (!pool.tiered) {
      if (!server.backup) return true;
      if (pool.activeUsable.length > 0) return false;
      return pool.allBackups || pool.backupUsable[0] === server;
    }
    if (server.backup) return !anyUsable(pool.tiers) && (pool.allBackups || pool.backupUsable[0] === server);
    for (const t of pool.tiers) if (t.priority === server.priority) return t.loadPercent > 0;
    return false;
  }

  /** The usable servers a freed slot or a returning server may serve waiters from. */
  dispatchTargets(pool: Pool): readonly Server[] {
    if (!pool.tiered) return this.candidates(pool);
    if (!anyUsable(pool.tiers)) return this.#backups(pool);
    const out: Server[] = [];
    for (const t of pool.tiers) if (t.loadPercent > 0) out.push(...t.usable);
    return out;
  }

  #backups(pool: Pool): readonly Server[] {
    this.group = 'backup';
    if (pool.allBackups) return pool.backupUsable;
    const first = pool.backupUsable[0];
    if (first === undefined) return EMPTY;
    this.#first[0] = first;
    this.firstBackupOnly = true;
    return this.#first;
  }

  /** The hash a hash strategy places by (its key, else the client address), or -1 to use the round robin. */
  #hash(ctx: MutablePickContext): number {
    if (this.#groups.primary.usesServerQueues !== true) return -1;
    const key = ctx.key;
    if (typeof key === 'number') return fullHash(key >>> 0);
    if (typeof key === 'string') return fullHash(sdbmHash(key));
    if (ctx.clientAddress !== undefined) {
      const k = addressKey(ctx.clientAddress, this.#scratch);
      if (k !== undefined) return fullHash(k);
    }
    return -1;
  }

  /** Envoy's `choosePriority()` over the loads: by `hash % 100 + 1`, or a smooth round robin. */
  #chooseTier(tiers: readonly Tier[], hash: number): Tier | undefined {
    if (hash >= 0) {
      const point = (hash % 100) + 1;
      let sum = 0;
      for (const t of tiers) {
        sum += t.loadPercent;
        if (t.loadPercent > 0 && point <= sum) return t;
      }
      return undefined;
    }
    return this.#smooth(tiers, LOAD);
  }

  /** A locality of `tier` by effective weight, or undefined when none has any (then the whole tier is used). */
  #chooseLocality(tier: Tier, hash: number): TierLocality | undefined {
    const localities = tier.localities;
    if (localities.length === 0) return undefined;
    if (hash >= 0) {
      let total = 0;
      for (const l of localities) total += l.effectiveWeight;
      if (total <= 0) return undefined;
      const point = (fullHash(hash) / 0x1_0000_0000) * total;
      let sum = 0;
      for (const l of localities) {
        sum += l.effectiveWeight;
        if (l.effectiveWeight > 0 && point < sum) return l;
      }
      return undefined;
    }
    return this.#smooth(localities, EFFECTIVE_WEIGHT);
  }

  /** Nginx's smooth weighted round robin over a few weighted items: exact shares, evenly spread. O(items). */
  #smooth<T extends Tier | TierLocality>(items: readonly T[], weightOf: (item: T) => number): T | undefined {
    let total = 0;
    let best: T | undefined;
    let bestCurrent = -Infinity;
    for (const item of items) {
      const w = weightOf(item);
      if (w <= 0) continue;
      const c = (this.#current.get(item) ?? 0) + w;
      this.#current.set(item, c);
      total += w;
      if (c > bestCurrent) {
        bestCurrent = c;
        best = item;
      }
    }
    if (best !== undefined) this.#current.set(best, bestCurrent - total);
    return best;
  }
}

const LOAD = (t: Tier): number => t.loadPercent;
const EFFECTIVE_WEIGHT = (l: TierLocality): number => l.effectiveWeight;

function anyUsable(tiers: readonly Tier[]): boolean {
  for (const t of tiers) if (t.usable.length > 0) return true;
  return false;
}
