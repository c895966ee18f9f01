/**
 * A proxied connection's socket as {@link ProxyConnection} gives it: a `net.Socket` for sockets the application
 * handed over (`proxy.handle()`, `proxy.attach()`, a hostname to resolve), or the proxy's lean socket on Node's
 * TCP handle for the connections of its own listeners and for servers given by address (TcpProxy's
 * `relay: 'handles'`, the default). Both have these members, with `net.Socket`'s meaning.
 */
export interface ProxySocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly remoteFamily?: string | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly destroyed: boolean;
  /** Bytes written and not yet taken by the kernel. */
  readonly writableLength: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /** Closes the connection at once; an `error` given is emitted as the socket's `error` before `close`. */
  destroy(error?: Error): this;
  setNoDelay(noDelay?: boolean): this;
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  on(event: 'close', listener: (hadError: boolean) => void): this;
  on(event: 'end' | 'drain', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'close', listener: (hadError: boolean) => void): this;
  once(event: 'end' | 'drain', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  off(event: 'close', listener: (hadError: boolean) => void): this;
  off(event: 'end' | 'drain', listener: () => void): this;
  off(event: 'error', listener: (err: Error) => void): this;
  removeListener(event: 'close', listener: (hadError: boolean) => void): this;
  removeListener(event: 'end' | 'drain', listener: () => void): this;
  removeListener(event: 'error', listener: (err: Error) => void): this;
}

/** @internal What a session does with its sockets: {@link ProxySocket}, and the relay's reads and writes. */
export interface RelaySocket extends ProxySocket {
  allowHalfOpen: boolean;
  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean;
  end(): this;
  resume(): this;
  isPaused(): boolean;
}
