import type { Probe } from '../probe.js';
import { ProbeSocket, checkProxyHeader, closeInBackground } from './probe-socket.js';
import { connectionErrorResult } from './socket-errors.js';

/**
 * HAProxy's plain `check`: `L4OK` as soon as a TCP connection is established; `L4CON` with the system's wording
 * (`Connection refused`…) when it fails; `L4TOUT` when the deadline passes first.
 *
 * The connection is then closed in the background without disturbing the server: a FIN at once, whatever the
 * server sends is read and dropped, and the socket is destroyed once the server has closed too (or at the check's
 * deadline). A server application without an `error` handler sees an ordinary close, never a reset. HAProxy goes
 * further — it never sends the handshake's last ACK, so the application sees no connection at all — which Node
 * cannot do (it needs `TCP_QUICKACK` off and `SO_LINGER` before the connection completes).
 *
 * @example
 * ```ts
 * const checker = new ActiveChecker(pool, { probe: tcpConnectProbe() })
 * ```
 */
export function tcpConnectProbe(): Probe {
  return async (_server, signal, ctx) => {
    ctx.setTimeoutResult({ status: 'L4TOUT' });
    let socket: ProbeSocket;
    try {
      socket = await ProbeSocket.connect(ctx.host, ctx.port, signal);
    } catch (err) {
      return connectionErrorResult(err);
    }
    // A server with send-proxy gets its header first (HAProxy: the connection is established once it is sent).
    if (ctx.sendProxy !== undefined) socket.write(checkProxyHeader(ctx.sendProxy, socket));
    closeInBackground(socket, ctx);
    return { status: 'L4OK' };
  };
}
