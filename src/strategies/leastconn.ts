import type { Server } from '../server.js';
import { IndexedHeap, KeyedNode, byKey } from './internal/indexed-heap.js';
import type { PickContext, Strategy } from './strategy.js';

/** HAProxy's `SRV_EWGHT_MAX`: the largest effective weight (256 × 16), the scale of leastconn keys. */
const KEY_SCALE = 4096;

/**
 * Weighted least connections, exactly as HAProxy 2.6's `balance leastconn` (FWLC, `src/lb_fwlc.c`).
 *
 * Each usable server has a key: 0 when it has no connection, else `⌊(inflight + 1) × 4096 / eweight⌋`
 * with `inflight` = current connections + connections waiting in its own queue and `eweight` = weight × 16.
 * A pick takes the lowest key; equal keys are served in the order their keys were set, which makes
 * equally loaded servers take turns (idle servers all have key 0, so short sessions go round robin
 * whatever the weights). A server is repositioned when its key changes on acquire/release, and always
 * when its weight changes. Active and backup servers are kept apart.
 *
 * Servers that are saturated — `maxconn` set and current + queued ≥ `maxconn + maxqueue` — are skipped.
 * With `maxqueue` set, a server below that bound may be returned while at `maxconn`: the connection then
 * waits in that server's queue, as in HAProxy. The server to avoid (a retry) is skipped unless it is the
 * only one left. O(1) to pick the least loaded server, O(log n) per repositioning; skipping k saturated
 * servers costs O(k log k).
 *
 * Differences from HAProxy: when several servers are excluded, the least loaded excluded one is the
 * fallback (HAProxy avoids one server only). Keys are not wrapped to 32 bits (HAProxy's would overflow past
 * about a million connections on one server). HAProxy 3.2+ randomises the order of ties; this follows 2.6–3.1.
 *
 * @example
 * ```ts
 * const pool = new Pool('db', { servers: [
 *   { name: 'db1', host: '10.0.0.1', port: 5432, weight: 1 },
 *   { name: 'db2', host: '10.0.0.2', port: 5432, weight: 2 },
 * ] })
 * const balancer = new Balancer(pool, { strategy: new LeastConn() }) // or strategy: 'leastconn'
 * const lease = await balancer.acquire() // db1 and db2 are both idle: db1 first, then db2
 * ```
 */
export class LeastConn implements Strategy {
  readonly name = 'leastconn';
  readonly usesClientAddress = false;
  /** HAProxy's leastconn and random still pick while others wait in the backend queue. */
  readonly queueBehindWaiters = false;
  readonly #active = new IndexedHeap<KeyedNode<Server>>(byKey);
  readonly #backup = new IndexedHeap<KeyedNode<Server>>(byKey);
  /** Each server's place in its group's heap, keyed by its load. */
  #nodes = new WeakMap<Server, KeyedNode<Server>>();
  #avoid: PickContext | undefined;
  #avoided: Server | undefined;
  readonly #acceptable = (node: KeyedNode<Server>): boolean => {
    const s = node.value;
    if (saturated(s)) return false;
    if (this.#avoid?.isExcluded(s)) {
      this.#avoided ??= s;
      return false;
    }
    return true;
  };

  pick(_candidates: readonly Server[], ctx: PickContext): Server | undefined {
    const heap = ctx.group === 'backup' ? this.#backup : this.#active;
    const first = heap.peek()?.value;
    if (first !== undefined && !saturated(first) && !ctx.isExcluded(first)) return first;
    this.#avoid = ctx;
    this.#avoided = undefined;
    try {
      return heap.find(this.#acceptable)?.value ?? this.#avoided;
    } finally {
      this.#avoid = undefined;
      this.#avoided = undefined;
    }
  }

  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#active.clear();
    this.#backup.clear();
    this.#nodes = new WeakMap();
    for (const s of active) this.serverUsable(s);
    for (const s of backup) this.serverUsable(s);
  }

  serverUsable(server: Server): void {
    let node = this.#nodes.get(server);
    if (node === undefined) this.#nodes.set(server, (node = new KeyedNode(server)));
    node.key = key(server);
    this.#heapOf(server).push(node);
  }

  serverUnusable(server: Server): void {
    const node = this.#nodes.get(server);
    if (node !== undefined) this.#heapOf(server).remove(node);
  }

  weightChanged(server: Server): void {
    const node = this.#nodes.get(server);
    if (node === undefined || !this.#heapOf(server).has(node)) return;
    node.key = key(server);
    this.#heapOf(server).update(node);
  }

  acquired(server: Server): void {
    this.#reposition(server);
  }

  released(server: Server): void {
    this.#reposition(server);
  }

  /** Moves the server behind its new peers when its key changed (a lease on a removed server is ignored). */
  #reposition(server: Server): void {
    const node = this.#nodes.get(server);
    if (node === undefined) return;
    const next = key(server);
    if (next === node.key) return;
    const heap = this.#heapOf(server);
    if (!heap.has(node)) return;
    node.key = next;
    heap.update(node);
  }

  #heapOf(server: Server): IndexedHeap<KeyedNode<Server>> {
    return server.backup ? this.#backup : this.#active;
  }
}

function key(s: Server): number {
  const inflight = s.currentConnections + s.queued;
  if (inflight === 0) return 0;
  return Math.floor(((inflight + 1) * KEY_SCALE) / (s.effectiveWeight || 1));
}

/** HAProxy's leastconn saturation test: the server and its own queue are both full. */
function saturated(s: Server): boolean {
  return s.maxconn > 0 && s.currentConnections + s.queued >= s.maxconn + s.maxqueue;
}
