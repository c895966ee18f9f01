import type { EventEmitter } from 'eventemitter3';
import * as v from './internal/validate.js';
import type { PoolEvents, Tier, TierLocality, TierOptions, TierSnapshot } from './pool-events.js';
import { DEFAULT_TIER_OPTIONS, type ResolvedTierOptions, TIER_KEYS, resolveTierOptions } from './pool-tier-options.js';
import type { Server } from './server.js';

export { TIER_DEFAULTS } from './pool-tier-options.js';

/** The tag that names a server's locality: `server.tags.locality` (`''` without it). */
export const LOCALITY_TAG = 'locality';

/** A server's locality: its `locality` tag, `''` without one. */
export function localityOf(server: Server): string {
  return server.tags[LOCALITY_TAG] ?? '';
}

/** A change of the tier plan worth an event. */
export type TierChange =
  | { readonly kind: 'load'; readonly priority: number; readonly loadPercent: number; readonly previous: number }
  | { readonly kind: 'panic'; readonly priority: number; readonly panic: boolean; readonly usablePercent: number };

/**
 * True when a server counts in its tier's share and may be used in panic: admin state `ready`, weight above 0,
 * not NOLB, and no `drain` hold (an `out` hold and being down by checks are what panic overrides).
 */
export function panicEligible(s: Server): boolean {
  if (s.adminState !== 'ready' || s.weight === 0 || s.operationalState === 'stopping') return false;
  const holds = s.holds;
  if (holds.size === 0) return true;
  for (const kind of holds.values()) if (kind === 'drain') return false;
  return true;
}

class Group {
  readonly usable: Server[] = [];
  readonly eligible: Server[] = [];
}

class LocalityGroup extends Group implements TierLocality {
  weight = 0;
  effectiveWeight = 0;
  constructor(readonly name: string) {
    super();
  }
}

class TierGroup extends Group implements Tier {
  healthPercent = 0;
  loadPercent = 0;
  panic = false;
  version = 0;
  /** Members with this priority, in any state. */
  members = 0;
  readonly localities: LocalityGroup[] = [];
  readonly #byName = new Map<string, LocalityGroup>();
  constructor(readonly priority: number) {
    super();
  }

  /** Empties the lists before a rebuild; the plan (loads, panic) stays, to compare with; panic strategies restart. */
  clear(): void {
    this.members = 0;
    this.usable.length = 0;
    this.eligible.length = 0;
    for (const l of this.localities) {
      l.usable.length = 0;
      l.eligible.length = 0;
    }
    this.version++;
  }

  locality(name: string): LocalityGroup {
    let l = this.#byName.get(name);
    if (l === undefined) {
      l = new LocalityGroup(name);
      this.#byName.set(name, l);
      this.localities.push(l);
    }
    return l;
  }
}

/**
 * @internal
 * The priority tiers of one pool and Envoy's arithmetic over them (`LoadBalancerBase::recalculatePerPriorityState`,
 * `recalculatePerPriorityPanic`, `recalculateLoadInTotalPanic`, `HostSetImpl::effectiveLocalityWeight`). Kept only
 * once the pool needs it (a priority above 0, locality weights or a panic threshold): a pool that never does keeps
 * HAProxy's rule alone and pays nothing. Pure bookkeeping: the {@link Pool} reports membership and state changes.
 */
export class PoolTiers {
  /** True once the tier lists are kept. */
  active = false;
  options: ResolvedTierOptions;
  readonly #byPriority = new Map<number, TierGroup>();
  /** Tiers by ascending priority. */
  readonly list: TierGroup[] = [];
  readonly #rank: (s: Server) => number;
  /** Inside a pool batch: changes only mark the lists stale; they are rebuilt once when it ends. */
  #deferred = false;
  #stale = false;

  constructor(options: ResolvedTierOptions, rank: (s: Server) => number) {
    this.options = options;
    this.#rank = rank;
  }

  /** The tiers of a new pool, from the pool's validated options object (its tier keys). */
  static fromPoolOptions(o: Record<string, unknown>, rank: (s: Server) => number): PoolTiers {
    const given: Record<string, unknown> = {};
    for (const k of TIER_KEYS) if (k in o) given[k] = o[k];
    const tiers = new PoolTiers(resolveTierOptions(given, DEFAULT_TIER_OPTIONS), rank);
    if (tiers.wanted()) tiers.activate([]);
    return tiers;
  }

  /** Validates and applies new options (each validated before any applies); the caller announces. */
  update(options: TierOptions, members: readonly Server[]): void {
    this.setOptions(resolveTierOptions(v.plainObject('tier options', options), this.options));
    if (this.wanted()) this.activate(members);
  }

