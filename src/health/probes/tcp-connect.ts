import type { Probe } from '../probe.js';
import { ProbeSocket } from './probe-socket.js';
import { connectionErrorResult } from './socket-errors.js';

/**
 * HAProxy's plain `check`: a TCP connection is opened and closed with a reset at once (the server application
 * may not even see it accepted). `L4OK` when the connection is established; `L4CON` with the system's
 * wording (`Connection refused`…) when it fails; `L4TOUT` when the deadline passes first.
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
    socket.close();
    return { status: 'L4OK' };
  };
}
