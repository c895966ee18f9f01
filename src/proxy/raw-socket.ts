import { EventEmitter } from 'eventemitter3';
import type { HandleRequest, RawHandles, TcpHandle } from './raw-handles.js';
import { uvError } from './raw-handles.js';
import type { RelaySocket } from './relay-socket.js';

/** libuv's end of stream and "not connected" (a shutdown of a socket the peer already reset). */
const UV_EOF = -4095;
const UV_ENOTCONN = -107;

const OWNER = Symbol('switchyard.rawSocket');

/** Reads: `this` is the socket; the bytes are `buffer[0, nread)`, overwritten after the call; false stops reading. */
export type RawReadCallback = (this: RawSocket, nread: number, buffer: Buffer) => boolean;

/**
 * The owner's own handlers of the socket's events (a session's, a dial's): called with the socket as `this`
 * before the event's listeners, without the cost of adding and removing listeners per connection. One object
 * can serve every socket.
 */
export interface RawSocketHandlers {
  readonly connect?: (this: RawSocket) => void;
  readonly error?: (this: RawSocket, err: Error) => void;
  readonly end?: (this: RawSocket) => void;
  readonly drain?: (this: RawSocket) => void;
  readonly close?: (this: RawSocket) => void;
}

interface WriteRequest extends HandleRequest {
  bytes: number;
  buffer: Uint8Array | undefined;
  callback: (() => void) | undefined;
}

interface Address {
  address?: string;
  port?: number;
  family?: string;
}

/**
 * @internal
 * A TCP connection on Node's own handle (src/proxy/raw-handles.ts) with the `net.Socket` members a proxied
 * session uses, and their meaning: `connect` (upstream), `data`-less reads into the caller's buffers (Node's
 * `onread` option), `end` at the peer's FIN, `drain`, `error` before `close`, `end()` after the queued writes,
 * backpressure by `write()`'s answer. What it leaves out is the streams' buffering: a read is handed to the
 * callback as it comes, a write goes to the kernel at once (libuv queues the rest).
 *
 * An end of stream is checked before it is reported when it may not be one: libuv reports the hang-up (POLLHUP)
 * that follows a partial read, in the same poll event, as an end of stream without reading again, and after a
 * reset (RST) that read would have failed. Such an end comes right after a read of bytes of the same socket,
 * with no other callback of the proxy's sockets in between; any other end came from a read that returned 0: a
 * FIN. When it may be a reset: before our own FIN the peer's address still answers after a FIN and not after a
 * reset; after our FIN one more read tells (a reset fails it). A reset is reported as an `ECONNRESET` error.
 */
export class RawSocket extends EventEmitter implements RelaySocket {
  readonly _handle: TcpHandle;
  readonly #raw: RawHandles;
  /** Who the peer is, for the error of a reset (`the client reset the connection`). */
  readonly #peerName: string;
  connecting = false;
  destroyed = false;
  errored: Error | null = null;
  allowHalfOpen = true;
  bytesRead = 0;
  bytesWritten = 0;
  /** Our FIN went out (the shutdown completed). */
  writableFinished = false;
  #buffer: Buffer | undefined = undefined;
  #nextBuffer: (() => Buffer) | undefined = undefined;
  #onRead: RawReadCallback | undefined = undefined;
  #reading = false;
  #paused = false;
  #pending = 0;
  #needDrain = false;
  /** `end()` was called: our FIN is queued. */
  #writeEnded = false;
  /** The peer's FIN was reported (`end`). */
  #readEnded = false;
  /** An end of stream after our FIN: reading once more to tell a reset. */
  #rechecking = false;
  /** The number ({@link RawHandles.callbacks}) of the callback of this socket's last read of bytes. */
  #lastDataCallback = -1;
  #peer: Address | undefined = undefined;
  #local: Address | undefined = undefined;
  #handlers: RawSocketHandlers | undefined = undefined;

  constructor(raw: RawHandles, handle: TcpHandle, peerName: 'client' | 'server') {
    super();
    this.#raw = raw;
    this._handle = handle;
    this.#peerName = peerName;
    handle[OWNER] = this;
    handle.onread = RawSocket.#onHandleRead;
  }

  /** A socket connecting to `address` (an IP address of `family` 4 or 6); `connect` or `error` follows. */
  static connect(raw: RawHandles, address: string, port: number, family: 4 | 6, noDelay: boolean): RawSocket {
    const handle = new raw.TCP(raw.socketType);
    const socket = new RawSocket(raw, handle, 'server');
    socket.connecting = true;
    // Before the socket exists libuv keeps the option and sets it when it opens one (one setsockopt either way).
    if (noDelay) handle.setNoDelay(true);
    const req = new raw.ConnectWrap();
    req.oncomplete = RawSocket.#afterConnect as HandleRequest['oncomplete'];
    req['address'] = address;
    req['port'] = port;
    const status = family === 6 ? handle.connect6(req, address, port) : handle.connect(req, address, port);
    // As net.Socket: the error comes after the caller has listened for it.
    if (status !== 0) process.nextTick(() => socket.destroy(uvError(status, 'connect', address, port)));
    return socket;
  }

