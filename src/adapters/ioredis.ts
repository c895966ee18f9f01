import type net from 'node:net';
import { AbstractConnector } from 'ioredis';
import type { Balancer } from '../balancer.js';
import type { BalancedConnectOptions } from '../dial/connect.js';
import { invalidArg } from '../errors.js';
import { resolveConnectOptions } from '../dial/connect-options.js';

/** ioredis's message when a connection attempt is cancelled by `disconnect()` (its `CONNECTION_CLOSED_ERROR_MSG`). */
const CONNECTION_CLOSED = 'Connection is closed.';

/** The constructor ioredis's `Connector` option expects: it is called with the client's options. */
export type BalancedConnectorClass = new (options: unknown) => AbstractConnector;

interface RedisOptionsSeen {
  readonly disconnectTimeout?: number;
  readonly tls?: unknown;
}

/**
 * An ioredis `Connector` class: every (re)connection of the client awaits `balancer.connect()` (queue, connect
 * timeout, retries, redispatch) and uses the socket it resolves with. When a server dies, ioredis reconnects
 * (its `retryStrategy`) and the balancer picks another one; commands issued meanwhile wait in ioredis's offline
 * queue and commands in flight are resent (`autoResendUnfulfilledCommands`), so callers see no error.
 * `disconnect()` cancels a dial in progress. The lease is released when the socket closes.
 *
 * ioredis's `host`/`port` are not used. TLS is not supported by this connector (ioredis's `tls` option is
 * rejected); Sentinel and Cluster mode use their own connectors.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { balancedRedisConnector } from 'switchyard-lb/adapters/ioredis'
 * const redis = new Redis({ lazyConnect: true, Connector: balancedRedisConnector(balancer, { retries: 2, redispatch: true }) })
 * await redis.set('k', 'v')
 * ```
 */
export function balancedRedisConnector(balancer: Balancer, options: BalancedConnectOptions = {}): BalancedConnectorClass {
  resolveConnectOptions(balancer, options);
  if (options.signal !== undefined) throw invalidArg('signal', 'is not supported here: the connector aborts its own dials on disconnect()', options.signal);
  const connectOptions = { ...options };
  return class BalancedRedisConnector extends AbstractConnector {
    #abort: AbortController | undefined = undefined;

    constructor(options: unknown) {
      const redisOptions = (options ?? {}) as RedisOptionsSeen;
      if (redisOptions.tls) throw invalidArg('tls', 'is not supported by the balanced ioredis connector', redisOptions.tls);
      super(redisOptions.disconnectTimeout ?? 2000);
    }

    override async connect(): Promise<net.Socket> {
      this.connecting = true;
      const abort = (this.#abort = new AbortController());
      let socket: net.Socket;
      try {
        socket = await balancer.connect({ ...connectOptions, signal: abort.signal });
      } catch (err) {
        // Cancelled by disconnect(): report it the way ioredis's own connector does.
        if (abort.signal.aborted) throw new Error(CONNECTION_CLOSED);
        throw err;
      } finally {
        if (this.#abort === abort) this.#abort = undefined;
      }
      if (!this.connecting) {
        socket.destroy();
        throw new Error(CONNECTION_CLOSED);
      }
      socket.once('error', (err) => {
        this.firstError = err;
      });
      // AbstractConnector#disconnect() ends `stream` and waits for its close with a ref'd timer: a socket that
      // already closed would keep the process alive for disconnectTimeout.
      socket.once('close', () => {
        if (this.stream === socket) this.stream = undefined as unknown as net.Socket;
      });
      this.stream = socket;
      return socket;
    }

    override disconnect(): void {
      this.#abort?.abort();
      this.#abort = undefined;
      super.disconnect();
    }
  };
}
