import type net from 'node:net';
import type { ProxySocket } from './relay-socket.js';
import type { LbError } from '../errors.js';
import type { ConnectOutcome } from '../outcome.js';
import type { Server } from '../server.js';
import type { TerminationCode } from './termination.js';

/** A live proxied connection, as events show it. */
export interface ProxyConnection {
  /** The accepted socket. */
  readonly client: ProxySocket;
  /** The socket to the server, once connected. */
  readonly upstream: ProxySocket | undefined;
  readonly clientAddress: string | undefined;
  readonly clientPort: number | undefined;
  /** The server it is connected to, once connected. */
  readonly server: Server | undefined;
  /** Bytes received from the client so far. */
  readonly bytesIn: number;
  /** Bytes received from the server so far. */
  readonly bytesOut: number;
  readonly attempts: number;
  readonly retries: number;
  readonly redispatches: number;
}

/** What happens after a failed attempt. */
export interface RetryPlan {
  /** The next attempt goes to another server. */
  readonly redispatch: boolean;
  /** Pause before it (the turn-around), ms. */
  readonly delayMs: number;
}

/** The record of a finished connection, like a line of HAProxy's `option tcplog`. */
export interface ConnectionRecord {
  readonly clientAddress: string | undefined;
  readonly clientPort: number | undefined;
  /** Name of the server it was connected to; `undefined` is HAProxy's `<NOSRV>`. */
  readonly server: string | undefined;
  /** HAProxy's two-letter termination state (`--`, `SC`, `sC`, `sQ`, `CD`, `SD`, `cD`, `sD`, …). */
  readonly termination: TerminationCode;
  /** Bytes received from the client. */
  readonly bytesIn: number;
  /** Bytes received from the server (HAProxy's `bytes_read`). */
  readonly bytesOut: number;
  /** Time spent waiting in queues, ms. */
  readonly queuedMs: number;
  /**
   * Time from accept to the last server assignment, ms: placed at once, out of a queue (or timed out there), or
   * placed again by a redispatch — so queue time, and the failed attempts and turn-arounds before a redispatch;
   * -1 when no server was assigned and it never queued. HAProxy's `t_queue`: `option tcplog` prints `Tw` as this + 1.
   */
  readonly assignedMs: number;
  /**
   * Where it stood when it left a server's own queue (leastconn, hash strategies) and the balancer's queue:
   * 1 + the connections served from that queue while it waited, 0 when it did not wait there (HAProxy's
   * `%sq` and `%bq`).
   */
  readonly serverQueuePosition: number;
  readonly balancerQueuePosition: number;
  /**
   * Time from the last server assignment to the established connection, ms, retries on that server included;
   * -1 if never connected (HAProxy `Tc`).
   */
  readonly connectMs: number;
  /** Time from accept to close, ms (HAProxy `Tt`). */
  readonly durationMs: number;
  readonly attempts: number;
  /** Retries (HAProxy's `retries` field; it prints `+N` when one was a redispatch). */
  readonly retries: number;
  readonly redispatches: number;
  /** Why it ended, when not normally: an `LbError` for connect/queue failures, a socket error otherwise. */
  readonly error: Error | undefined;
  /** The sockets' local addresses, with the proxy's `recordLocalAddresses` option. */
  readonly localAddresses?: LocalAddresses;
}

/** The local ends of a proxied connection (HAProxy's `%fi %fp` and `%bi %bp`); `undefined` for a side never connected. */
export interface LocalAddresses {
  /** The proxy's address the client connected to. */
  readonly frontendAddress: string | undefined;
  readonly frontendPort: number | undefined;
  /** The proxy's source address towards the server. */
  readonly sourceAddress: string | undefined;
  readonly sourcePort: number | undefined;
}

/** Events of a {@link TcpProxy}. */
export interface TcpProxyEvents {
  /** Connected to a server; bytes start flowing. */
  'connection:open': [connection: ProxyConnection];
  /** An attempt failed and another follows. */
  'connection:retry': [connection: ProxyConnection, server: Server, outcome: ConnectOutcome, next: RetryPlan];
  /**
   * The connection is closed without reaching a server; `error.code` says why: `ERR_LB_NO_SERVER` (HAProxy
   * accepts and closes, `SC`), `ERR_LB_QUEUE_TIMEOUT` (`sQ`), `ERR_LB_QUEUE_FULL` (`SQ`),
   * `ERR_LB_CONNECT_FAILED` (`SC`), `ERR_LB_CONNECT_TIMEOUT` (`sC`), `ERR_LB_CLOSED`.
   */
  'connection:reject': [error: LbError, connection: ProxyConnection];
  /**
   * The connection is finished (every connection ends with exactly one): its record, and the connection itself
   * (e.g. to tell which listener accepted its client socket).
   */
  'connection:close': [record: ConnectionRecord, connection: ProxyConnection];
  /** A listener made by {@link TcpProxy.listen} failed after it started (e.g. EMFILE on accept). */
  'listener:error': [error: Error, listener: net.Server];
}

/** Counters of one server, as seen by one proxy. */
export interface ProxyServerStats {
  readonly current: number;
  readonly total: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Failed connection attempts on this server. */
  readonly connectErrors: number;
  /** Retries after a failure on this server (HAProxy `wretr`). */
  readonly retries: number;
  /** Connections moved away from this server after a failure (HAProxy `wredis`). */
  readonly redispatches: number;
  /** Connections the server aborted during the transfer (`SD`, HAProxy `srv_abrt`). */
  readonly serverAborts: number;
}

/** Plain-JSON counters of a proxy. */
export interface TcpProxyStats {
  /** Live connections. */
  readonly current: number;
  /** Connections accepted since creation. */
  readonly total: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Connections whose every connection attempt failed (HAProxy `econ`). */
  readonly connectErrors: number;
  /** Connections closed because no server was usable (`<NOSRV>`). */
  readonly noServer: number;
  readonly retries: number;
  readonly redispatches: number;
  /** Finished connections by termination code. */
  readonly terminations: Readonly<Partial<Record<TerminationCode, number>>>;
  /** Per server, by name: servers this proxy has tried. */
  readonly servers: Readonly<Record<string, ProxyServerStats>>;
}
