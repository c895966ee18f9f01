import net from 'node:net';
import type { Server } from '../server.js';
import type { ClientReader } from './client-read.js';
import type { ReadBuffers } from './pipe.js';
import { type RawHandles, isTcpHandle, uvError } from './raw-handles.js';
import { type RawReadCallback, RawSocket } from './raw-socket.js';
import type { RelaySocket } from './relay-socket.js';
import { readOnceMore, wasReset } from './reset-detection.js';

/*
 * The two kinds of socket a session relays between (src/proxy/relay-socket.ts): the proxy's own on Node's TCP
 * handles (src/proxy/raw-socket.ts) where it can, `net.Socket` elsewhere. Where each is made and read.
 */

/** What the functions below need of the proxy. */
interface SocketsHost {
  readonly raw: RawHandles | undefined;
  readonly buffers: ReadBuffers;
  readonly onread: net.OnReadOpts;
  readonly clientReader: ClientReader | undefined;
  readonly settings: { readonly noDelay: boolean };
}

/**
 * The socket of one attempt to `server`: on a TCP handle when the proxy relays on handles and the server is
 * given by IP address (nothing to look up), else `net.connect()`. Either reads with the proxy's buffers into
 * `onRead` (the `onread` option of `host`).
 */
export function connectUpstream(host: SocketsHost, server: Server, onRead: RawReadCallback): RelaySocket {
  const raw = host.raw;
  const family = raw === undefined ? 0 : net.isIP(server.host);
  if (family !== 0) return RawSocket.connect(raw!, server.host, server.port, family as 4 | 6, host.settings.noDelay).readWith(host.buffers.take, onRead);
  return net.connect({ port: server.port, host: server.host, allowHalfOpen: true, noDelay: host.settings.noDelay, onread: host.onread });
}

/**
 * Makes an accepted socket deliver its reads to `onRead` from now on (into the proxy's shared buffer: copy what
 * is kept). False when it cannot (a `net.Socket` Node's internals do not let us switch): it reads with `data`.
 */
export function readClient(host: SocketsHost, client: RelaySocket, onRead: RawReadCallback): boolean {
  if (client instanceof RawSocket) {
    client.readWith(host.buffers.sharedOnly, onRead);
    return true;
  }
  return host.clientReader?.adopt(client as unknown as net.Socket) ?? false;
}

/**
 * True when an `end` on `socket` must not be taken as its peer's FIN now. libuv can report a reset (RST)
 * that follows a partial read as an end of stream: that is a cut, and the socket is destroyed with
 * ECONNRESET so that its error listener records it (`SD` / `CD`). Before we sent our FIN on `socket`,
 * getpeername tells at once; after it, one more read does, and `ended(arg)` is called after that read when it
 * was a FIN after all. A socket on a handle has told them apart before its `end` (false).
 */
export function endIsNotAFin<T>(socket: RelaySocket, peer: 'client' | 'server', finSent: boolean, ended: (arg: T) => void, arg: T): boolean {
  if (socket instanceof RawSocket) return false;
  const netSocket = socket as unknown as net.Socket;
  if (finSent) {
    return readOnceMore(netSocket, (reset) => {
      if (!reset) ended(arg);
    });
  }
  if (!wasReset(netSocket)) return false;
  const err: NodeJS.ErrnoException = new Error(`the ${peer} reset the connection`);
  err.code = 'ECONNRESET';
  netSocket.destroy(err);
  return true;
}

/**
 * Takes the connections `server` (listening) accepts as TCP handles, without a `net.Socket` each, and hands
 * them to `accept`. False, changing nothing, when `raw` is undefined or `server` does not listen on TCP (a unix
 * socket): the caller then uses its `connection` event.
 */
export function acceptHandles(server: net.Server, raw: RawHandles | undefined, accept: (socket: RawSocket) => void): boolean {
  const listener = (server as unknown as { _handle?: unknown })._handle;
  if (raw === undefined || !isTcpHandle(raw, listener) || typeof listener.onconnection !== 'function') return false;
  listener.onconnection = (status, handle) => {
    if (status < 0 || handle === undefined) server.emit('error', uvError(status, 'accept'));
    else accept(new RawSocket(raw, handle, 'client'));
  };
  return true;
}

/**
 * Sets TCP_NODELAY on a listening socket, so that the sockets it accepts have it from the start: Linux copies
 * the listening socket's options to accepted sockets, which saves a `setsockopt()` per connection. Linux only
 * (elsewhere the inheritance is not something to rely on), and through the listener's internal handle, checked
 * first. False when it was not done; the sessions then set it on each socket.
 */
export function listenerNoDelay(server: net.Server): boolean {
  if (process.platform !== 'linux') return false;
  const handle = (server as unknown as { _handle?: { setNoDelay?: (enable: boolean) => number } | null })._handle;
  if (typeof handle?.setNoDelay !== 'function') return false;
  try {
    return handle.setNoDelay(true) === 0;
  } catch {
    return false;
  }
}
