import type { CircuitGate } from './admission.js';
import type { Pool } from './pool.js';
import type { Server } from './server.js';
import type { Strategy } from './strategies/strategy.js';

/** Something with a `close` event: a `net.Socket`, a `tls.TLSSocket`, any Duplex. */
export interface Closable {
  once(event: 'close', listener: () => void): unknown;
}

/**
 * The right to use one connection slot on a server. Release it exactly once when the connection ends:
 * call {@link Lease.release}, bind it to the socket with {@link Lease.bindTo}, or `using lease = …`.
 * Extra releases are ignored, so a lease can never be counted twice.
 */
export interface Lease {
  /** The server this lease is on. */
  readonly server: Server;
  /** True once released. */
  readonly released: boolean;
  /** Time spent in the queue before the lease was granted, in ms (0 when granted at once). */
  readonly queuedMs: number;
  /** Where it stood when it left the queues it waited in (HAProxy's `%sq` / `%bq`); both 0 when granted at once. */
  readonly queuePositions: QueuePositions;
  /** Gives the slot back. Returns true the first time, false on every later call. */
  release(): boolean;
  /** Releases the lease when `socket` emits `close`. Returns the lease. */
  bindTo(socket: Closable): this;
  /**
   * @internal A dialer's connection attempt on the lease began (`true`) or failed (`false`): while one is under
   * way or established the server's `openConnections` (HAProxy's `cur_sess`) counts the lease; the release ends it.
   */
  _connecting(open: boolean): void;
  /** Same as {@link Lease.release}. */
  [Symbol.dispose](): void;
  /** Why the holder was asked to end this connection (see {@link Lease.recycle}), or `undefined`. */
  readonly recycleReason: RecycleReason | undefined;
  /**
   * Asks the holder to end this connection soon, so that its next one is placed again (a `Rebalancer` does this
   * when a server holds more than its share). The holder's {@link Lease.onRecycle} listener runs; the lease is not
   * released until the connection closes. True the first time, false after (or on a released lease).
   */
  recycle(reason: RecycleReason): boolean;
  /**
   * The holder says how it honours {@link Lease.recycle} (`balancer.connect()`, `createConnection()` and the
   * adapters do: they close the connection once it is idle). Called at once if the lease was recycled already.
   */
  onRecycle(listener: (reason: RecycleReason) => void): void;
  /** True when a holder registered an {@link Lease.onRecycle} listener. */
  readonly recyclable: boolean;
}

/**
 * A caller's position when it left a queue: 1 + the callers served from that queue while it waited (HAProxy's
 * `srv_queue_pos` and `prx_queue_pos`, logged as `%sq` and `%bq`); 0 for a queue it did not wait in.
 */
export interface QueuePositions {
  /** In a server's own queue (leastconn and hash strategies use them). */
  readonly server: number;
  /** In the balancer's shared queue (HAProxy's backend queue). */
  readonly balancer: number;
}

/** @internal The positions of a lease granted without waiting. */
export const NOT_QUEUED: QueuePositions = Object.freeze({ server: 0, balancer: 0 });

/** Why a lease is asked to go: data, not a string (see `Rebalancer`). */
export type RecycleReason =
  | {
      readonly kind: 'imbalance';
      /** The server's share of the leases, in %. */
      readonly sharePercent: number;
      /** The share its weight gives it, in %. */
      readonly weightSharePercent: number;
    }
  | { readonly kind: 'manual'; readonly info?: string };

/** Per-call options of `balancer.acquire()`. */
export interface AcquireOptions {
  /** The client's IP address (for `source`). */
  readonly clientAddress?: string;
  /** An affinity key for the hash strategies (tenant, user id…); takes precedence over `clientAddress`. */
  readonly key?: string | number;
  /** Servers to avoid, e.g. the one that just failed (redispatch). Used only if nothing else can serve. */
  readonly exclude?: Server | Iterable<Server>;
  /** Cancels the wait in the queue. */
  readonly signal?: AbortSignal;
  /** Release the lease automatically when this socket closes. */
  readonly bindTo?: Closable;
  /** Overrides the balancer's `timeoutQueueMs` for this call. */
  readonly timeoutQueueMs?: number;
}

