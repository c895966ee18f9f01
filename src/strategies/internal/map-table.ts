import type { Server } from '../../server.js';
import type { PickContext, ServerGroup } from '../strategy.js';
import { HeapNode, IndexedHeap } from './indexed-heap.js';

/**
 * HAProxy's map used by `static-rr` and the map-based hashes (`src/lb_map.c recalc_server_map()`):
 * weights divided by a common divisor, then a table of `T = Σ weight` slots in which every server appears
 * `weight` times, spread out, the first declared server in the first slot.
 *
 * Rebuilt on membership or weight change only (O(T·n) then), looked up in O(1).
 */
export class ServerMap {
  #table: Server[] = [];

  /** Number of slots. 0 when no server has a weight. */
  get size(): number {
    return this.#table.length;
  }

  /** The server in slot `i` (0 ≤ i < size). */
  at(i: number): Server | undefined {
    return this.#table[i];
  }

  /**
   * Rebuilds the table from usable `servers` in declaration order, with their user weights divided by
   * `divisor` and rounded up. HAProxy's divisor is the GCD of the weights of *every* server of the backend,
   * usable or not (`init_server_map()`), which fixes the table size, so pass it when more servers than the
   * usable ones are known. @defaultValue the GCD of the weights of `servers`
   */
  rebuild(servers: readonly Server[], divisor?: number): void {
    const weights = mapWeights(servers, divisor);
    let total = 0;
    for (const w of weights) total += w;
    const table: Server[] = new Array<Server>(total);
    if (total === 1) {
      // HAProxy special-cases a single slot (the score arithmetic would overflow its divide).
      table[0] = servers[weights.findIndex((w) => w > 0)]!;
      this.#table = table;
      return;
    }
    this.#table = fillTable(table, servers, weights, total);
  }
}

/**
 * A {@link ServerMap} with the bookkeeping both map strategies need (`static-rr`, map-based `source`):
 * the servers known so far and their weights (HAProxy divides by the GCD of *every* server's weight, not
 * only the usable ones'), a lazy rebuild on the first pick after a change, and the round-robin pointer of
 * `map_get_server_rr()`.
 */
export class MapState {
  readonly #map = new ServerMap();
  /** Every server seen usable and still in the pool, with the user weight last accounted for. */
  readonly #known = new Map<Server, number>();
  #stale = true;
  #builtFor: ServerGroup | undefined;
  /** HAProxy `rr_idx`: the slot to look at first. */
  #cursor = 0;

  /** Number of slots of the current table. */
  get size(): number {
    return this.#map.size;
  }

  /** The server in slot `i` of the current table. */
  at(i: number): Server | undefined {
    return this.#map.at(i);
  }