  /** Recomputes the plan and emits what changed on the pool (`tier:load`, `tier:panic`). */
  announce(pool: EventEmitter<PoolEvents>): void {
    if (!this.active) return;
    for (const c of this.recompute()) {
      if (c.kind === 'load') pool.emit('tier:load', c.priority, c.loadPercent, c.previous);
      else pool.emit('tier:panic', c.priority, c.panic, c.usablePercent);
    }
  }

  /** True when the tier rule replaces HAProxy's: several tiers, a tier other than 0, locality weights or panic. */
  get tiered(): boolean {
    const o = this.options;
    return this.active && (this.list.length > 1 || this.list[0]?.priority !== 0 || o.panicThresholdPercent > 0 || o.localityWeights !== undefined);
  }

  /** True when the options alone ask for the tier rule. */
  wanted(): boolean {
    return this.options.panicThresholdPercent > 0 || this.options.localityWeights !== undefined;
  }

  tier(priority: number): Tier | undefined {
    return this.#byPriority.get(priority);
  }

  /** Starts keeping the lists, from the current members. */
  activate(members: readonly Server[]): void {
    if (this.active) return;
    this.active = true;
    for (const s of members) this.add(s);
  }

  /**
   * Stops (`true`) keeping the lists in step one change at a time (a pool batch), or resumes (`false`, with the
   * members), rebuilding them in one pass if anything changed meanwhile: a 10 000-server list is not applied
   * with a binary search and a splice per server and list.
   */
  defer(deferred: boolean, members: readonly Server[] = []): void {
    this.#deferred = deferred;
    if (deferred || !this.#stale) return;
    this.#stale = false;
    for (const t of this.list) t.clear();
    for (const s of members) if (!s.backup) this.#place(s, (list) => list.push(s));
    for (let i = this.list.length - 1; i >= 0; i--) {
      const t = this.list[i]!;
      if (t.members > 0) continue;
      this.#byPriority.delete(t.priority);
      this.list.splice(i, 1);
    }
  }

  add(server: Server): void {
    if (this.#deferred) {
      this.#stale = true;
      return;
    }
    if (!server.backup) this.#place(server, (list) => this.#insert(list, server));
  }

  /** Puts a member in its tier's and locality's lists with `put` (a sorted insert, or a push in declaration order). */
  #place(server: Server, put: (list: Server[]) => void): void {
    const tier = this.#tierFor(server.priority);
    tier.members++;
    const loc = tier.locality(localityOf(server));
    loc.weight = this.options.localityWeights?.get(loc.name) ?? 0;
    if (server.usable) {
      put(tier.usable);
      put(loc.usable);
    }
    if (panicEligible(server)) {
      put(tier.eligible);
      put(loc.eligible);
      tier.version++;
    }
  }

