import type { Server } from '../../server.js';
import { HeapNode, IndexedHeap } from './indexed-heap.js';

/** @internal One server's place in a {@link Rotation}. */
export class Entry extends HeapNode {
  readonly server: Server;
  /** The rotation this server is a member of, or undefined while it is not usable. */
  rotation: Rotation | undefined = undefined;
  /** The rotation it waits to join once its rank is known. */
  pending: Rotation | undefined = undefined;
  /** Growth per pick: the effective weight, while a member. */
  weight = 0;
  /** While in a weight class: current weight = weight · rotation.k + intercept. */
  intercept = 0;
  /** Current weight while not in a weight class (out of rotation, or weight 0). */
  current = 0;
  /** Declaration order for ties, meaningful among entries of the same epoch. */
  rank = 0;
  epoch = -1;
  cls: WeightClass | undefined = undefined;
  constructor(server: Server) {
    super();
    this.server = server;
  }
}

class WeightClass {
  readonly weight: number;
  /** The order of current weights within the class. */
  readonly heap = new IndexedHeap<Entry>(byCurrentWeight);
  /** Index in Rotation.classes; -1 while empty. */
  slot = -1;
  constructor(weight: number) {
    this.weight = weight;
  }
}

/**
 * @internal The usable servers of one group and their current weights, for the `swrr` strategy.
 *
 * After k picks a member's current weight is the line `weight · k + intercept`. Members of equal weight never
 * change order between picks, so each weight class keeps an indexed heap by intercept, and the member with
 * the highest current weight is found by comparing the leaders of the D non-empty classes.
 */
export class Rotation {
  /** Picks since the last rebase: each one grew every member's current weight by its weight. */
  k = 0;
  /** Σ weight of the members. */
  total = 0;
  members = 0;
  epoch = -1;
  maxRank = -1;
  /** The candidates array the rotation was last built from. */
  source: readonly Server[] | undefined = undefined;
  /** Non-empty weight classes, scanned on each pick. */
  readonly classes: WeightClass[] = [];
  /**
   * The leader of each non-empty class, by slot (weight, intercept, rank), copied into typed arrays so the
   * per-pick scan reads contiguous numbers instead of chasing class → heap → entry pointers.
   */
  #weights: Float64Array = new Float64Array(8);
  #intercepts: Float64Array = new Float64Array(8);
  #ranks: Float64Array = new Float64Array(8);
  readonly #byWeight = new Map<number, WeightClass>();
  /** Members of weight 0 (only when a caller passes such candidates without the hooks). */
  readonly #zero = new Set<Entry>();
  readonly pending: Entry[] = [];

  /** The member with the highest current weight, first declared on ties. */
  best(): Entry | undefined {
    const k = this.k;
    const n = this.classes.length;
    const weights = this.#weights;
    const intercepts = this.#intercepts;
    const ranks = this.#ranks;
    let best = -1;
    let bestValue = 0;
    let bestRank = 0;
    for (let i = 0; i < n; i++) {
      const value = weights[i]! * k + intercepts[i]!;
      if (best < 0 || value > bestValue || (value === bestValue && ranks[i]! < bestRank)) {
        best = i;
        bestValue = value;
        bestRank = ranks[i]!;
      }
    }
    return best < 0 ? undefined : this.classes[best]!.heap.peek();
  }

  attach(e: Entry, current: number): void {
    e.rotation = this;
    this.members++;
    if (e.weight > 0) {
      e.intercept = current - e.weight * this.k;
      this.total += e.weight;
      this.put(e);
    } else {
      e.current = current;
      this.#zero.add(e);
    }
  }

  detach(e: Entry): void {
    if (e.cls !== undefined) {
      e.current = e.weight * this.k + e.intercept;
      this.total -= e.weight;
      this.take(e);
    } else {
      this.#zero.delete(e);
    }
    e.rotation = undefined;
    this.members--;
  }

  reweigh(e: Entry, weight: number): void {
    this.detach(e);
    e.weight = weight;
    this.attach(e, e.current);
  }

  /** Takes every member out, saving current weights, and restarts k. */
  clear(): void {
    for (const c of this.classes) {
      for (const e of c.heap.values()) {
        e.current = c.weight * this.k + e.intercept;
        e.cls = undefined;
        e.rotation = undefined;
      }
      c.heap.clear();
      c.slot = -1;
    }
    for (const e of this.#zero) e.rotation = undefined;
    this.#zero.clear();
    this.classes.length = 0;
    this.members = 0;
    this.total = 0;
    this.k = 0;
  }

  /** Folds `weight · k` into every intercept; the order within each class is unchanged. */
  rebase(): void {
    const k = this.k;
    for (const c of this.classes) {
      for (const e of c.heap.values()) e.intercept += c.weight * k;
      this.#lead(c);
    }
    this.k = 0;
  }

  /** Inserts `e` in the heap of its weight class (totals untouched). */
  put(e: Entry): void {
    let c = this.#byWeight.get(e.weight);
    if (c === undefined) this.#byWeight.set(e.weight, (c = new WeightClass(e.weight)));
    e.cls = c;
    c.heap.push(e);
    if (c.slot < 0) {
      c.slot = this.classes.length;
      this.classes.push(c);
      if (c.slot >= this.#weights.length) this.#grow();
      this.#weights[c.slot] = c.weight;
    }
    this.#lead(c);
  }

  /** Removes `e` from its class heap (totals untouched). */
  take(e: Entry): void {
    const c = e.cls!;
    c.heap.remove(e);
    e.cls = undefined;
    if (c.heap.size > 0) {
      this.#lead(c);
      return;
    }
    const moved = this.classes.pop()!;
    if (moved !== c) {
      this.classes[c.slot] = moved;
      moved.slot = c.slot;
      this.#weights[moved.slot] = moved.weight;
      this.#lead(moved);
    }
    c.slot = -1;
  }

  /** Restores the heap after `e`'s intercept went down. */
  sink(e: Entry): void {
    const c = e.cls!;
    c.heap.update(e);
    this.#lead(c);
  }

  /** Copies the leader of `c` into the scan arrays. */
  #lead(c: WeightClass): void {
    const e = c.heap.peek()!;
    this.#intercepts[c.slot] = e.intercept;
    this.#ranks[c.slot] = e.rank;
  }

  #grow(): void {
    const size = this.#weights.length * 2;
    const grow = (a: Float64Array): Float64Array => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.#weights = grow(this.#weights);
    this.#intercepts = grow(this.#intercepts);
    this.#ranks = grow(this.#ranks);
  }
}

/** Highest current weight first (within a class, the highest intercept), then first declared. */
function byCurrentWeight(a: Entry, b: Entry): number {
  return b.intercept - a.intercept || a.rank - b.rank;
}
