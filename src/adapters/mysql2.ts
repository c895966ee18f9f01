import type { Balancer } from '../balancer.js';
import type { BalancedConnectOptions } from '../dial/connect.js';
import { traceConnectSync } from '../diagnostics.js';
import { BalancedSocket } from '../dial/balanced-socket.js';
import { connectContext, resolveConnectOptions } from '../dial/connect-options.js';

/**
 * A mysql2 `stream` factory. mysql2 calls it synchronously for each new connection and never calls
 * `connect()`, so it returns a `BalancedSocket` at once: the socket dials the server the balancer picks in the
 * background (queue, connect timeout, retries, redispatch) and relays once connected. MySQL and MariaDB speak
 * first, so nothing is lost meanwhile. When every attempt fails the socket is destroyed with the `LbError` and
 * mysql2 reports it as the connection's error. The lease is released when the connection closes.
 *
 * mysql2's `host`, `port` and `connectTimeout` are not used for connecting (use `timeoutConnectMs`). mysql2
 * upgrades the stream it has for `ssl`, so TLS should work over it, but that is not tested yet.
 *
 * @example
 * ```ts
 * import mysql from 'mysql2/promise'
 * import { mysql2Stream } from 'switchyard-lb/adapters/mysql2'
 * const db = mysql.createPool({ user: 'app', database: 'app', connectionLimit: 20, stream: mysql2Stream(balancer, { retries: 2, redispatch: true }) })
 * const [rows] = await db.query('SELECT 1')
 * ```
 */
export function mysql2Stream(balancer: Balancer, options: BalancedConnectOptions = {}): (config?: unknown) => BalancedSocket {
  // Validated once here, not on every connection.
  const resolved = resolveConnectOptions(balancer, options);
  return () => {
    const context = connectContext(balancer, resolved.clientAddress);
    return traceConnectSync(context, () => new BalancedSocket(balancer, resolved, context));
  };
}
