import type net from 'node:net';
import { Duplex } from 'node:stream';
import type { ConnectContext } from '../diagnostics-messages.js';
import type { LbError } from '../errors.js';
import type { Lease } from '../lease.js';
import type { Server } from '../server.js';
import type { LeaseSource } from '../lease.js';
import { CallbackDialer, type ResolvedConnectOptions, aborted } from './connect-options.js';

type WriteCallback = (error?: Error | null) => void;

/**
 * The Duplex returned by `createConnection()`: usable at once, it dials in the background (queue, attempts,
 * turn-around, redispatch), keeps what is written meanwhile, and once connected relays both ways with
 * backpressure. It has the parts of `net.Socket` that clients use (`connecting`, `connect`/`ready` events,
 * `setNoDelay`, `setKeepAlive`, `setTimeout`, `ref`/`unref`, addresses, `destroySoon`). A failed dial destroys
 * it with the `LbError`. The lease is released when it closes.
 */
export class BalancedSocket extends Duplex {
  readonly #dialer: CallbackDialer;
  #socket: net.Socket | undefined = undefined;
  #server: Server | undefined = undefined;
  #pending: { chunks: readonly Buffer[]; callback: WriteCallback } | undefined = undefined;
  #pendingFinal: WriteCallback | undefined = undefined;
  #noDelay: boolean | undefined;
  #keepAlive: [boolean, number] | undefined;
  #timeoutMs = 0;
  #refed = true;
  #ended = false;
  #unlisten: (() => void) | undefined;

  /** @internal Use `createConnection()` or `balancer.createConnection()`. */
  constructor(balancer: LeaseSource, options: ResolvedConnectOptions, context: ConnectContext) {
    super({ allowHalfOpen: options.allowHalfOpen, decodeStrings: true });
    this.#dialer = new CallbackDialer(
      balancer,
      options,
      context,
      (socket, lease) => this.#connected(socket, lease),
      (error) => this.destroy(error as LbError),
    );
    const signal = options.signal;
    if (signal?.aborted) {
      this.destroy(aborted(signal));
      return;
    }
    if (signal) {
      const onAbort = (): void => {
        if (this.#socket === undefined) this.destroy(aborted(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    this.#dialer.startDial();
  }

  /** True until connected (as `net.Socket#connecting`). */
  get connecting(): boolean {
    return this.#socket === undefined && !this.destroyed;
  }

  /** Same as {@link BalancedSocket.connecting}. */
  get pending(): boolean {
    return this.connecting;
  }

  /** As `net.Socket#readyState`. */
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The server connected to, once connected. */
  get server(): Server | undefined {
    return this.#server;
  }

  /** The underlying socket, once connected. */
  get socket(): net.Socket | undefined {
    return this.#socket;
  }

  get remoteAddress(): string | undefined {
    return this.#socket?.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#socket?.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#socket?.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.#socket?.localAddress;
  }
  get localPort(): number | undefined {
    return this.#socket?.localPort;
  }
  get bytesRead(): number {
    return this.#socket?.bytesRead ?? 0;
  }
  get bytesWritten(): number {
    return this.#socket?.bytesWritten ?? 0;
  }
  /** The idle timeout set by {@link BalancedSocket.setTimeout}, ms (0 = none). */
  get timeout(): number {
    return this.#timeoutMs;
  }

  address(): net.AddressInfo | Record<string, never> {
    return this.#socket?.address() ?? {};
  }

  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    this.#socket?.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    this.#keepAlive = [enable, initialDelayMs];
    this.#socket?.setKeepAlive(enable, initialDelayMs);
    return this;
  }

  /** Emits `timeout` after `timeoutMs` without activity once connected (0 disables), as `net.Socket`. */
  setTimeout(timeoutMs: number, callback?: () => void): this {
    this.#timeoutMs = timeoutMs;
    this.#socket?.setTimeout(timeoutMs);
    if (callback) this.once('timeout', callback);
    return this;
  }

  ref(): this {
    this.#refed = true;
    this.#socket?.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#socket?.unref();
    return this;
  }

  /** Ends the writable side, then destroys once everything is written (as `net.Socket#destroySoon`). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Destroys now; the underlying connection, if any, is reset. */
  resetAndDestroy(): this {
    const socket = this.#socket;
    if (socket !== undefined && !socket.destroyed) socket.resetAndDestroy();
    return this.destroy();
  }

  /** @internal Node's Writable hook. */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    const socket = this.#socket;
    if (socket === undefined) this.#pending = { chunks: [chunk], callback };
    else socket.write(chunk, callback);
  }

  /** @internal Node's Writable hook. */
  override _writev(chunks: { chunk: Buffer }[], callback: WriteCallback): void {
    const buffers = chunks.map((c) => c.chunk);
    const socket = this.#socket;
    if (socket === undefined) this.#pending = { chunks: buffers, callback };
    else writeAll(socket, buffers, callback);
  }

  /** @internal Node's Writable hook. */
  override _final(callback: WriteCallback): void {
    const socket = this.#socket;
    if (socket === undefined) {
      this.#pendingFinal = callback;
      return;
    }
    if (socket.writableFinished || socket.destroyed) {
      callback();
      return;
    }
    socket.end(() => callback());
  }

  override _read(): void {
    const socket = this.#socket;
    if (socket !== undefined && socket.isPaused()) socket.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#unlisten?.();
    this.#dialer.cancelDial();
    const socket = this.#socket;
    if (socket !== undefined && !socket.destroyed) socket.destroy();
    callback(error);
  }

  #connected(socket: net.Socket, lease: Lease): void {
    this.#unlisten?.();
    // Released when either closes first: this stream may finish before the socket's own close.
    lease.bindTo(socket);
    lease.bindTo(this);
    this.#socket = socket;
    this.#server = lease.server;
    if (this.#noDelay !== undefined) socket.setNoDelay(this.#noDelay);
    if (this.#keepAlive !== undefined) socket.setKeepAlive(...this.#keepAlive);
    if (this.#timeoutMs > 0) socket.setTimeout(this.#timeoutMs);
    if (!this.#refed) socket.unref();
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.push(null);
    });
    socket.on('timeout', () => this.emit('timeout'));
    socket.on('error', (err) => this.destroy(err));
    // After the server's FIN the Duplex ends by itself once its reader has taken everything; destroying it
    // here would drop what is not yet read. Any other close of the socket ends this stream too.
    socket.on('close', () => {
      if (!this.destroyed && !this.#ended) this.destroy();
    });
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) writeAll(socket, pending.chunks, pending.callback);
    const final = this.#pendingFinal;
    this.#pendingFinal = undefined;
    if (final !== undefined) this._final(final);
    this.emit('connect');
    this.emit('ready');
  }
}

function writeAll(socket: net.Socket, chunks: readonly Buffer[], callback: WriteCallback): void {
  if (chunks.length === 1) {
    socket.write(chunks[0]!, callback);
    return;
  }
  socket.cork();
  for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i]!);
  socket.write(chunks[chunks.length - 1]!, callback);
  socket.uncork();
}
