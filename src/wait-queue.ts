import type { TimerHandle } from './clock.js';
import type { LbError } from './errors.js';
import type { Closable, Lease, QueuePositions } from './lease.js';
import type { Server } from './server.js';
import { Fifo, type FifoNode } from './internal/fifo.js';
import { type Exclusion, isExcluded } from './strategies/internal/pick-context.js';

/** @internal A caller waiting for a slot. */
export interface Waiter {
  readonly seq: number;
  readonly enqueuedAt: number;
  readonly exclude: Exclusion;
  readonly bindTo: Closable | undefined;
  /** The server whose own queue it waits in, or `undefined` for the balancer's queue. */
  server: Server | undefined;
  node: FifoNode<Waiter> | undefined;
  /** Its queue's index when it entered, minus one (HAProxy `pendconn.queue_idx`). */
  queueIdx: number;
  /** Its position in a server queue it was moved out of (to the balancer's queue), else 0. */
  serverPosition: number;
  timer: TimerHandle | undefined;
  unlisten: (() => void) | undefined;
  resolve: (lease: Lease) => void;
  reject: (err: LbError) => void;
}

/**
 * A FIFO with HAProxy's queue index (`queue.idx`): it moves on each time a waiter leaves to be served, so a
 * waiter's position when it leaves is 1 + the waiters served from the same queue while it waited.
 */
class IndexedFifo extends Fifo<Waiter> {
  idx = 0;
}

/**
 * @internal The balancer's queues: one shared FIFO (HAProxy's backend queue) and one FIFO per server (its
 * server queue, used by hash strategies and leastconn), with the counters. Removal of any waiter is O(1).
 */
export class WaitQueues {
  readonly #counted: (server: Server, delta: 1 | -1) => void;
  readonly #shared = new IndexedFifo();
  readonly #perServer = new Map<Server, IndexedFifo>();
  #size = 0;
  #max = 0;
  #sharedMax = 0;

  /** `counted` is told of every waiter entering or leaving a server's own queue (the pool keeps the counts). */
  constructor(counted: (server: Server, delta: 1 | -1) => void) {
    this.#counted = counted;
  }

  /** Waiters in all queues. */
  get size(): number {
    return this.#size;
  }

  /** Highest `size` seen. */
  get max(): number {
    return this.#max;
  }

  /** Waiters in the shared queue. */
  get sharedSize(): number {
    return this.#shared.size;
  }

  /** Highest `sharedSize` seen. */
  get sharedMax(): number {
    return this.#sharedMax;
  }

  push(w: Waiter): void {
    if (w.server) {
      let q = this.#perServer.get(w.server);
      if (!q) this.#perServer.set(w.server, (q = new IndexedFifo()));
      w.queueIdx = q.idx - 1;
      w.node = q.push(w);
      this.#counted(w.server, 1);
    } else {
      w.queueIdx = this.#shared.idx - 1;
      w.node = this.#shared.push(w);
      if (this.#shared.size > this.#sharedMax) this.#sharedMax = this.#shared.size;
    }
    this.#size++;
    if (this.#size > this.#max) this.#max = this.#size;
  }

  /**
   * Takes `w` out of its queue and cancels its timer and abort listener; `served` when it leaves for a slot
   * (the queue's index moves on, HAProxy `pendconn_process_next_strm()`). Returns its positions (HAProxy's
   * `srv_queue_pos`/`prx_queue_pos`), or `undefined` when it was not queued.
   */
  remove(w: Waiter, served = false): QueuePositions | undefined {
    if (!w.node?.linked) return undefined;
    const q = w.server ? this.#perServer.get(w.server) : this.#shared;
    if (w.server) {
      q?.remove(w.node);
      this.#counted(w.server, -1);
    } else {
      this.#shared.remove(w.node);
    }
    const position = q === undefined ? 1 : q.idx - w.queueIdx;
    if (served && q !== undefined) q.idx++;
    this.#size--;
    w.timer?.cancel();
    w.unlisten?.();
    return w.server ? { server: position, balancer: 0 } : { server: w.serverPosition, balancer: position };
  }

  /**
   * The next waiter for a free slot on `server` (HAProxy `process_srv_queue()`): the older of the head of its
   * own queue and, when `shared` allows, the first shared waiter that did not exclude it (else the oldest).
   */
  nextFor(server: Server, shared: boolean): Waiter | undefined {
    const own = this.#perServer.get(server)?.head?.value;
    const other = shared ? this.#firstAccepting(server) : undefined;
    return own && (!other || own.seq < other.seq) ? own : other;
  }

  /** Moves the waiters of `server`'s own queue to the shared queue, in age order. True if any moved. */
  moveToShared(server: Server): boolean {
    const q = this.#perServer.get(server);
    this.#perServer.delete(server);
    if (!q || q.size === 0) return false;
    for (const w of [...q]) {
      q.remove(w.node!);
      this.#counted(server, -1);
      w.serverPosition += q.idx - w.queueIdx;
      w.server = undefined;
      w.queueIdx = this.#shared.idx - 1;
      w.node = this.#shared.insertSorted(w, (x) => x.seq);
    }
    if (this.#shared.size > this.#sharedMax) this.#sharedMax = this.#shared.size;
    return true;
  }

  /** Every waiter, for shutdown (a copy: safe to remove while iterating). */
  all(): Waiter[] {
    const out = [...this.#shared];
    for (const q of this.#perServer.values()) out.push(...q);
    return out;
  }

  #firstAccepting(server: Server): Waiter | undefined {
    for (let n = this.#shared.head; n; n = n.next) {
      if (!isExcluded(n.value.exclude, server)) return n.value;
    }
    // Everyone waiting excluded this server; give it to the oldest anyway rather than leave it idle.
    return this.#shared.head?.value;
  }
}
