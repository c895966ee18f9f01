import type { Server } from '../server.js';
import { MapState } from './internal/map-table.js';
import type { PickContext, Strategy } from './strategy.js';

/**
 * HAProxy's `balance static-rr` (`src/lb_map.c`, HAProxy 2.6): a table of `Σ weight` slots built once by
 * `recalc_server_map()` (weights divided by their GCD, the first declared server in the first slot, each
 * server spread over the table), walked by a pointer that skips full servers (`map_get_server_rr()`).
 * Weights 1,2,3 give `s1 s3 s2 s3 s2 s3`; 3,2,1 give `s1 s1 s2 s1 s2 s3`.
 *
 * A pick is O(1) unless servers are full or excluded (then up to one turn of the table). The table is
 * rebuilt lazily, on the first pick after a server became usable or unusable or changed its user weight,
 * never per pick; the pointer keeps its slot number across rebuilds, back to 0 when the table got shorter.
 * Slow start does not apply: like HAProxy, this strategy uses the user weight, not the effective one.
 * An excluded server (a retry) is returned only when no other can take the connection.
 *
 * Differences from HAProxy, on purpose:
 * - HAProxy accepts only `0%` and `100%` as runtime weights for static algorithms. Here any weight is
 *   accepted: the GCD is recomputed over the initial and current weights of the known servers and the
 *   table rebuilt, so the new ratios hold exactly.
 * - HAProxy's GCD covers every server of the backend from the start. This strategy knows only the servers it
 *   has been told about (usable at {@link StaticRoundRobin.reset} or since); a server that has never been
 *   usable (added in maintenance) joins the GCD when it first becomes usable, which can change the table
 *   size, and so the slot the pointer is on, compared with HAProxy.
 * - Without `allBackups` the {@link Balancer} gives every connection to the first usable backup without
 *   asking the strategy, as HAProxy documents and does for `roundrobin`. HAProxy 2.6's static-rr instead
 *   builds its table over all usable backups, sized by the first one's weight, so a heavier later backup can
 *   take the traffic (backups weighted 2 and 5: everything went to the second), and it moves the pointer.
 *
 * @example
 * ```ts
 * const pool = new Pool('db', { servers: [
 *   { name: 's1', host: '10.0.0.1', port: 5432, weight: 1 },
 *   { name: 's2', host: '10.0.0.2', port: 5432, weight: 2 },
 *   { name: 's3', host: '10.0.0.3', port: 5432, weight: 3 },
 * ] })
 * const balancer = new Balancer(pool, { strategy: new StaticRoundRobin() }) // or strategy: 'static-rr'
 * // six sequential connections go to s1, s3, s2, s3, s2, s3
 * ```
 */
export class StaticRoundRobin implements Strategy {
  readonly name = 'static-rr';
  readonly usesClientAddress = false;
  readonly #map = new MapState();

  /** Starts over with the usable servers of both groups. */
  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#map.reset(active, backup);
  }

  /** Takes the next free server of the table (HAProxy `map_get_server_rr()`). */
  pick(candidates: readonly Server[], context: PickContext): Server | undefined {
    this.#map.prepare(candidates, context.group);
    return this.#map.nextRoundRobin(context);
  }

  /** A server became usable: the table is rebuilt on the next pick. */
  serverUsable(server: Server): void {
    this.#map.serverUsable(server);
  }

  /** A server stopped being usable: the table is rebuilt on the next pick. */
  serverUnusable(server: Server): void {
    this.#map.serverUnusable(server);
  }

  /** The table is rebuilt on the next pick if the user weight changed (slow start alone changes nothing). */
  weightChanged(server: Server): void {
    this.#map.weightChanged(server);
  }
}