  /** Starts over with the usable servers of both groups. */
  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#known.clear();
    for (const s of active) this.#known.set(s, s.weight);
    for (const s of backup) this.#known.set(s, s.weight);
    this.#cursor = 0;
    this.#stale = true;
  }

  serverUsable(server: Server): void {
    this.#known.set(server, server.weight);
    this.#stale = true;
  }

  serverUnusable(server: Server): void {
    // The balancer reports a removed server as unusable while the server itself still says usable:
    // forget it, so that it no longer counts in the GCD.
    if (server.usable) this.#known.delete(server);
    this.#stale = true;
  }

  /** Only a user-weight change matters: maps ignore slow start, as HAProxy's static algorithms do. */
  weightChanged(server: Server): void {
    if (this.#known.get(server) === server.weight) return;
    this.#known.set(server, server.weight);
    this.#stale = true;
  }

  /** Makes the table current for this pick's candidates (a rebuild only after a change or a group switch). */
  prepare(candidates: readonly Server[], group: ServerGroup): void {
    if (!this.#stale && this.#builtFor === group) return;
    for (const s of candidates) if (!this.#known.has(s)) this.#known.set(s, s.weight);
    const weights: number[] = [];
    for (const s of this.#known.keys()) weights.push(s.initialWeight, s.weight);
    this.#map.rebuild(candidates, weightDivisor(weights));
    this.#builtFor = group;
    this.#stale = false;
  }

  /**
   * HAProxy `map_get_server_rr()`: the next slot's server from the pointer on, skipping full servers; an
   * excluded server only when nothing else is free. The pointer keeps its slot number across rebuilds and
   * goes back to 0 when the table got shorter.
   */
  nextRoundRobin(ctx: PickContext): Server | undefined {
    const map = this.#map;
    const size = map.size;
    if (size === 0) return undefined;
    if (this.#cursor >= size) this.#cursor = 0;
    const start = this.#cursor;
    let i = start;
    let avoided: Server | undefined;
    let afterAvoided = 0;
    do {
      const server = map.at(i++)!;
      if (!ctx.isFull(server)) {
        if (!ctx.isExcluded(server)) {
          this.#cursor = i;
          return server;
        }
        avoided = server;
        afterAvoided = i;
      }
      if (i === size) i = 0;
    } while (i !== start);
    if (avoided) this.#cursor = afterAvoided;
    return avoided;
  }
}

/**
 * Fills the `total` slots as HAProxy's `recalc_server_map()` does, in O(total · log n) instead of its
 * O(total · n) loop. HAProxy adds each server's weight to its score for every slot and gives the slot to the
 * greatest `⌊(score + total) / total⌋` (first declared on ties), which then loses `total`. With `p` slots won
 * so far, that value is `⌊w·(slot+1)/total⌋ − p + 1`: it only changes when `w·(slot+1)` crosses a multiple of
 * `total` (at most `w` times per table) or when the server wins. So: a bucket of crossing events per slot,
 * and an indexed heap on `⌊w·(slot+1)/total⌋ − p` (ties by declaration order) to find the winner.
 */
function fillTable(table: Server[], servers: readonly Server[], weights: readonly number[], total: number): Server[] {
  const contenders: Contender[] = [];
  for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) contenders.push(new Contender(i));
  const n = contenders.length;
  const crossed = new Int32Array(n);
  const bucketHead = new Int32Array(total).fill(-1);
  const bucketNext = new Int32Array(n).fill(-1);
  const schedule = (j: number): void => {
    const w = weights[contenders[j]!.order]!;
    if (crossed[j]! >= w) return;
    const at = Math.ceil(((crossed[j]! + 1) * total) / w) - 1;
    bucketNext[j] = bucketHead[at]!;
    bucketHead[at] = j;
  };
  // Every lead starts at 0, so declaration order is already heap order: each push is O(1).
  const heap = new IndexedHeap<Contender>(byLead);
  for (let j = 0; j < n; j++) {
    heap.push(contenders[j]!);
    schedule(j);
  }
  for (let slot = 0; slot < total; slot++) {
    for (let j = bucketHead[slot]!; j !== -1; ) {
      const following = bucketNext[j]!;
      const c = contenders[j]!;
      c.lead++;
      crossed[j]!++;
      heap.update(c);
      schedule(j);
      j = following;
    }
    const winner = heap.peek()!;
    table[slot] = servers[winner.order]!;
    winner.lead--;
    heap.update(winner);
  }
  return table;
}

/** A server competing for the slots of the table being filled. */
class Contender extends HeapNode {
  /** `⌊w·(slot+1)/total⌋ − slots won`. */
  lead = 0;
  constructor(
    /** The server's index in declaration order: the winner among equal leads. */
    readonly order: number,
  ) {
    super();
  }
}

/** Greatest lead first, then first declared. */
function byLead(a: Contender, b: Contender): number {
  return b.lead - a.lead || a.order - b.order;
}

/**
 * Map weights: user weights divided by `divisor`, rounded up (HAProxy `init_server_map()`).
 * @defaultValue divisor: the GCD of the weights of `servers`
 */
export function mapWeights(servers: readonly Server[], divisor?: number): number[] {
  const d = divisor ?? weightDivisor(servers.map((s) => s.weight));
  if (d === 0) return servers.map(() => 0);
  return servers.map((s) => Math.ceil(s.weight / d));
}

/** The greatest common divisor of `weights`, zeros ignored; 0 when every weight is 0. */
export function weightDivisor(weights: Iterable<number>): number {
  let divisor = 0;
  for (const w of weights) divisor = gcd(divisor, w);
  return divisor;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
