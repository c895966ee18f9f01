import type { Pool } from '../pool.js';
import { SERVER_DEFAULTS, type Server, type ServerOptions } from '../server.js';

/** What one accepted list changed. Servers kept unchanged are in none of the arrays. */
export interface DiscoveryChange {
  /** Servers added to the pool (including the new object of a replaced server). */
  readonly added: readonly Server[];
  /** Servers removed from the pool (including the old object of a replaced server); their leases stay valid. */
  readonly removed: readonly Server[];
  /** Servers kept whose weight, `maxconn` or `maxqueue` changed. */
  readonly updated: readonly Server[];
}

/** Fields that a Server cannot change in place: a change replaces the server. */
const IDENTITY_KEYS = ['host', 'port', 'backup', 'check', 'rise', 'fall', 'slowstartMs'] as const;

interface Applied {
  readonly weight: number;
  readonly maxconn: number;
  readonly maxqueue: number;
}

/**
 * @internal
 * Applies validated server lists to a pool: adds, removes, updates in place or replaces, and remembers which
 * servers it manages and what it last set on them, so an operator's own change of a weight stays until the
 * source changes that weight.
 */
export class PoolReconciler {
  readonly #pool: Pool;
  readonly #owned = new Set<string>();
  readonly #applied = new Map<string, Applied>();

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Manages a server already in the pool, taking its current weight and limits as the last ones applied. */
  adopt(server: Server): void {
    this.#owned.add(server.name);
    this.#applied.set(server.name, { weight: server.weight, maxconn: server.maxconn, maxqueue: server.maxqueue });
  }

  /** Makes the pool's managed servers those of `desired`; returns what changed. */
  reconcile(desired: ReadonlyMap<string, ServerOptions>): DiscoveryChange {
    const pool = this.#pool;
    const added: Server[] = [];
    const removed: Server[] = [];
    const updated: Server[] = [];
    const replace: ServerOptions[] = [];
    // Additions first and removals last, so a rolling change never leaves the pool empty in between.
    for (const [name, options] of desired) {
      const existing = pool.find(name);
      if (existing === undefined) {
        added.push(this.#add(options));
      } else {
        if (!this.#owned.has(name)) this.adopt(existing);
        if (!sameIdentity(existing, options)) replace.push(options);
        else if (this.#update(existing, options)) updated.push(existing);
      }
    }
    for (const options of replace) {
      removed.push(pool.remove(options.name));
      added.push(this.#add(options));
    }
    for (const name of [...this.#owned]) {
      if (desired.has(name)) continue;
      this.#owned.delete(name);
      this.#applied.delete(name);
      const server = pool.find(name);
      if (server !== undefined) removed.push(pool.remove(name));
    }
    return { added, removed, updated };
  }

  #add(options: ServerOptions): Server {
    const server = this.#pool.add(options);
    this.adopt(server);
    return server;
  }

  /** Applies weight and limits that changed since the source last set them; an operator's own change stays otherwise. */
  #update(server: Server, options: ServerOptions): boolean {
    const last = this.#applied.get(server.name)!;
    const next: Applied = {
      weight: options.weight ?? SERVER_DEFAULTS.weight,
      maxconn: options.maxconn ?? SERVER_DEFAULTS.maxconn,
      maxqueue: options.maxqueue ?? SERVER_DEFAULTS.maxqueue,
    };
    if (next.weight === last.weight && next.maxconn === last.maxconn && next.maxqueue === last.maxqueue) return false;
    const changes: { weight?: number; maxconn?: number; maxqueue?: number } = {};
    if (next.weight !== last.weight) changes.weight = next.weight;
    if (next.maxconn !== last.maxconn) changes.maxconn = next.maxconn;
    if (next.maxqueue !== last.maxqueue) changes.maxqueue = next.maxqueue;
    this.#pool.update(server.name, changes);
    this.#applied.set(server.name, next);
    return true;
  }
}

function sameIdentity(server: Server, options: ServerOptions): boolean {
  for (const key of IDENTITY_KEYS) {
    const want = key === 'slowstartMs' ? Math.ceil((options.slowstartMs ?? SERVER_DEFAULTS.slowstartMs) / 1000) * 1000 : (options[key] ?? defaultOf(key));
    if (server[key] !== want) return false;
  }
  return true;
}

function defaultOf(key: (typeof IDENTITY_KEYS)[number]): unknown {
  return (SERVER_DEFAULTS as Record<string, unknown>)[key];
}
