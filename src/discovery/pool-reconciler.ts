import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import { type ResolvedServerOptions, addResolved, sameTags } from '../state/server-options.js';
import type { DesiredServer } from './server-list.js';

/** What one accepted list changed. Servers kept unchanged are in none of the arrays. */
export interface DiscoveryChange {
  /** Servers added to the pool (including the new object of a replaced server). */
  readonly added: readonly Server[];
  /** Servers removed from the pool (including the old object of a replaced server); their leases stay valid. */
  readonly removed: readonly Server[];
  /** Servers kept whose weight, `maxconn`, `maxqueue`, tags or hold changed. */
  readonly updated: readonly Server[];
}

/*
 * Fields that a Server cannot change in place (host, port, backup, priority, check, rise, fall, slowstartMs): a
 * change replaces the server (sameIdentity). Tags are labels, not identity.
 */

/** What the source last set on a server, so that an operator's own change stays until the source changes it. */
interface Applied {
  weight: number;
  maxconn: number;
  maxqueue: number;
  tags: Readonly<Record<string, string>>;
}

/**
 * @internal
 * Applies validated server lists to a pool, each in one `pool.batch()`: adds, removes, updates in place or
 * replaces, and remembers which servers it manages and what it last set on them, so an operator's own change of a
 * weight or of the tags stays until the source changes that field. The source's holds are kept under `holder`.
 */
export class PoolReconciler {
  readonly #pool: Pool;
  readonly #holder: string;
  /** The managed servers by name, with what the source last set on each. */
  readonly #managed = new Map<string, Applied>();

  readonly #addToPool = (o: ResolvedServerOptions): Server => this.#pool.add(o);

  constructor(pool: Pool, holder: string) {
    this.#pool = pool;
    this.#holder = holder;
  }

  /** Manages a server already in the pool, taking its current weight, limits and tags as the last ones applied. */
  adopt(server: Server): Applied {
    const applied: Applied = { weight: server.weight, maxconn: server.maxconn, maxqueue: server.maxqueue, tags: server.tags };
    this.#managed.set(server.name, applied);
    return applied;
  }

  /** Makes the pool's managed servers those of `desired`, in one batch; returns what changed. */
  reconcile(desired: ReadonlyMap<string, DesiredServer>): DiscoveryChange {
    return this.#pool.batch(() => this.#reconcile(desired));
  }

  #reconcile(desired: ReadonlyMap<string, DesiredServer>): DiscoveryChange {
    const pool = this.#pool;
    const added: Server[] = [];
    const removed: Server[] = [];
    const updated: Server[] = [];
    const replace: DesiredServer[] = [];
    // Additions before removals: within the batch it no longer matters for pool:empty, but new servers take the
    // ids after the kept ones, as they did when each change was announced on its own.
    // forEach, not for…of: no iterator result per server of a 10 000-server list.
    desired.forEach((d) => {
      const existing = pool.find(d.options.name);
      if (existing === undefined) {
        added.push(this.#add(d));
      } else {
        const last = this.#managed.get(existing.name) ?? this.adopt(existing);
        if (!sameIdentity(existing, d.options)) replace.push(d);
        else if (this.#update(existing, d, last)) updated.push(existing);
      }
    });
    for (const d of replace) {
      removed.push(pool.remove(d.options.name));
      added.push(this.#add(d));
    }
    this.#managed.forEach((_, name) => {
      if (desired.has(name)) return;
      this.#managed.delete(name);
      if (pool.find(name) !== undefined) removed.push(pool.remove(name));
    });
    return { added, removed, updated };
  }

  #add(d: DesiredServer): Server {
    const server = addResolved(d.options, this.#addToPool);
    // Held in the same batch as it is added: the strategies never see it usable.
    if (d.hold !== undefined) this.#pool.setHold(server.name, this.#holder, d.hold);
    this.adopt(server);
    return server;
  }

  /**
   * Applies the weight, limits and tags that changed since the source last set them (an operator's own change stays
   * otherwise), and the source's hold. Returns whether anything changed.
   */
  #update(server: Server, d: DesiredServer, last: Applied): boolean {
    const o = d.options;
    const name = server.name;
    let changed = false;
    if (server.holds.get(this.#holder) !== d.hold) {
      this.#pool.setHold(name, this.#holder, d.hold);
      changed = true;
    }
    const retag = !sameTags(o.tags, last.tags);
    if (o.weight === last.weight && o.maxconn === last.maxconn && o.maxqueue === last.maxqueue && !retag) return changed;
    // What pool.update() would resolve from the fields that changed; validateServerList checked them already.
    this.#pool._applyUpdate(server, {
      weight: o.weight !== last.weight ? o.weight : undefined,
      maxconn: o.maxconn !== last.maxconn ? o.maxconn : server.maxconn,
      maxqueue: o.maxqueue !== last.maxqueue ? o.maxqueue : server.maxqueue,
      adminState: undefined,
      tags: retag && !sameTags(server.tags, o.tags) ? o.tags : undefined,
    });
    last.weight = o.weight;
    last.maxconn = o.maxconn;
    last.maxqueue = o.maxqueue;
    last.tags = o.tags;
    return true;
  }
}

function sameIdentity(server: Server, o: ResolvedServerOptions): boolean {
  // Spelled out, not a loop over IDENTITY_KEYS: keyed reads with a changing key are megamorphic, and this runs for
  // every kept server of every list (about a third of a 10 000-server update's own time with the loop).
  return server.host === o.host && server.port === o.port && server.backup === o.backup && server.priority === o.priority
    && server.check === o.check && server.rise === o.rise && server.fall === o.fall && server.slowstartMs === o.slowstartMs;
}
