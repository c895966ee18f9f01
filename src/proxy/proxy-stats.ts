import type { LbError } from '../errors.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import type { ProxyServerStats, TcpProxyStats } from './records.js';
import type { TerminationCode } from './termination.js';

/** What the counters read of a connection. */
interface Traffic {
  readonly server: Server | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

type MutableServerStats = { -readonly [K in keyof ProxyServerStats]: ProxyServerStats[K] };

/**
 * @internal
 * The counters of one proxy, updated at a connection's milestones (open, failed attempt, reject, close) and
 * never per byte: the bytes of live connections are added when a snapshot is taken.
 */
export class ProxyCounters {
  total = 0;
  readonly #servers = new Map<Server, MutableServerStats>();
  readonly #terminations: Partial<Record<TerminationCode, number>> = {};
  #bytesIn = 0;
  #bytesOut = 0;
  #connectErrors = 0;
  #noServer = 0;
  #retries = 0;
  #redispatches = 0;

  opened(server: Server): void {
    const c = this.#of(server);
    c.current++;
    c.total++;
  }

  /**
   * An attempt on `server` failed and another follows: on the same server (a retry, `wretr`) or, when
   * `redispatch`, wherever the connection is placed again ({@link ProxyCounters.reassigned} tells).
   */
  retried(server: Server, redispatch: boolean): void {
    const c = this.#of(server);
    c.connectErrors++;
    this.#retries++;
    if (!redispatch) c.retries++;
  }

  /**
   * A connection redispatched away from `previous` was placed again: on another server (HAProxy's `wredis`) or
   * on `previous` itself, which HAProxy counts as a retry (`wretr`; `src/backend.c assign_server_and_queue()`).
   */
  reassigned(previous: Server, moved: boolean): void {
    const c = this.#of(previous);
    if (moved) {
      c.redispatches++;
      this.#redispatches++;
    } else {
      c.retries++;
    }
  }

  /** A connection was closed without reaching a server; `error.details.server` names the last one tried. */
  rejected(error: LbError, pool: Pool): void {
    if (error.code === 'ERR_LB_CONNECT_FAILED' || error.code === 'ERR_LB_CONNECT_TIMEOUT') {
      this.#connectErrors++;
      const last = pool.find((error.details['server'] as string | undefined) ?? '');
      if (last !== undefined) this.#of(last).connectErrors++;
    } else if (error.code === 'ERR_LB_NO_SERVER') {
      this.#noServer++;
    }
  }

  closed(connection: Traffic, termination: TerminationCode): void {
    this.#bytesIn += connection.bytesIn;
    this.#bytesOut += connection.bytesOut;
    this.#terminations[termination] = (this.#terminations[termination] ?? 0) + 1;
    if (connection.server !== undefined) {
      const c = this.#of(connection.server);
      c.current--;
      c.bytesIn += connection.bytesIn;
      c.bytesOut += connection.bytesOut;
      if (termination === 'SD') c.serverAborts++;
    }
  }

  /** A plain-JSON snapshot, with the bytes of the `live` connections included. */
  snapshot(live: ReadonlySet<Traffic>): TcpProxyStats {
    let bytesIn = this.#bytesIn;
    let bytesOut = this.#bytesOut;
    const servers: Record<string, ProxyServerStats> = {};
    for (const [server, c] of this.#servers) servers[server.name] = { ...c };
    for (const s of live) {
      bytesIn += s.bytesIn;
      bytesOut += s.bytesOut;
      const c = s.server === undefined ? undefined : (servers[s.server.name] as MutableServerStats | undefined);
      if (c !== undefined) {
        c.bytesIn += s.bytesIn;
        c.bytesOut += s.bytesOut;
      }
    }
    return {
      current: live.size,
      total: this.total,
      bytesIn,
      bytesOut,
      connectErrors: this.#connectErrors,
      noServer: this.#noServer,
      retries: this.#retries,
      redispatches: this.#redispatches,
      terminations: { ...this.#terminations },
      servers,
    };
  }

  #of(server: Server): MutableServerStats {
    let c = this.#servers.get(server);
    if (c === undefined) {
      c = { current: 0, total: 0, bytesIn: 0, bytesOut: 0, connectErrors: 0, retries: 0, redispatches: 0, serverAborts: 0 };
      this.#servers.set(server, c);
    }
    return c;
  }
}
