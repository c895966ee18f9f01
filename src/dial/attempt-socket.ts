/** What an attempt needs of its socket (a `net.Socket`, or the proxy's socket on a TCP handle): `connect` or `error`. */
export interface AttemptSocket {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the listener type of every EventEmitter
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  destroy(): unknown;
  /** When there, the attempt's `connect` and `error` go to these handlers instead of listeners (the proxy's sockets on TCP handles). */
  setHandlers?(handlers: AttemptHandlers | undefined): void;
}

/** @internal An attempt's own handlers ({@link AttemptSocket.setHandlers}): `this` is the socket. */
export interface AttemptHandlers {
  readonly connect: (this: AttemptSocket) => void;
  readonly error: (this: AttemptSocket, err: Error) => void;
}
