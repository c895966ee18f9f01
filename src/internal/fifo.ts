/** A node of {@link Fifo}; keep it to remove the entry in O(1). */
export interface FifoNode<T> {
  readonly value: T;
  prev: FifoNode<T> | undefined;
  next: FifoNode<T> | undefined;
  linked: boolean;
}

/** A doubly linked FIFO with O(1) push, shift and removal of any node (queue timeouts, aborts). */
export class Fifo<T> {
  #head: FifoNode<T> | undefined;
  #tail: FifoNode<T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get head(): FifoNode<T> | undefined {
    return this.#head;
  }

  push(value: T): FifoNode<T> {
    const node: FifoNode<T> = { value, prev: this.#tail, next: undefined, linked: true };
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#size++;
    return node;
  }

  /** Inserts keeping the list sorted by `rank` ascending (used to merge a server queue back into the FIFO). */
  insertSorted(value: T, rank: (v: T) => number): FifoNode<T> {
    let after = this.#tail;
    const r = rank(value);
    while (after && rank(after.value) > r) after = after.prev;
    const node: FifoNode<T> = { value, prev: after, next: after ? after.next : this.#head, linked: true };
    if (node.next) node.next.prev = node;
    else this.#tail = node;
    if (after) after.next = node;
    else this.#head = node;
    this.#size++;
    return node;
  }

  remove(node: FifoNode<T>): void {
    if (!node.linked) return;
    node.linked = false;
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = undefined;
    this.#size--;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let n = this.#head; n; n = n.next) yield n.value;
  }
}
