import type { Server } from '../server.js';
import { KeyedHeap } from './internal/keyed-heap.js';
import type { PickContext, Strategy } from './strategy.js';

/**
 * First available server, exactly as HAProxy 2.6's `balance first` (`src/lb_fas.c`): the usable server with
 * the lowest numeric `id` that is not full (`maxconn` reached, or callers waiting in its queue) gets the
 * connection. Weights are ignored; without `maxconn` everything goes to the first server. When every server
 * is full, callers wait in the balancer's queue. The server to avoid (a retry) is skipped unless it is the
 * only one with room. Active and backup servers are kept apart.
 *
 * The servers that still have room are kept in a heap ordered by id and updated on every acquire and
 * release, so a pick is O(1) and an update O(log n), however many full servers come first.
 *
 * Differences from HAProxy: when several servers are excluded, the lowest-id excluded one is the fallback
 * (HAProxy avoids one server only).
 *
 * @example
 * ```ts
 * const pool = new Pool('workers', { servers: [
 *   { name: 'w1', host: '10.0.0.1', port: 7000, maxconn: 2 },
 *   { name: 'w2', host: '10.0.0.2', port: 7000, maxconn: 2 },
 * ] })
 * const balancer = new Balancer(pool, { strategy: new First() }) // or strategy: 'first'
 * // w1, w1, then w2, w2; the fifth caller waits for a free slot
 * ```
 */
export class First implements Strategy {
  readonly name = 'first';
  /** Usable servers with room, by id. A full server found here is dropped lazily at the next pick. */
  readonly #active = new KeyedHeap<Server>();
  readonly #backup = new KeyedHeap<Server>();
  /** Every usable server, full or not. */
  readonly #usable = new Set<Server>();
  #ctx: PickContext | undefined;
  readonly #acceptable = (s: Server): boolean => !this.#ctx!.isFull(s) && !this.#ctx!.isExcluded(s);

  pick(_candidates: readonly Server[], ctx: PickContext): Server | undefined {
    const heap = ctx.group === 'backup' ? this.#backup : this.#active;
    let first = heap.peek();
    while (first !== undefined && ctx.isFull(first)) {
      heap.delete(first);
      first = heap.peek();
    }
    if (first === undefined || !ctx.isExcluded(first)) return first;
    this.#ctx = ctx;
    try {
      return heap.find(this.#acceptable) ?? first;
    } finally {
      this.#ctx = undefined;
    }
  }

  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#active.clear();
    this.#backup.clear();
    this.#usable.clear();
    for (const s of active) this.serverUsable(s);
    for (const s of backup) this.serverUsable(s);
  }

  serverUsable(server: Server): void {
    this.#usable.add(server);
    this.#refresh(server);
  }

  serverUnusable(server: Server): void {
    this.#usable.delete(server);
    this.#heapOf(server).delete(server);
  }

  weightChanged(server: Server): void {
    this.#refresh(server);
  }

  limitsChanged(server: Server): void {
    this.#refresh(server);
  }

  acquired(server: Server): void {
    this.#refresh(server);
  }

  released(server: Server): void {
    this.#refresh(server);
  }

  #refresh(server: Server): void {
    if (!this.#usable.has(server)) return;
    const heap = this.#heapOf(server);
    if (server.full) heap.delete(server);
    else if (!heap.has(server)) heap.set(server, server.id);
  }

  #heapOf(server: Server): KeyedHeap<Server> {
    return server.backup ? this.#backup : this.#active;
  }
}
