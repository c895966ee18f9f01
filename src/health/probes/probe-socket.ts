import net from 'node:net';
import type { ProbeContext } from '../probe.js';

/** Bound of an orderly close when the probe runs outside a checker (no deadline to borrow), ms. */
const DETACHED_CLOSE_MS = 2000;

/**
 * A check connection: connects, buffers what the server sends, and is closed with a reset so a check leaves
 * no TIME_WAIT behind (HAProxy also closes check connections with an RST), or in an orderly way
 * ({@link ProbeSocket.closeGracefully}) where a reset would disturb the server. Aborting the signal destroys the
 * socket at once. Internal to the probes.
 */
export class ProbeSocket {
  readonly #socket: net.Socket;
  readonly #signal: AbortSignal;
  #chunks: Buffer[] = [];
  #received: Buffer = Buffer.alloc(0);
  #ended = false;
  #error: unknown;
  #connected = false;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #onAbort = (): void => this.close();

  private constructor(socket: net.Socket, signal: AbortSignal) {
    this.#socket = socket;
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => {
      // After close() nothing is kept; an orderly close still reads (and drops) what the server sends.
      if (this.#closed) return;
      this.#chunks.push(chunk);
      this.#notify();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('error', (err) => {
      this.#error ??= err;
      this.#ended = true;
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#notify();
    });
  }

  /** Connects to `host:port`; rejects with the socket error, or with the signal's reason on abort. */
  static connect(host: string, port: number, signal: AbortSignal): Promise<ProbeSocket> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const socket = net.connect({ host, port });
      const probe = new ProbeSocket(socket, signal);
      const settle = (err?: unknown): void => {
        socket.off('connect', onConnect);
        socket.off('error', onError);
        signal.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(probe);
        else {
          probe.close();
          reject(err);
        }
      };
      const onConnect = (): void => {
        probe.#connected = true;
        settle();
      };
      const onError = (err: Error): void => settle(err);
      const onAbort = (): void => settle(signal.reason);
      socket.once('connect', onConnect);
      socket.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The local and remote addresses of the connection (a PROXY header names them). */
  get addresses(): { readonly localAddress: string; readonly localPort: number; readonly remoteAddress: string; readonly remotePort: number } {
    const s = this.#socket;
    return { localAddress: s.localAddress ?? '', localPort: s.localPort ?? 0, remoteAddress: s.remoteAddress ?? '', remotePort: s.remotePort ?? 0 };
  }

  /** Everything received since the last {@link ProbeSocket.clear}. */
  get received(): Buffer {
    if (this.#chunks.length > 0) {
      this.#received = Buffer.concat([this.#received, ...this.#chunks]);
      this.#chunks = [];
    }
    return this.#received;
  }

  /** True once the server closed its side, reset the connection, or the socket failed. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The socket error, if one happened after the connection was established. */
  get error(): unknown {
    return this.#error;
  }

  /** Forgets what was received so far (a new request is about to be sent). */
  clear(): void {
    this.#chunks = [];
    this.#received = Buffer.alloc(0);
  }

  /** Sends bytes; a write error shows up as {@link ProbeSocket.ended} with {@link ProbeSocket.error}. */
  write(data: Uint8Array): void {
    if (!this.#closed) this.#socket.write(data);
  }

  /** Resolves when more data arrives or the connection ends; rejects with the signal's reason on abort. */
  more(): Promise<void> {
    if (this.#ended || this.#chunks.length > 0) return Promise.resolve();
    if (this.#signal.aborted) return Promise.reject(this.#signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#wake = undefined;
        reject(this.#signal.reason);
      };
      this.#signal.addEventListener('abort', onAbort, { once: true });
      this.#wake = () => {
        this.#signal.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }

  /** Closes the connection: a reset when established, a plain destroy while connecting. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    // Reset only a connection that is fully open. resetAndDestroy() on a socket still connecting waits for the
    // connection; on one already shutting down (the peer closed and Node ended our side) libuv refuses the
    // reset and the handle is never closed. Both get a plain destroy.
    const socket = this.#socket;
    if (this.#connected && !this.#ended && !socket.destroyed && !socket.writableEnded) socket.resetAndDestroy();
    else socket.destroy();
    this.#notify();
  }

  /**
   * Closes the connection in an orderly way, so that even a server without an `error` handler sees nothing
   * but a normal close: sends a FIN at once, keeps reading (and dropping) what the server sends so no unread
   * byte turns the close into a reset, and destroys the socket once the server has closed its side too, or
   * when `signal` aborts. Resolves when the socket is closed; never rejects. Idempotent with {@link ProbeSocket.close}.
   */
  closeGracefully(signal: AbortSignal): Promise<void> {
    const socket = this.#socket;
    if (this.#closed || socket.destroyed) {
      this.close();
      return Promise.resolve();
    }
    this.#closed = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#chunks = [];
    this.#notify();
    return new Promise<void>((resolve) => {
      const onAbort = (): void => {
        socket.destroy();
      };
      socket.once('close', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      socket.resume();
      socket.end();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * Closes `socket` in an orderly way ({@link ProbeSocket.closeGracefully}) after the probe's result: handed to the
 * checker through `context.linger` (bounded by the check's deadline), or on its own with a 2 s bound outside one.
 */
/**
 * The PROXY protocol header a check sends on `socket` (HAProxy `make_proxy_line()` for a check connection): v1
 * names the connection's own addresses (`PROXY TCP4 <local> <remote> <lport> <rport>`), v2 is a `LOCAL` command
 * with no address (a locally initiated connection).
 */
export function checkProxyHeader(version: 'v1' | 'v2', socket: ProbeSocket): Buffer {
  if (version === 'v2') return Buffer.from('0d0a0d0a000d0a515549540a' + '20' + '00' + '0000', 'hex');
  const a = socket.addresses;
  const family = a.remoteAddress.includes(':') ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${family} ${a.localAddress} ${a.remoteAddress} ${a.localPort} ${a.remotePort}\r\n`, 'latin1');
}

export function closeInBackground(socket: ProbeSocket, ctx: ProbeContext): void {
  if (ctx.linger !== undefined) {
    ctx.linger((bound) => socket.closeGracefully(bound));
    return;
  }
  const bound = new AbortController();
  const timer = ctx.clock.setTimeout(() => bound.abort(), DETACHED_CLOSE_MS);
  void socket.closeGracefully(bound.signal).finally(() => timer.cancel());
}
