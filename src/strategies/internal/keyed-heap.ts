interface HeapNode<T> {
  readonly item: T;
  key: number;
  seq: number;
  index: number;
}

/**
 * A binary min-heap of distinct items ordered by `(key, seq)`, where `seq` is the order in which each item
 * got its current key. Equal keys therefore come out first-in first-out, exactly like duplicates in
 * HAProxy's ebtrees (a newly inserted duplicate goes after the existing ones).
 *
 * O(log n) insert, delete and re-key; O(1) peek; {@link KeyedHeap.find} visits items in order and costs
 * O(k log k) for the k items it looks at. Re-keying reuses the item's node: no allocation per update.
 */
export class KeyedHeap<T> {
  #heap: HeapNode<T>[] = [];
  #nodes = new Map<T, HeapNode<T>>();
  #nextSeq = 0;
  /** Heap indices still to visit during `find` (a small heap of its own, reused between calls). */
  #frontier: number[] = [];

  /** Number of items. */
  get size(): number {
    return this.#heap.length;
  }

  has(item: T): boolean {
    return this.#nodes.has(item);
  }

  /** The item's current key, or `undefined` when it is not in the heap. */
  keyOf(item: T): number | undefined {
    return this.#nodes.get(item)?.key;
  }

  /** The first item in `(key, seq)` order. */
  peek(): T | undefined {
    return this.#heap[0]?.item;
  }

  /**
   * Gives `item` the key `key` and places it after every item that already has that key.
   * Inserts it when absent, re-keys it when present (even to the same key: it then moves behind its peers).
   */
  set(item: T, key: number): void {
    const seq = this.#nextSeq++;
    const node = this.#nodes.get(item);
    if (node === undefined) {
      const fresh: HeapNode<T> = { item, key, seq, index: this.#heap.length };
      this.#nodes.set(item, fresh);
      this.#heap.push(fresh);
      this.#up(fresh.index);
      return;
    }
    node.key = key;
    node.seq = seq;
    this.#down(this.#up(node.index));
  }

  /** Removes `item`; returns false when it was not there. */
  delete(item: T): boolean {
    const node = this.#nodes.get(item);
    if (node === undefined) return false;
    this.#nodes.delete(item);
    const last = this.#heap.pop()!;
    if (last !== node) {
      this.#heap[node.index] = last;
      last.index = node.index;
      this.#down(this.#up(last.index));
    }
    return true;
  }

  clear(): void {
    this.#heap = [];
    this.#nodes.clear();
  }

  /**
   * The first item in `(key, seq)` order for which `accept` returns true, or `undefined`.
   * Walks the heap best-first without modifying it; `accept` must not modify the heap.
   */
  find(accept: (item: T) => boolean): T | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const frontier = this.#frontier;
    frontier.length = 0;
    frontier.push(0);
    while (frontier.length > 0) {
      const i = this.#popFrontier();
      const item = heap[i]!.item;
      if (accept(item)) {
        frontier.length = 0;
        return item;
      }
      const left = 2 * i + 1;
      if (left < heap.length) this.#pushFrontier(left);
      if (left + 1 < heap.length) this.#pushFrontier(left + 1);
    }
    return undefined;
  }

  /** Items in `(key, seq)` order (a copy; for tests and diagnostics, not for hot paths). */
  toArray(): T[] {
    return [...this.#heap].sort((a, b) => compare(a, b)).map((n) => n.item);
  }

  #up(index: number): number {
    const heap = this.#heap;
    const node = heap[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const p = heap[parent]!;
      if (compare(p, node) <= 0) break;
      heap[index] = p;
      p.index = index;
      index = parent;
    }
    heap[index] = node;
    node.index = index;
    return index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const node = heap[index]!;
    const n = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && compare(heap[right]!, heap[left]!) < 0 ? right : left;
      const c = heap[child]!;
      if (compare(node, c) <= 0) break;
      heap[index] = c;
      c.index = index;
      index = child;
    }
    heap[index] = node;
    node.index = index;
  }

  #pushFrontier(heapIndex: number): void {
    const f = this.#frontier;
    const heap = this.#heap;
    let i = f.length;
    f.push(heapIndex);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(heap[f[parent]!]!, heap[heapIndex]!) <= 0) break;
      f[i] = f[parent]!;
      i = parent;
    }
    f[i] = heapIndex;
  }

  #popFrontier(): number {
    const f = this.#frontier;
    const heap = this.#heap;
    const top = f[0]!;
    const last = f.pop()!;
    if (f.length > 0) {
      let i = 0;
      const n = f.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && compare(heap[f[right]!]!, heap[f[left]!]!) < 0 ? right : left;
        if (compare(heap[last]!, heap[f[child]!]!) <= 0) break;
        f[i] = f[child]!;
        i = child;
      }
      f[i] = last;
    }
    return top;
  }
}

function compare<T>(a: HeapNode<T>, b: HeapNode<T>): number {
  return a.key !== b.key ? a.key - b.key : a.seq - b.seq;
}
