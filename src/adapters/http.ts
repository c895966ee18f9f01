import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Balancer } from '../balancer.js';
import type { BalancedConnectOptions } from '../dial/connect.js';
import { invalidArg } from '../errors.js';
import { resolveConnectOptions } from '../dial/connect-options.js';

/** What `http.request({ createConnection })` and `http.Agent#createConnection` are called with. */
export type CreateConnection = (
  options: http.ClientRequestArgs,
  callback?: (err: Error | null, stream: Duplex) => void,
) => Duplex | null | undefined;

/** Options of {@link BalancedAgent}: Node's `http.AgentOptions` plus how to reach the servers. */
export interface BalancedAgentOptions extends http.AgentOptions {
  /**
   * The connect policy of each new connection (`timeoutConnectMs`, `retries`, `redispatch`, `observer`, …),
   * as for `balancer.connect()`. @defaultValue {} (switchyard's connect defaults)
   */
  readonly connect?: BalancedConnectOptions;
}

/**
 * An `http.Agent` whose new connections go to the server the balancer picks, with switchyard's connect policy
 * (queue, connect timeout, retries, redispatch, outcomes to the observer). The request's own host and port are
 * ignored for connecting but still sent in the `Host` header, so give requests the logical name of the service.
 *
 * Balancing is per new connection: with `keepAlive: true` the agent reuses a connection for many requests, and
 * the connection keeps its lease (it counts for `leastconn` and `maxconn`) until it closes.
 *
 * @example
 * ```ts
 * import { BalancedAgent } from 'switchyard-lb/adapters/http'
 * const agent = new BalancedAgent(balancer, { keepAlive: true, maxSockets: 16, connect: { retries: 2, redispatch: true } })
 * http.get('http://api.internal/health', { agent }, (res) => res.resume())
 * ```
 */
export class BalancedAgent extends http.Agent {
  /** The balancer that picks the server of each new connection. */
  readonly balancer: Balancer;
  readonly #create: CreateConnection;

  constructor(balancer: Balancer, options: BalancedAgentOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'must be an object', options);
    const { connect, ...agentOptions } = options;
    super(agentOptions);
    this.balancer = balancer;
    this.#create = balancedCreateConnection(balancer, connect);
  }

  /**
   * Called by the agent for each new connection. With a callback (how `http.Agent` calls it) the connection is
   * dialed with `balancer.connect()` and handed over once connected; without one, a `BalancedSocket` is returned
   * at once.
   */
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return this.#create(options, callback);
  }
}

/**
 * A `createConnection(options, callback)` function for `http.request({ createConnection })`, for any
 * `http.Agent` (`agent.createConnection = …`), or for libraries that accept one. It dials the server the
 * balancer picks and calls back with the connected socket (or the `LbError` when every attempt failed); called
 * without a callback it returns a `BalancedSocket` at once. The request's `timeout` option becomes the socket's
 * idle timeout, as with `net.createConnection()`.
 *
 * @example
 * ```ts
 * const createConnection = balancedCreateConnection(balancer, { timeoutConnectMs: 1000 })
 * http.request({ host: 'api.internal', path: '/', agent: false, createConnection })
 * ```
 */
export function balancedCreateConnection(balancer: Balancer, connectOptions: BalancedConnectOptions = {}): CreateConnection {
  // Validated now, so a typo fails at construction rather than on the first request.
  resolveConnectOptions(balancer, connectOptions);
  const options = { ...connectOptions };
  return (requestOptions, callback) => {
    const timeoutMs = requestOptions.timeout;
    if (callback === undefined) {
      const socket = balancer.createConnection(options);
      if (timeoutMs !== undefined && timeoutMs > 0) socket.setTimeout(timeoutMs);
      return socket;
    }
    balancer.connect(options).then(
      (socket: net.Socket) => {
        if (timeoutMs !== undefined && timeoutMs > 0) socket.setTimeout(timeoutMs);
        callback(null, socket);
      },
      (err: Error) => callback(err, undefined as unknown as Duplex),
    );
    return undefined;
  };
}
