import type { EventEmitter } from 'eventemitter3';
import { publishPoolEmpty, publishPoolRecovered } from './diagnostics.js';
import { LbError, describe, invalidArg } from './errors.js';
import * as v from './internal/validate.js';
import type { PoolEvents, PoolSnapshot, TierSnapshot } from './pool-events.js';
import type { Server, ServerOptions } from './server.js';

/**
 * @internal
 * The membership of one pool: its servers in declaration order, by name and by id, and the usable active and
 * backup servers kept sorted in declaration order (so the strategies and the backup rule read them directly).
 * Pure bookkeeping; the {@link Pool} decides when a server is usable and calls {@link PoolMembers.setUsable}.
 *
 * Costs, for pools of many thousand servers: a removal marks the declaration list for compaction (done once, on
 * its next read) instead of searching and splicing it; a server enters or leaves a usable list by a binary
 * search on its rank. While {@link PoolMembers.deferUsable} is on (a pool batch), the usable lists are not
 * touched at all and are rebuilt in one pass when they are next read or when deferring ends.
 */
export class PoolMembers {
  /** Declaration order; may still hold removed servers while `#compact` is pending. */
  #servers: Server[] = [];
  #active: Server[] = [];
  #backup: Server[] = [];
  readonly #ids = new Set<number>();
  readonly #byName = new Map<string, Server>();
  /** Member → its rank key: increasing in declaration order, never reused (a removal leaves a gap). */
  readonly #order = new Map<Server, number>();
  #nextOrder = 0;
  /** `#servers` holds removed servers. */
  #compact = false;
  /** The usable lists are out of date (changes made while deferring). */
  #usableStale = false;
  #defer = false;
  /** Every id in `[from, to)` is taken: where the next free-id search may start (see #nextFreeId). */
  #taken: { from: number; to: number } | undefined = undefined;
  #emptyAnnounced = false;
  /** Times the pool lost its last usable server. */
  emptyTransitions = 0;

  /** Members in declaration order (a live view, replaced after removals: do not keep it). */
  get servers(): readonly Server[] {
    if (this.#compact) {
      this.#servers = this.#servers.filter((s) => this.#order.has(s));
      this.#compact = false;
    }
    return this.#servers;
  }

  get size(): number {
    return this.#order.size;
  }

