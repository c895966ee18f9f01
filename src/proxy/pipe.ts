/**
 * Read buffers for the server→client direction, where bulk transfers go.
 *
 * Upstream sockets read with `onread` into buffers we own instead of a fresh 64 KiB allocation per read.
 * A connection starts on a buffer shared by all connections of the proxy: each read is copied out of it at
 * once (small reads cost what Node's default path costs, and an idle connection holds no buffer at all). The first read that
 * fills the shared buffer gives the connection its own {@link LARGE_READ_BYTES} buffer, written to the client
 * without a copy; while such a write is pending the buffer is lent to it and the upstream is not read (that
 * is the backpressure). A connection whose reads become small again drops its own buffer.
 *
 * Node calls the `onread.buffer` function right after each read callback, without saying for which socket;
 * the callback leaves the next buffer in {@link ReadBuffers.setNext} and the generator hands it over.
 */

/** Size of the shared first-read buffer. A read that fills it means a bulk transfer. */
export const SHARED_READ_BYTES = 64 * 1024;
/** Size of a connection's own read buffer once it transfers in bulk. */
export const LARGE_READ_BYTES = 256 * 1024;
/** A connection with its own buffer gives it up after a read smaller than this. */
export const SHRINK_BELOW_BYTES = 4 * 1024;

/**
 * @internal
 * The read buffers of one proxy: the shared first-read buffer and the hand-over slot for the next read.
 * One per proxy, so no state lives at module level.
 */
export class ReadBuffers {
  /** The buffer connections without their own buffer read into. Never lent to a write. */
  readonly shared: Buffer = Buffer.allocUnsafe(SHARED_READ_BYTES);
  #next: Buffer = this.shared;
  /**
   * The `onread.buffer` generator of every upstream socket of the proxy. Node calls it once when a socket's
   * handle is made (nothing was chosen: the shared buffer) and once after every read callback.
   */
  readonly take = (): Buffer => {
    const buffer = this.#next;
    this.#next = this.shared;
    return buffer;
  };

  /** The generator of reads that are always copied out (client reads): the shared buffer. */
  readonly sharedOnly = (): Buffer => this.shared;

  /** Chooses the buffer of the read that follows the current read callback. Call it last in the callback. */
  setNext(buffer: Buffer | undefined): void {
    this.#next = buffer ?? this.shared;
  }
}
