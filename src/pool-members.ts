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
 */
export class PoolMembers {
  readonly servers: Server[] = [];
  readonly active: Server[] = [];
  readonly backup: Server[] = [];
  readonly #ids = new Set<number>();
  readonly #byName = new Map<string, Server>();
  readonly #order = new Map<Server, number>();
  #nextOrder = 0;
  #emptyAnnounced = false;
  /** Times the pool lost its last usable server. */
  emptyTransitions = 0;

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

  /** Declaration rank (0-based), -1 for a server that is not a member. */
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

  #nextFreeId(): number {
    let id = this.servers.length + 1;
    while (this.#ids.has(id)) id++;
    return id;
  }

  /** Appends a server at the end of the declaration order. */
  append(server: Server): void {
    this.servers.push(server);
    this.#ids.add(server.id);
    this.#byName.set(server.name, server);
    this.#order.set(server, this.#nextOrder++);
  }

  /** Removes a member (and from its usable list). */
  delete(server: Server): void {
    this.setUsable(server, false);
    this.servers.splice(this.servers.indexOf(server), 1);
    this.#ids.delete(server.id);
    this.#byName.delete(server.name);
    this.#order.delete(server);
  }

  /** Puts a member into its usable list (active or backup) at its declaration rank, or takes it out. */
  setUsable(server: Server, usable: boolean): void {
    const list = server.backup ? this.backup : this.active;
    const at = list.indexOf(server);
    if (!usable) {
      if (at >= 0) list.splice(at, 1);
      return;
    }
    if (at >= 0) return;
    const rank = this.#order.get(server) ?? Number.MAX_SAFE_INTEGER;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#order.get(list[mid]!) ?? 0) < rank) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, server);
  }
}
