import type { Server } from './server.js';

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
  /** Gives the slot back. Returns true the first time, false on every later call. */
  release(): boolean;
  /** Releases the lease when `socket` emits `close`. Returns the lease. */
  bindTo(socket: Closable): this;
  /** Same as {@link Lease.release}. */
  [Symbol.dispose](): void;
}

/** @internal */
export class LeaseImpl implements Lease {
  readonly server: Server;
  readonly queuedMs: number;
  #released = false;
  readonly #onRelease: (lease: LeaseImpl) => void;

  constructor(server: Server, queuedMs: number, onRelease: (lease: LeaseImpl) => void) {
    this.server = server;
    this.queuedMs = queuedMs;
    this.#onRelease = onRelease;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): boolean {
    if (this.#released) return false;
    this.#released = true;
    this.#onRelease(this);
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
}
