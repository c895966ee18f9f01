/**
 * What an item carries to sit in an {@link IndexedHeap}: its place there, so that the heap finds it in O(1)
 * to remove or reorder it. An item extends this class; the fields are the heap's alone.
 */
export class HeapNode {
  /** @internal Index in the owner's array; -1 while in no heap. */
  heapIndex = -1;
  /** @internal Number of the last push or update: the order among items that compare equal. */
  heapSeq = 0;
  /** @internal The heap holding the item, if any. */
  heapOwner: object | undefined = undefined;
}

/** An item ordered by one number, lowest first (the keys of HAProxy's eb32 trees): compare with {@link byKey}. */
export class KeyedNode<T> extends HeapNode {
  key = 0;
  constructor(readonly value: T) {
    super();
  }
}

/** Changes in a row without a read after which an {@link IndexedHeap} may stop ordering each one (see there). */
export const LAZY_AFTER = 64;

/** Lowest `key` first. */
export function byKey(a: { readonly key: number }, b: { readonly key: number }): number {
  return a.key - b.key;
}

/**
 * A binary min-heap of {@link HeapNode}s in the order of `compare` (negative: `a` first). Items that compare
 * equal come out first-in first-out, by the order of their last {@link IndexedHeap.push} or
 * {@link IndexedHeap.update}: exactly like duplicates in HAProxy's ebtrees, where a re-inserted node goes after
 * the nodes already holding its key. An item sits in at most one heap at a time.
 *
 * O(1) `peek` and `has`; O(log n) `push`, `pop`, `remove` and `update`, which allocate nothing;
 * {@link IndexedHeap.find} costs O(k log k) for the k items it looks at.
 *
 * Many changes in a row without a read (a discovery update re-weighing most servers of a strategy in one pool
 * batch) are not ordered one by one: once more than a quarter of the items (and {@link LAZY_AFTER}) changed since
 * the last read, further changes only record the item, and the next read orders the whole array again in O(n).
 * Nothing a caller sees depends on it: the order is the total order of `compare` and the change numbers, which
 * every change still takes at once, so the first item, `pop`, `find` and `toArray` give what the one-by-one
 * ordering gives.
 */
export class IndexedHeap<T extends HeapNode> {
  readonly #items: T[] = [];
  readonly #compare: (a: T, b: T) => number;
  #nextSeq = 0;
  /** Changes since the last read. */
  #sinceRead = 0;
  /** True while changes are recorded without ordering the array (see the class comment). */
  #unordered = false;
  /** Indices still to visit during `find` (a small heap of its own, reused between calls). */
  readonly #frontier: number[] = [];

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  /** Number of items. */
  get size(): number {
    return this.#items.length;
  }

  /** True when `item` is in this heap. */
  has(item: T): boolean {
    return item.heapOwner === this;
  }

  /** The first item, or `undefined` when empty. */
  peek(): T | undefined {
    this.#read();
    return this.#items[0];
  }