  remove(server: Server): void {
    if (this.#deferred) {
      this.#stale = true;
      return;
    }
    if (server.backup) return;
    const tier = this.#byPriority.get(server.priority);
    if (tier === undefined) return;
    const loc = tier.locality(localityOf(server));
    this.#drop(tier.usable, server);
    this.#drop(loc.usable, server);
    if (this.#drop(tier.eligible, server)) tier.version++;
    this.#drop(loc.eligible, server);
    if (--tier.members === 0) {
      this.#byPriority.delete(tier.priority);
      this.list.splice(this.list.indexOf(tier), 1);
    }
  }

  /**
   * A member is about to take `tags`: when the tiers are kept and its locality changes, it leaves its lists (the
   * pool adds it again once the tags are set) and this returns true.
   */
  leaveLocality(server: Server, tags: Readonly<Record<string, string>>): boolean {
    if (!this.active || localityOf(server) === (tags[LOCALITY_TAG] ?? '')) return false;
    this.remove(server);
    return true;
  }

  /** A member changed: moves it between the lists. Returns true when a count changed. */
  changed(server: Server, wasUsable: boolean, wasEligible: boolean, previousEffectiveWeight: number): boolean {
    if (!this.active || server.backup) return false;
    if (this.#deferred) {
      this.#stale = true;
      return false;
    }
    const weightChanged = previousEffectiveWeight !== server.effectiveWeight;
    const tier = this.#byPriority.get(server.priority);
    if (tier === undefined) return false;
    const loc = tier.locality(localityOf(server));
    const usable = server.usable;
    const eligible = panicEligible(server);
    if (usable !== wasUsable) {
      if (usable) {
        this.#insert(tier.usable, server);
        this.#insert(loc.usable, server);
      } else {
        this.#drop(tier.usable, server);
        this.#drop(loc.usable, server);
      }
    }
    if (eligible !== wasEligible) {
      if (eligible) {
        this.#insert(tier.eligible, server);
        this.#insert(loc.eligible, server);
      } else {
        this.#drop(tier.eligible, server);
        this.#drop(loc.eligible, server);
      }
    }
    if (eligible !== wasEligible || (eligible && weightChanged)) tier.version++;
    return usable !== wasUsable || eligible !== wasEligible;
  }

  /** New options: locality weights are re-read, tiers recomputed by the caller. */
  setOptions(options: ResolvedTierOptions): void {
    this.options = options;
    for (const t of this.list) {
      for (const l of t.localities) l.weight = options.localityWeights?.get(l.name) ?? 0;
      t.version++;
    }
  }

  /**
   * Recomputes health, loads, panic flags and locality weights (Envoy's integer arithmetic, factor in %),
   * returning what changed. O(tiers + localities).
   */
  recompute(): TierChange[] {
    const changes: TierChange[] = [];
    const tiers = this.list;
    const f = Math.round(this.options.overprovisioningFactor * 100);
    const threshold = this.options.panicThresholdPercent;
    let total = 0;
    for (const t of tiers) {
      const e = t.eligible.length;
      t.healthPercent = e === 0 ? 0 : Math.min(100, Math.floor((f * t.usable.length) / e));
      total += t.healthPercent;
      for (const l of t.localities) {
        const le = l.eligible.length;
        l.effectiveWeight = le === 0 ? 0 : l.weight * Math.min(1, ((f / 100) * l.usable.length) / le);
      }
    }
    total = Math.min(100, total);
    const loads = tiers.map(() => 0);
    const panics = tiers.map(() => false);
    if (total > 0) {
      let remaining = 100;
      let first = -1;
      tiers.forEach((t, i) => {
        if (first < 0 && t.healthPercent > 0) first = i;
        loads[i] = Math.min(remaining, Math.floor((t.healthPercent * 100) / total));
        remaining -= loads[i]!;
      });
      if (remaining > 0 && first >= 0) loads[first]! += remaining;
    }
    if (threshold > 0 && total < 100 && tiers.length > 0) {
      let all = true;
      tiers.forEach((t, i) => {
        panics[i] = usablePercent(t) < threshold;
        all &&= panics[i]!;
      });
      if (all) totalPanicLoads(tiers, loads);
    }
    tiers.forEach((t, i) => {
      if (t.loadPercent !== loads[i]) {
        changes.push({ kind: 'load', priority: t.priority, loadPercent: loads[i]!, previous: t.loadPercent });
        t.loadPercent = loads[i]!;
      }
      if (t.panic !== panics[i]) {
        t.panic = panics[i]!;
        changes.push({ kind: 'panic', priority: t.priority, panic: t.panic, usablePercent: usablePercent(t) });
      }
    });
    return changes;
  }

  snapshot(): TierSnapshot[] {
    const weighted = this.options.localityWeights !== undefined;
    return this.list.map((t) => ({
      priority: t.priority,
      servers: t.eligible.length,
      usable: t.usable.length,
      healthPercent: t.healthPercent,
      loadPercent: t.loadPercent,
      panic: t.panic,
      ...(weighted
        ? { localities: t.localities.map((l) => ({ name: l.name, weight: l.weight, effectiveWeight: l.effectiveWeight, usable: l.usable.length, servers: l.eligible.length })) }
        : {}),
    }));
  }

  #tierFor(priority: number): TierGroup {
    let t = this.#byPriority.get(priority);
    if (t === undefined) {
      t = new TierGroup(priority);
      this.#byPriority.set(priority, t);
      let at = this.list.findIndex((x) => x.priority > priority);
      if (at < 0) at = this.list.length;
      this.list.splice(at, 0, t);
    }
    return t;
  }

  /** Where `server` is or would go in a list sorted by declaration rank (binary search: members keep their rank). */
  #at(list: readonly Server[], server: Server): number {
    const rank = this.#rank(server);
    let lo = 0;
    let hi = list.length;
    // Appending in declaration order is the common case: check the end first.
    if (hi > 0 && this.#rank(list[hi - 1]!) < rank) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#rank(list[mid]!) < rank) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #insert(list: Server[], server: Server): void {
    const at = this.#at(list, server);
    if (list[at] !== server) list.splice(at, 0, server);
  }

  #drop(list: Server[], server: Server): boolean {
    const at = this.#at(list, server);
    if (list[at] !== server) return false;
    list.splice(at, 1);
    return true;
  }
}

function usablePercent(t: Tier): number {
  return t.eligible.length === 0 ? 0 : (100 * t.usable.length) / t.eligible.length;
}

/** Envoy's total panic: every tier panics, so load follows the number of servers (eligible here) of each tier. */
function totalPanicLoads(tiers: readonly Tier[], loads: number[]): void {
  let sum = 0;
  for (const t of tiers) sum += t.eligible.length;
  loads.fill(0);
  if (sum === 0) return;
  let remaining = 100;
  let first = -1;
  tiers.forEach((t, i) => {
    if (first < 0 && t.eligible.length > 0) first = i;
    loads[i] = Math.floor((100 * t.eligible.length) / sum);
    remaining -= loads[i]!;
  });
  loads[first]! += remaining;
}
