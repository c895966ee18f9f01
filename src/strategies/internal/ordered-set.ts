/**
 * A value's membership handle for an {@link OrderedSet}, made once by {@link OrderedSet.entry} and reused for
 * every insertion, so that moving a value between sets allocates nothing.
 */
export interface OrderedSetEntry<T> {
  readonly value: T;
  /** The key of the last insertion. */
  readonly key: number;
}

interface Slot<T> {
  readonly value: T;
  key: number;
  seq: number;
  index: number;
  owner: OrderedSet<T> | undefined;
}

/**
 * A priority set of values ordered by a numeric key, ascending, ties in insertion order (FIFO): the
 * behaviour of HAProxy's eb32 trees with duplicate keys, which the tree-based strategies depend on.
 *
 * An indexed binary heap: `first` is O(1), `insert` and `delete` are O(log n) and allocate nothing.
 */
export class OrderedSet<T> {
  readonly #heap: Slot<T>[] = [];
  #seq = 0;

  /** A new handle for `value`, in no set yet. */
  static entry<T>(value: T): OrderedSetEntry<T> {
    const slot: Slot<T> = { value, key: 0, seq: 0, index: -1, owner: undefined };
    return slot;
  }

  /** Number of values held. */
  get size(): number {
    return this.#heap.length;
  }

  /** The entry with the lowest key (the oldest among equal keys), or `undefined` when empty. */
  first(): OrderedSetEntry<T> | undefined {
    return this.#heap[0];
  }

  /** Adds `entry` with `key`, after every entry already held with the same key; moves it if it is in a set. */
  insert(entry: OrderedSetEntry<T>, key: number): void {
    const slot = entry as Slot<T>;
    slot.owner?.delete(slot);
    slot.key = key;
    slot.seq = this.#seq++;
    slot.owner = this;
    slot.index = this.#heap.length;
    this.#heap.push(slot);
    this.#up(slot.index);
  }

  /** True when `entry` is currently in this set. */
  has(entry: OrderedSetEntry<T>): boolean {
    return (entry as Slot<T>).owner === this;
  }

  /** Removes `entry`; returns false when it was not in this set. */
  delete(entry: OrderedSetEntry<T>): boolean {
    const slot = entry as Slot<T>;
    if (slot.owner !== this) return false;
    const heap = this.#heap;
    const i = slot.index;
    const last = heap.pop()!;
    slot.owner = undefined;
    slot.index = -1;
    if (last !== slot) {
      heap[i] = last;
      last.index = i;
      // The moved entry may belong above or below its new place.
      this.#up(i);
      this.#down(last.index);
    }
    return true;
  }

  /** Removes every value. */
  clear(): void {
    for (const slot of this.#heap) {
      slot.owner = undefined;
      slot.index = -1;
    }
    this.#heap.length = 0;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const slot = heap[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(slot, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    heap[i] = slot;
    slot.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const slot = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      const c = heap[child]!;
      if (!before(c, slot)) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = slot;
    slot.index = i;
  }
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.key < b.key || (a.key === b.key && a.seq < b.seq);
}