  /**
   * Reads from now on (or from the connection, for a connecting socket) into `next()`'s buffers, calling
   * `callback` for each read; `next` is called once now and after every read (Node's `onread` option).
   */
  readWith(next: () => Buffer, callback: RawReadCallback): this {
    this.#nextBuffer = next;
    this.#onRead = callback;
    const buffer = (this.#buffer = next());
    this._handle.useUserBuffer(buffer);
    if (!this.connecting) this.#startReading();
    return this;
  }

  /** Sets (or, with undefined, removes) the owner's handlers ({@link RawSocketHandlers}). */
  setHandlers(handlers: RawSocketHandlers | undefined): void {
    this.#handlers = handlers;
  }

  get remoteAddress(): string | undefined {
    return this.#peerAddress()?.address;
  }

  get remotePort(): number | undefined {
    return this.#peerAddress()?.port;
  }

  get remoteFamily(): string | undefined {
    return this.#peerAddress()?.family;
  }

  get localAddress(): string | undefined {
    return this.#localAddress()?.address;
  }

  get localPort(): number | undefined {
    return this.#localAddress()?.port;
  }

  get writableLength(): number {
    return this.#pending;
  }

  setNoDelay(noDelay = true): this {
    if (!this.destroyed) this._handle.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    if (!this.destroyed) this._handle.setKeepAlive(enable, Math.floor(initialDelay / 1000));
    return this;
  }

  isPaused(): boolean {
    return this.#paused;
  }

  resume(): this {
    this.#paused = false;
    if (!this.connecting) this.#startReading();
    return this;
  }

  /**
   * Hands `chunk` to the kernel (libuv queues what it does not take at once). True when all of it was taken;
   * false when some waits, and `drain` follows when nothing waits any more. `callback` is called once the
   * chunk is written, synchronously when it was taken at once (the chunk may be reused then).
   */
  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean {
    if (this.destroyed || this.#writeEnded) return false;
    const raw = this.#raw;
    const req = (raw.spare.write ?? new raw.WriteWrap()) as WriteRequest;
    const status = this._handle.writeBuffer(req, chunk);
    if (status !== 0) {
      raw.spare.write = undefined;
      this.destroy(uvError(status, 'write'));
      return false;
    }
    this.bytesWritten += chunk.length;
    if (raw.state[raw.kLastWriteWasAsync] === 0) {
      raw.spare.write = req; // untouched: the kernel took it all in the try
      callback?.();
      return true;
    }
    // Waits in libuv: the request is this write's until it completes.
    raw.spare.write = undefined;
    req.handle = this._handle;
    req.oncomplete = RawSocket.#afterWrite as HandleRequest['oncomplete'];
    req.bytes = chunk.length;
    req.buffer = chunk; // kept alive until written
    req.callback = callback as (() => void) | undefined;
    this.#pending += chunk.length;
    this.#needDrain = true;
    return false;
  }

  /** Sends our FIN after what is queued. When the peer's FIN came already, the socket closes once ours is out. */
  end(): this {
    if (this.destroyed || this.#writeEnded) return this;
    this.#writeEnded = true;
    const req = new this.#raw.ShutdownWrap();
    req.handle = this._handle;
    req.oncomplete = RawSocket.#afterShutdown;
    const status = this._handle.shutdown(req);
    // 1: done at once; ENOTCONN: the peer is gone already (Node takes both as a finished shutdown).
    if (status === 1 || status === UV_ENOTCONN) this.#finished();
    else if (status !== 0) this.destroy(uvError(status, 'shutdown'));
    return this;
  }

  /** Closes the handle; `error` (when given) is emitted on the next tick, `close` when the handle is closed. */
  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.connecting = false;
    this.#reading = false;
    this.#buffer = undefined;
    if (error !== undefined) {
      this.errored = error;
      process.nextTick(RawSocket.#emitError, this, error);
    }
    this._handle.close(RawSocket.#onHandleClose);
    return this;
  }

  #startReading(): void {
    if (this.#reading || this.#paused || this.#readEnded || this.destroyed || this.#onRead === undefined) return;
    const status = this._handle.readStart();
    if (status !== 0) this.destroy(uvError(status, 'read'));
    else this.#reading = true;
  }

  #stopReading(): void {
    if (!this.#reading || this.destroyed) return;
    this.#reading = false;
    this._handle.readStop();
  }

  #peerAddress(): Address | undefined {
    if (this.#peer === undefined && !this.destroyed) {
      const out: Address = {};
      if (this._handle.getpeername(out as Record<string, unknown>) === 0) this.#peer = out;
    }
    return this.#peer;
  }

  #localAddress(): Address | undefined {
    if (this.#local === undefined && !this.destroyed) {
      const out: Address = {};
      if (this._handle.getsockname(out as Record<string, unknown>) === 0) this.#local = out;
    }
    return this.#local;
  }

  /** `maybeHangUp`: the end came right after a read of bytes (see the class's comment): check it. */
  #ended(maybeHangUp: boolean): void {
    if (this.#readEnded || this.destroyed) return;
    if (!maybeHangUp) {
      // A read returned 0: the peer's FIN.
    } else if (this.#writeEnded && !this.#rechecking) {
      // After our FIN a reset leaves no trace the address could show: read once more (a reset fails that read).
      this.#rechecking = true;
      this.#reading = false;
      this.#startReading();
      if (this.#reading) return;
    } else if (!this.#writeEnded && this._handle.getpeername({}) !== 0) {
      // Before our FIN: after the peer's FIN the connection is still there (CLOSE_WAIT); after a reset it is gone.
      const err: NodeJS.ErrnoException = new Error(`the ${this.#peerName} reset the connection`);
      err.code = 'ECONNRESET';
      this.destroy(err);
      return;
    }
    this.#reading = false;
    this.#readEnded = true;
    this.#handlers?.end?.call(this);
    this.emit('end');
    if (this.writableFinished && !this.destroyed) this.destroy();
  }

  #finished(): void {
    if (this.destroyed || this.writableFinished) return;
    this.writableFinished = true;
    if (this.#readEnded && !this.destroyed) this.destroy();
  }

  static #onHandleRead(this: TcpHandle): Uint8Array | undefined {
    const s = this[OWNER] as RawSocket;
    const raw = s.#raw;
    const nread = raw.state[raw.kReadBytesOrError]!;
    const callback = ++raw.callbacks.value;
    if (nread > 0) {
      s.#lastDataCallback = callback;
      s.bytesRead += nread;
      const buffer = s.#buffer;
      if (buffer === undefined || s.destroyed) return undefined;
      const more = s.#onRead!.call(s, nread, buffer);
      if (s.destroyed) return undefined;
      if (!more) {
        s.#paused = true;
        s.#stopReading();
      }
      const next = s.#nextBuffer!();
      if (next === buffer) return undefined;
      s.#buffer = next; // held here: the handle keeps only a pointer to it
      return next;
    }
    if (nread === 0) return undefined;
    s.#reading = false;
    if (nread === UV_EOF) s.#ended(s.#lastDataCallback === callback - 1);
    else s.destroy(uvError(nread, 'read'));
    return undefined;
  }

  static #afterConnect(this: HandleRequest, status: number, handle: TcpHandle | undefined): void {
    const s = handle?.[OWNER] as RawSocket | undefined;
    if (s !== undefined) s.#raw.callbacks.value++;
    if (s === undefined || s.destroyed) return;
    if (status < 0) {
      s.destroy(uvError(status, 'connect', this['address'] as string, this['port'] as number));
      return;
    }
    s.connecting = false;
    s.#handlers?.connect?.call(s);
    s.emit('connect');
    s.#startReading();
  }

  static #afterWrite(this: WriteRequest, status: number): void {
    const s = this.handle?.[OWNER] as RawSocket | undefined;
    if (s === undefined) return;
    s.#raw.callbacks.value++;
    s.#pending -= this.bytes;
    this.buffer = undefined;
    if (s.destroyed) return;
    if (status < 0) {
      s.destroy(uvError(status, 'write'));
      return;
    }
    this.callback?.();
    if (s.#pending === 0 && s.#needDrain && !s.destroyed) {
      s.#needDrain = false;
      s.#handlers?.drain?.call(s);
      s.emit('drain');
    }
  }

  static #afterShutdown(this: HandleRequest): void {
    const s = this.handle?.[OWNER] as RawSocket | undefined;
    if (s === undefined) return;
    s.#raw.callbacks.value++;
    s.#finished();
  }

  static #onHandleClose(this: TcpHandle): void {
    const s = this[OWNER] as RawSocket;
    s.#raw.callbacks.value++;
    s.#handlers?.close?.call(s);
    s.emit('close', s.errored !== null);
  }

  static #emitError(this: void, socket: RawSocket, error: Error): void {
    socket.#handlers?.error?.call(socket, error);
    socket.emit('error', error);
  }
}