/**
 * @internal
 * An acquire request already validated where it entered the library (the options of `balancer.connect()`, a
 * socket accepted by the proxy): what a dialer hands its {@link LeaseSource}, so that placing a connection
 * does not validate it again.
 */
export interface LeaseRequest {
  readonly clientAddress: string | undefined;
  readonly key: string | number | undefined;
  readonly exclude: Server | ReadonlySet<Server> | undefined;
  /**
   * The server of the failed attempt this request is placed again after (a redispatch): picking it again is
   * not a new selection (HAProxy counts `lbtot` only when the server changes).
   */
  readonly previous: Server | undefined;
  readonly signal: AbortSignal | undefined;
  readonly bindTo: Closable | undefined;
  /** `undefined`: the balancer's own `timeoutQueueMs`. */
  readonly timeoutQueueMs: number | undefined;
}

/**
 * Where leases come from: what the dialers (`connect()`, `createConnection()`, the proxy) need of a
 * {@link Balancer}. The Balancer implements it; declared here so the dialers sit below the Balancer.
 */
export interface LeaseSource {
  /** The pool leases are taken from. */
  readonly pool: Pool;
  /** The strategy that picks (the dialer asks whether it keeps affinity with `usesServerQueues`). */
  readonly strategy: Strategy;
  /** The source's circuit breaker, whose retry limit the dialers ask before each retry (absent: none). */
  readonly circuitBreaker?: CircuitGate | undefined;
  /** @internal A lease for a request validated already, waiting in the queue when every server is full. */
  acquireChecked(request: LeaseRequest): Promise<Lease>;
  /** @internal A lease now for a request validated already, or `undefined` when the caller would have to queue. */
  tryAcquireChecked(request: LeaseRequest): Lease | undefined;
}

/** @internal What a lease tells the balancer that granted it. */
export interface LeaseOwner {
  released(lease: LeaseImpl): void;
  opened(lease: LeaseImpl, open: boolean): void;
}

/** @internal */
export class LeaseImpl implements Lease {
  readonly server: Server;
  readonly queuedMs: number;
  readonly queuePositions: QueuePositions;
  #released = false;
  #open = false;
  readonly #owner: LeaseOwner;
  #recycleReason: RecycleReason | undefined = undefined;
  #onRecycle: ((reason: RecycleReason) => void) | undefined = undefined;

  constructor(server: Server, queuedMs: number, owner: LeaseOwner, queuePositions: QueuePositions = NOT_QUEUED) {
    this.server = server;
    this.queuedMs = queuedMs;
    this.queuePositions = queuePositions;
    this.#owner = owner;
  }

  _connecting(open: boolean): void {
    if (this.#released || this.#open === open) return;
    this.#open = open;
    this.#owner.opened(this, open);
  }

  get released(): boolean {
    return this.#released;
  }

  release(): boolean {
    if (this.#released) return false;
    if (this.#open) this._connecting(false);
    this.#released = true;
    this.#owner.released(this);
    return true;
  }

  bindTo(socket: Closable): this {
    socket.once('close', () => {
      this.release();
    });
    return this;
  }

  [Symbol.dispose](): void {
    this.release();
  }

  get recycleReason(): RecycleReason | undefined {
    return this.#recycleReason;
  }

  get recyclable(): boolean {
    return this.#onRecycle !== undefined;
  }

  recycle(reason: RecycleReason): boolean {
    if (this.#released || this.#recycleReason !== undefined) return false;
    this.#recycleReason = reason;
    this.#onRecycle?.(reason);
    return true;
  }

  onRecycle(listener: (reason: RecycleReason) => void): void {
    this.#onRecycle = listener;
    if (this.#recycleReason !== undefined && !this.#released) listener(this.#recycleReason);
  }
}