  /** Usable active members in declaration order. */
  get active(): readonly Server[] {
    if (this.#usableStale) this.#rebuildUsable();
    return this.#active;
  }

  /** Usable backup members in declaration order. */
  get backup(): readonly Server[] {
    if (this.#usableStale) this.#rebuildUsable();
    return this.#backup;
  }

  /** True when at least one server is usable. */
  get available(): boolean {
    return this.active.length > 0 || this.backup.length > 0;
  }

  /**
   * What a change did to availability, given whether the pool was available before it: `empty` when the last
   * usable server went, `recovered` when one came back after an `empty`, otherwise `undefined`.
   */
  availabilityChange(wasAvailable: boolean): 'empty' | 'recovered' | undefined {
    const now = this.available;
    if (wasAvailable && !now) {
      this.#emptyAnnounced = true;
      this.emptyTransitions++;
      return 'empty';
    }
    if (!wasAvailable && now && this.#emptyAnnounced) {
      this.#emptyAnnounced = false;
      return 'recovered';
    }
    return undefined;
  }

  /** Emits `pool:empty` / `pool:recovered` (and publishes them) for what a change did to availability. */
  announceAvailability(pool: EventEmitter<PoolEvents> & { readonly name: string }, wasAvailable: boolean): void {
    const change = this.availabilityChange(wasAvailable);
    if (change === 'empty') {
      pool.emit('pool:empty');
      publishPoolEmpty(pool);
    } else if (change === 'recovered') {
      pool.emit('pool:recovered');
      publishPoolRecovered(pool);
    }
  }

  /** A plain-JSON copy of the pool and its servers. */
  snapshot(name: string, allBackups: boolean, tiers: readonly TierSnapshot[] | undefined): PoolSnapshot {
    return {
      name,
      allBackups,
      activeUsable: this.active.length,
      backupUsable: this.backup.length,
      ...(tiers === undefined ? {} : { tiers }),
      servers: this.servers.map((s) => s.snapshot()),
    };
  }

  find(name: string): Server | undefined {
    return this.#byName.get(name);
  }

  /** The member called `name`; throws `ERR_LB_UNKNOWN_SERVER` naming the pool if there is none. */
  get(pool: string, name: string): Server {
    const server = this.#byName.get(name);
    if (server === undefined) {
      throw new LbError('ERR_LB_UNKNOWN_SERVER', `pool ${JSON.stringify(pool)} has no server named ${JSON.stringify(name)}`, {
        details: { pool, server: name },
      });
    }
    return server;
  }

  has(server: Server): boolean {
    return this.#order.has(server);
  }

  /** Declaration rank key of a member (increasing in declaration order), -1 for a server that is not a member. */
  rank(server: Server): number {
    return this.#order.get(server) ?? -1;
  }

  /**
   * The id of a server about to be added: its own, or the smallest from `size + 1` on that no member has (HAProxy
   * numbers servers from 1). Throws `ERR_LB_DUPLICATE_SERVER` for a name in use and `ERR_LB_INVALID_ARG` for a bad
   * or taken id; the rest of the options are validated by the Server.
   */
  newId(pool: string, options: ServerOptions): number {
    const name = v.plainObject('server', options)['name'];
    if (typeof name === 'string' && this.#byName.has(name)) {
      throw new LbError('ERR_LB_DUPLICATE_SERVER', `server.name ${JSON.stringify(name)} is already used in pool ${JSON.stringify(pool)}`, {
        details: { field: 'server.name', received: name },
      });
    }
    // The name is not validated yet: describe() renders any value without throwing.
    const id = options.id === undefined ? this.#nextFreeId() : v.positiveInteger(`server ${describe(name)}: id`, options.id);
    if (this.#ids.has(id)) throw invalidArg(`server ${describe(name)}: id`, 'must be unique in the pool', id);
    return id;
  }

  /**
   * The smallest id from `size + 1` on that no member has. A pool that keeps replacing servers would scan the same
   * run of taken ids on every addition; the run found last time is remembered (and cut short when one of its ids
   * is freed), so a search starting inside it resumes at its end.
   */
  #nextFreeId(): number {
    const start = this.#order.size + 1;
    const t = this.#taken;
    let id = t !== undefined && t.from <= start && start < t.to ? t.to : start;
    while (this.#ids.has(id)) id++;
    this.#taken = { from: start, to: id };
    return id;
  }

  /** Appends a server at the end of the declaration order. */
  append(server: Server): void {
    this.#servers.push(server);
    this.#ids.add(server.id);
    if (this.#taken !== undefined && this.#taken.to === server.id) this.#taken.to++;
    this.#byName.set(server.name, server);
    this.#order.set(server, this.#nextOrder++);
  }

  /** Removes a member (and from its usable list). */
  delete(server: Server): void {
    this.setUsable(server, false);
    this.#compact = true;
    this.#ids.delete(server.id);
    const t = this.#taken;
    if (t !== undefined && server.id >= t.from && server.id < t.to) t.to = server.id;
    this.#byName.delete(server.name);
    this.#order.delete(server);
  }

  /** Puts a member into its usable list (active or backup) at its declaration rank, or takes it out. */
  setUsable(server: Server, usable: boolean): void {
    if (this.#defer || this.#usableStale) {
      this.#usableStale = true;
      return;
    }
    const list = server.backup ? this.#backup : this.#active;
    const rank = this.#order.get(server);
    // A server being removed still has its rank here: `delete` takes it out of the list first.
    if (rank === undefined) return;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#order.get(list[mid]!)! < rank) lo = mid + 1;
      else hi = mid;
    }
    const present = list[lo] === server;
    if (usable && !present) list.splice(lo, 0, server);
    else if (!usable && present) list.splice(lo, 1);
  }

  /**
   * Stops (`true`) or resumes (`false`) keeping the usable lists in step one server at a time: while deferred,
   * every change only marks them stale, and they are rebuilt from the members in one pass when next read.
   */
  deferUsable(defer: boolean): void {
    this.#defer = defer;
  }

  /** The usable lists from scratch: the members that are usable, by group, in declaration order. */
  #rebuildUsable(): void {
    const active: Server[] = [];
    const backup: Server[] = [];
    for (const s of this.servers) if (s.usable) (s.backup ? backup : active).push(s);
    this.#active = active;
    this.#backup = backup;
    this.#usableStale = false;
  }
}
