import type net from 'node:net';

/*
 * Telling a peer's reset (RST) from its FIN when Node reports both as an end of stream. Called once per
 * `end` event of a proxied socket, never per read.
 */

interface StreamHandle {
  getpeername?: (out: object) => number;
  readStart?: () => number;
  onread?: (...args: unknown[]) => unknown;
}

function handleOf(socket: net.Socket): StreamHandle | undefined {
  return (socket as unknown as { _handle?: StreamHandle | null })._handle ?? undefined;
}

/**
 * True when an `end` on `socket` was really a reset, while we have not sent our FIN: after the peer's FIN the
 * connection is still there (CLOSE_WAIT) and getpeername() works; after a RST it is gone and the call fails
 * (ENOTCONN). Node has no public way to ask, so this uses the handle's own getpeername, and says "not reset"
 * when the handle is not there.
 */
export function wasReset(socket: net.Socket): boolean {
  const handle = handleOf(socket);
  if (typeof handle?.getpeername !== 'function') return false;
  return handle.getpeername({}) !== 0;
}

/**
 * Tells a reset from a FIN once we have sent our own FIN (both leave the connection closed, so
 * {@link wasReset} cannot). Called from the socket's `end` listener: libuv reports the hang-up that comes
 * with a RST as an end of stream when its last read was partial, without reading the socket's pending error.
 * This reads the socket once more: after a RST the read returns that error (ECONNRESET) and Node destroys the
 * socket with it; after a FIN it returns the end of stream again, which Node ignores. Node would destroy the
 * socket right after `end` (both directions done) and lose the error, so that is held off until the read.
 * Calls `then(reset)` after the read. Returns false, without calling `then`, when the handle cannot be read
 * again or is not a plain TCP handle (the caller takes the end as a FIN); all of it goes through Node's
 * internal handle, checked first.
 */
export function readOnceMore(socket: net.Socket, then: (reset: boolean) => void): boolean {
  const handle = handleOf(socket);
  const onread = handle?.onread;
  const state = (socket as unknown as { _readableState?: { autoDestroy?: boolean } })._readableState;
  // Only a plain TCP handle reads its socket itself: a TLS socket's handle reads through the TLS layer, which
  // has nothing more to read after its end (the read would never come back).
  if (handle?.constructor?.name !== 'TCP' || typeof onread !== 'function' || typeof handle.readStart !== 'function' || state?.autoDestroy !== true) return false;
  handle.onread = function (this: unknown, ...args: unknown[]): unknown {
    handle.onread = onread;
    const result = onread.apply(this, args);
    state.autoDestroy = true;
    const reset = socket.errored !== null;
    if (!reset && socket.writableFinished) socket.destroy();
    then(reset);
    return result;
  };
  if (handle.readStart() !== 0) {
    handle.onread = onread;
    return false;
  }
  state.autoDestroy = false;
  return true;
}