  /**
   * Adds `item` after every item that compares equal to it. An item held by a heap (this one included) is
   * taken out of it first.
   */
  push(item: T): void {
    // Only push() sets an owner, always an IndexedHeap; its remove() touches nothing but the HeapNode fields.
    (item.heapOwner as IndexedHeap<T> | undefined)?.remove(item);
    item.heapOwner = this;
    item.heapSeq = this.#nextSeq++;
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    if (!this.#changed()) this.#up(item.heapIndex);
  }

  /** Removes and returns the first item, or `undefined` when empty. */
  pop(): T | undefined {
    this.#read();
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `item`; returns false when it was not in this heap. */
  remove(item: T): boolean {
    if (item.heapOwner !== this) return false;
    const items = this.#items;
    const last = items.pop()!;
    if (last !== item) {
      items[item.heapIndex] = last;
      last.heapIndex = item.heapIndex;
      if (!this.#changed()) this.#restore(last.heapIndex);
    }
    item.heapIndex = -1;
    item.heapOwner = undefined;
    return true;
  }

  /**
   * Puts `item` back in order after what `compare` reads of it changed, behind every item it now compares
   * equal to (as a removal and a re-insertion would, in one pass). Returns false when it is not in this heap.
   */
  update(item: T): boolean {
    if (item.heapOwner !== this) return false;
    item.heapSeq = this.#nextSeq++;
    if (!this.#changed()) this.#restore(item.heapIndex);
    return true;
  }

  /** Removes every item. */
  clear(): void {
    for (const item of this.#items) {
      item.heapIndex = -1;
      item.heapOwner = undefined;
    }
    this.#items.length = 0;
    this.#unordered = false;
    this.#sinceRead = 0;
  }

  /**
   * The first item in heap order for which `accept` returns true, or `undefined`. Visits items best-first
   * without modifying the heap; `accept` must not modify it either.
   */
  find(accept: (item: T) => boolean): T | undefined {
    this.#read();
    const items = this.#items;
    if (items.length === 0) return undefined;
    const frontier = this.#frontier;
    frontier.length = 0;
    frontier.push(0);
    while (frontier.length > 0) {
      const i = this.#popFrontier();
      const item = items[i]!;
      if (accept(item)) {
        frontier.length = 0;
        return item;
      }
      const left = 2 * i + 1;
      if (left < items.length) this.#pushFrontier(left);
      if (left + 1 < items.length) this.#pushFrontier(left + 1);
    }
    return undefined;
  }

  /** The items in no particular order (a live view: do not modify the heap while iterating). */
  values(): IterableIterator<T> {
    this.#read();
    return this.#items.values();
  }

  /** The items in heap order (a sorted copy; for tests and diagnostics, not for hot paths). */
  toArray(): T[] {
    this.#read();
    return [...this.#items].sort((a, b) => (this.#before(a, b) ? -1 : 1));
  }

  /** True when the array is in heap order (false only between a run of changes and the next read; for tests). */
  get ordered(): boolean {
    return !this.#unordered;
  }

  /** Counts a change; true when it is to be recorded only (the array is ordered again at the next read). */
  #changed(): boolean {
    if (this.#unordered) return true;
    const n = ++this.#sinceRead;
    if (n <= LAZY_AFTER || n <= this.#items.length >> 2) return false;
    this.#unordered = true;
    return true;
  }

  /** Before a read: orders the array again if changes were only recorded (Floyd's heap construction, O(n)). */
  #read(): void {
    this.#sinceRead = 0;
    if (!this.#unordered) return;
    this.#unordered = false;
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #before(a: T, b: T): boolean {
    const c = this.#compare(a, b);
    return c < 0 || (c === 0 && a.heapSeq < b.heapSeq);
  }

  /** Moves the item at `index` up or down to its place (an item that moved up needs no look below). */
  #restore(index: number): void {
    if (this.#up(index) === index) this.#down(index);
  }

  /** Moves the item at `index` up to its place; returns that place. */
  #up(index: number): number {
    const items = this.#items;
    const item = items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.#before(item, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
    return index;
  }

  #down(index: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const childIndex = right < n && this.#before(items[right]!, items[left]!) ? right : left;
      const child = items[childIndex]!;
      if (!this.#before(child, item)) break;
      items[index] = child;
      child.heapIndex = index;
      index = childIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  /** Adds heap index `i` to the frontier, a heap of indices in the order of the items they point at. */
  #pushFrontier(i: number): void {
    const f = this.#frontier;
    const items = this.#items;
    let at = f.length;
    f.push(i);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.#before(items[i]!, items[f[parent]!]!)) break;
      f[at] = f[parent]!;
      at = parent;
    }
    f[at] = i;
  }

  #popFrontier(): number {
    const f = this.#frontier;
    const items = this.#items;
    const top = f[0]!;
    const last = f.pop()!;
    const n = f.length;
    if (n === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#before(items[f[right]!]!, items[f[left]!]!) ? right : left;
      if (!this.#before(items[f[child]!]!, items[last]!)) break;
      f[at] = f[child]!;
      at = child;
    }
    f[at] = last;
    return top;
  }
}
