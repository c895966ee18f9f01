import type net from 'node:net';
import type { ConnectContext } from '../diagnostics-messages.js';
import { traceConnect, traceConnectSync } from '../diagnostics.js';
import { BalancedSocket } from './balanced-socket.js';
import type { LeaseSource } from '../lease.js';
import {
  type BalancedConnectOptions,
  CallbackDialer,
  type ResolvedConnectOptions,
  aborted,
  connectContext,
  resolveConnectOptions,
} from './connect-options.js';

export type { BalancedConnectOptions } from './connect-options.js';

/**
 * A connected `net.Socket` to a server the balancer picks, with the proxy's connect policy: queue wait,
 * `timeoutConnectMs` per attempt, `1 + retries` attempts with the turn-around pause, `redispatch`, every
 * attempt reported to `observer`. The lease is released when the socket closes.
 *
 * Rejects with `ERR_LB_NO_SERVER`, `ERR_LB_QUEUE_TIMEOUT`, `ERR_LB_QUEUE_FULL`, `ERR_LB_CONNECT_FAILED`,
 * `ERR_LB_CONNECT_TIMEOUT`, `ERR_LB_CLOSED` or `ERR_LB_ABORTED`.
 *
 * @example
 * ```ts
 * const socket = await connect(balancer, { timeoutConnectMs: 1000, retries: 2, redispatch: true, signal })
 * // or balancer.connect({ … })
 * ```
 */
export function connect(balancer: LeaseSource, options: BalancedConnectOptions = {}): Promise<net.Socket> {
  let o: ResolvedConnectOptions;
  try {
    o = resolveConnectOptions(balancer, options);
  } catch (err) {
    return Promise.reject(err);
  }
  const signal = o.signal;
  const context = connectContext(balancer, o.clientAddress);
  if (signal?.aborted) return traceConnect(context, () => Promise.reject(aborted(signal)));
  return traceConnect(context, () => dial(balancer, o, context));
}

function dial(balancer: LeaseSource, o: ResolvedConnectOptions, context: ConnectContext): Promise<net.Socket> {
  const signal = o.signal;
  return new Promise<net.Socket>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const dialer = new CallbackDialer(
      balancer,
      o,
      context,
      (socket, lease) => {
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        lease.bindTo(socket);
        resolve(socket);
      },
      (error) => {
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
    if (signal) {
      onAbort = () => {
        dialer.cancelDial();
        reject(aborted(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    dialer.startDial();
  });
}

/**
 * A socket-like Duplex returned at once, for clients whose socket factory must be synchronous (mysql2's
 * `stream`, `http.Agent#createConnection`, pg's `stream`): it dials with the same policy as
 * {@link connect}, buffers what is written meanwhile, then relays. It emits `connect` and `ready` when
 * connected; a failure destroys it with the `LbError`. See {@link BalancedSocket}.
 *
 * @example
 * ```ts
 * const agent = new http.Agent({ keepAlive: true })
 * agent.createConnection = () => createConnection(balancer, { timeoutConnectMs: 1000 })
 * mysql.createPool({ stream: () => balancer.createConnection() })
 * ```
 */
export function createConnection(balancer: LeaseSource, options: BalancedConnectOptions = {}): BalancedSocket {
  const o = resolveConnectOptions(balancer, options);
  const context = connectContext(balancer, o.clientAddress);
  return traceConnectSync(context, () => new BalancedSocket(balancer, o, context));
}
