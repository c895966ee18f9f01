import net from 'node:net';

/*
 * Reading an accepted socket with `onread`. Node offers `onread` only to sockets it creates for `net.connect()`
 * (the upstream side); an accepted socket always reads through the Readable stream: a fresh buffer per read,
 * `push()`, the stream's state machine and a `data` event. This gives the accepted socket the same `onread`
 * path Node's own `net.connect({ onread })` sockets take, by setting the three properties Node's constructor
 * would have set. Everything else (end of stream, errors, `pause()`/`resume()` backpressure, `bytesRead`)
 * stays Node's own code, which already handles sockets that read this way.
 *
 * The properties are Node's private symbols, so they are found on a probe socket made with `onread` and
 * checked at run time: when anything is missing or looks different, {@link ClientReader.create} returns
 * undefined and the proxy keeps the public `data` path.
 */

/** What a client may send before its upstream is connected: a paused Readable's high-water mark. */
const EARLY_READ_BYTES = 16 * 1024;

/** The `onread` callback: `this` is the socket; return false to stop reading until `resume()`. */
export type ReadCallback = (this: net.Socket, nread: number, buffer: Buffer) => boolean;

interface OnreadKeys {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

interface UserBufferHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
  readStart?: () => number;
  readStop?: () => number;
  reading?: boolean;
}

/** The symbols Node's `net.Socket` constructor sets for `onread`, or undefined when they cannot be told apart. */
function findOnreadKeys(): OnreadKeys | undefined {
  const buffer = (): Buffer => Buffer.alloc(0);
  const callback = (): boolean => true;
  let probe: net.Socket;
  try {
    // `onread` is documented for net.connect(); the constructor it passes its options to reads it too.
    probe = new net.Socket({ onread: { buffer, callback } } as net.SocketConstructorOpts);
  } catch {
    return undefined;
  }
  let keys: { buffer?: symbol; callback?: symbol; generator?: symbol } = {};
  for (const key of Object.getOwnPropertySymbols(probe)) {
    const value: unknown = (probe as unknown as Record<symbol, unknown>)[key];
    if (value === callback) keys = { ...keys, callback: key };
    else if (value === buffer) keys = { ...keys, generator: key };
    else if (value === true && key.description === 'kBuffer') keys = { ...keys, buffer: key };
  }
  probe.destroy();
  if (keys.buffer === undefined || keys.callback === undefined || keys.generator === undefined) return undefined;
  // Node's pause()/resume() stop and start the handle only for sockets that read this way: they must be there.
  if (net.Socket.prototype.pause === undefined || net.Socket.prototype.resume === undefined) return undefined;
  return { buffer: keys.buffer, callback: keys.callback, generator: keys.generator };
}

/**
 * @internal
 * Switches accepted sockets to `onread` into a buffer of the proxy (one per proxy; every read is handled, and
 * copied out if kept, before the next read of any socket). One per proxy: no module-level state.
 */
export class ClientReader {
  readonly #keys: OnreadKeys;
  readonly #buffer: Buffer;
  readonly #generator: () => Buffer;
  readonly #callback: ReadCallback;

  private constructor(keys: OnreadKeys, buffer: Buffer, callback: ReadCallback) {
    this.#keys = keys;
    this.#buffer = buffer;
    this.#generator = () => buffer;
    this.#callback = callback;
  }

  /**
   * A reader calling `callback` for each read into `buffer`, or undefined when this Node does not have the
   * internals it needs (the caller then uses `data` events). `SWITCHYARD_NO_CLIENT_ONREAD=1` forces undefined.
   */
  static create(buffer: Buffer, callback: ReadCallback, env: NodeJS.ProcessEnv = process.env): ClientReader | undefined {
    if (env['SWITCHYARD_NO_CLIENT_ONREAD'] === '1') return undefined;
    const keys = findOnreadKeys();
    return keys === undefined ? undefined : new ClientReader(keys, buffer, callback);
  }

  /**
   * Makes `socket` deliver its reads to the callback from now on, when it can be switched: a plain TCP socket,
   * connected, nothing buffered in its Readable and no end of stream seen there. Returns false (and changes
   * nothing) otherwise; the caller then reads it with `data` events.
   */
  adopt(socket: net.Socket): boolean {
    const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
    // A plain TCP handle only: a TLS socket's handle reads through its TLS layer.
    if (handle == null || handle.constructor?.name !== 'TCP' || typeof handle.useUserBuffer !== 'function' || typeof handle.readStart !== 'function' || typeof handle.readStop !== 'function') return false;
    const state = socket.readableFlowing;
    // Flowing (a `data` listener of someone else) or already holding bytes or an end: the stream must deliver those.
    if (state === true || socket.readableLength !== 0 || socket.readableEnded || socket.destroyed || socket.connecting) return false;
    const s = socket as unknown as Record<symbol, unknown>;
    const keys = this.#keys;
    if (s[keys.buffer] !== undefined && s[keys.buffer] !== null) return false;
    try {
      handle.useUserBuffer(this.#buffer);
    } catch {
      return false;
    }
    s[keys.buffer] = this.#buffer;
    s[keys.generator] = this.#generator;
    s[keys.callback] = this.#callback;
    return true;
  }
}

/** @internal What a client read with `onread` sent before its upstream was connected (copies). */
export class EarlyBytes {
  readonly #chunks: Buffer[] = [];
  bytes = 0;

  /** Keeps `chunk`; false when the allowance is full (stop reading until the upstream is there). */
  keep(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.bytes += chunk.length;
    return this.bytes < EARLY_READ_BYTES;
  }

  /** Writes everything kept to `socket`; returns the last `write()`'s answer (false: wait for `drain`). */
  writeTo(socket: { write(chunk: Buffer): boolean }): boolean {
    let more = true;
    for (const chunk of this.#chunks) more = socket.write(chunk);
    return more;
  }
}
