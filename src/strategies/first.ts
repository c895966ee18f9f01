import type { Server } from '../server.js';
import { IndexedHeap, KeyedNode, byKey } from './internal/indexed-heap.js';
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
  readonly usesClientAddress = false;
  /** Usable servers with room, by id. A full server found here is dropped lazily at the next pick. */
  readonly #active = new IndexedHeap<KeyedNode<Server>>(byKey);
  readonly #backup = new IndexedHeap<KeyedNode<Server>>(byKey);
  /** Every usable server, full or not, with its place in the heaps (keyed by id). */
  readonly #usable = new Map<Server, KeyedNode<Server>>();
  #ctx: PickContext | undefined;
  readonly #acceptable = (node: KeyedNode<Server>): boolean => !this.#ctx!.isFull(node.value) && !this.#ctx!.isExcluded(node.value);

  pick(_candidates: readonly Server[], ctx: PickContext): Server | undefined {
    const heap = ctx.group === 'backup' ? this.#backup : this.#active;
    let first = heap.peek()?.value;
    while (first !== undefined && ctx.isFull(first)) {
      heap.pop();
      first = heap.peek()?.value;
    }
    if (first === undefined || !ctx.isExcluded(first)) return first;
    this.#ctx = ctx;
    try {
      return heap.find(this.#acceptable)?.value ?? first;
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
    if (!this.#usable.has(server)) {
      const node = new KeyedNode(server);
      node.key = server.id;
      this.#usable.set(server, node);
    }
    this.#refresh(server);
  }

  serverUnusable(server: Server): void {
    const node = this.#usable.get(server);
    if (node === undefined) return;
    this.#usable.delete(server);
    this.#heapOf(server).remove(node);
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
    const node = this.#usable.get(server);
    if (node === undefined) return;
    const heap = this.#heapOf(server);
    if (server.full) heap.remove(node);
    else if (!heap.has(node)) heap.push(node);
  }

  #heapOf(server: Server): IndexedHeap<KeyedNode<Server>> {
    return server.backup ? this.#backup : this.#active;
  }
}
