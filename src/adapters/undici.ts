import type net from 'node:net';
import { buildConnector } from 'undici';
import type { Balancer } from '../balancer.js';
import type { BalancedConnectOptions } from '../dial/connect.js';
import { traceConnect } from '../diagnostics.js';
import { invalidArg } from '../errors.js';
import type { Lease } from '../lease.js';
import { CallbackDialer, connectContext, resolveConnectOptions } from '../dial/connect-options.js';
import type { Server } from '../server.js';

/** Options of {@link balancedConnector}. */
export interface BalancedConnectorOptions
  extends Omit<BalancedConnectOptions, 'signal' | 'noDelay' | 'keepAlive' | 'keepAliveInitialDelayMs' | 'allowHalfOpen'> {
  /**
   * Options of undici's own `buildConnector()`: TLS settings (`ca`, `rejectUnauthorized`, `servername`…),
   * `keepAlive`/`keepAliveInitialDelay`, `timeout` (undici's connect timeout, TLS handshake included),
   * `maxCachedSessions`, `allowH2`. undici's connector makes every socket; switchyard only chooses where to.
   * @defaultValue {}
   */
  readonly connector?: buildConnector.BuildOptions;
}

/**
 * An undici `connect` function (for `Client`, `Pool`, `Agent`, `RoundRobinPool`…): each new connection goes to
 * the server the balancer picks, with switchyard's connect policy (queue, `timeoutConnectMs` per attempt,
 * retries, redispatch, outcomes to the observer). The sockets are made by undici's own `buildConnector()`, so
 * TLS (SNI and certificate checks against the origin's name, session reuse, ALPN), keep-alive, `TCP_NODELAY` and
 * undici's connect timeout stay undici's: only the address (`hostname`, `port`) is replaced by the server's.
 *
 * A failed TCP attempt is retried on the same or another server; once TCP is connected, a TLS failure goes to
 * undici as the connection's error. Each connection holds its lease until its socket closes, however many
 * requests undici sends over it (keep-alive).
 *
 * @example
 * ```ts
 * import { Pool } from 'undici'
 * import { balancedConnector } from 'switchyard-lb/adapters/undici'
 * const api = new Pool('http://api.internal', { connections: 16, connect: balancedConnector(balancer, { retries: 2, redispatch: true }) })
 * const { body } = await api.request({ path: '/health', method: 'GET' })
 * ```
 */
export function balancedConnector(balancer: Balancer, options: BalancedConnectorOptions = {}): buildConnector.connector {
  if (options === null || typeof options !== 'object') throw invalidArg('options', 'must be an object', options);
  const { connector, ...connectOptions } = options;
  const resolved = resolveConnectOptions(balancer, connectOptions);
  const base = buildConnector({ ...connector });
  return (connectorOptions, callback) => {
    const context = connectContext(balancer, undefined);
    const traced = traceConnect(
      context,
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const dialer = new UndiciDialer(balancer, resolved, context, base, connectorOptions, (err, socket) => {
            if (err) reject(err);
            else resolve(socket!);
          });
          dialer.startDial();
        }),
    );
    traced.then(
      (socket) => callback(null, socket),
      (err: Error) => callback(err, null),
    );
  };
}

/** One attempt's socket from undici's connector and what undici's callback said about it, if it spoke yet. */
interface Attempt {
  socket: net.Socket | undefined;
  result: [Error | null, net.Socket | null] | undefined;
}

/**
 * Switchyard's dial (queue, attempts, retries, redispatch) with undici's connector making each attempt's socket.
 * The dial is done at TCP connect; undici's callback (which for HTTPS comes after the handshake) settles it.
 */
class UndiciDialer extends CallbackDialer {
  readonly #base: buildConnector.connector;
  readonly #options: buildConnector.Options;
  #attempt: Attempt | undefined = undefined;
  #dialed = false;
  #done: ((err: Error | null, socket: net.Socket | null) => void) | undefined;

  constructor(
    balancer: Balancer,
    resolved: ReturnType<typeof resolveConnectOptions>,
    context: ReturnType<typeof connectContext>,
    base: buildConnector.connector,
    options: buildConnector.Options,
    done: (err: Error | null, socket: net.Socket | null) => void,
  ) {
    super(
      balancer,
      resolved,
      context,
      (socket, lease) => this.#connected(socket, lease),
      (error) => this.#settle(error, null),
    );
    this.#base = base;
    this.#options = options;
    this.#done = done;
  }

  protected override createSocket(server: Server): net.Socket {
    const attempt: Attempt = { socket: undefined, result: undefined };
    this.#attempt = attempt;
    const socket = this.#base({ ...this.#options, hostname: server.host, port: String(server.port) }, (err, s) => {
      // A failed attempt's error is the dialer's business (it retries); only the dialed socket's verdict counts.
      if (this.#attempt !== attempt) return;
      if (this.#dialed) this.#settle(err, s);
      else attempt.result = [err, s];
    }) as unknown as net.Socket | undefined;
    if (socket === undefined) throw new Error('the undici connector returned no socket');
    attempt.socket = socket;
    return socket;
  }

  #connected(socket: net.Socket, lease: Lease): void {
    lease.bindTo(socket);
    this.#dialed = true;
    const result = this.#attempt?.result;
    // For plain TCP undici's 'connect' listener ran before the dialer's: its verdict is already here.
    if (result !== undefined) this.#settle(result[0], result[1]);
  }

  #settle(err: Error | null, socket: net.Socket | null): void {
    const done = this.#done;
    if (done === undefined) return;
    this.#done = undefined;
    done(err, socket);
  }
}
