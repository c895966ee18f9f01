import type { Balancer } from '../balancer.js';
import type { Clock } from '../clock.js';
import type { BalancedConnectOptions } from '../dial/connect.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { ActiveChecker, type ActiveCheckerOptions } from '../health/active-checker.js';
import type { CheckResult } from '../state/check-result.js';
import type { Probe } from '../health/probe.js';
import { Pool } from '../pool.js';
import type { Server, ServerOptions } from '../server.js';
import { resolveConnectOptions } from '../dial/connect-options.js';
import { type DeferredBalancedSocket, deferredBalancedSocket } from './deferred-socket.js';

export type { DeferredBalancedSocket } from './deferred-socket.js';

/**
 * A pg `stream` factory: each new pg connection (a `Client`, or each client of a `pg.Pool`) gets an unconnected
 * socket; when pg calls its `connect(port, host)` it dials the server the balancer picks instead (queue, connect
 * timeout, retries, redispatch), then emits `connect`. pg's `port` is not used and its `host` only names the
 * server for SSL certificate checks; SSL negotiation and `keepAlive` work over it as over a `net.Socket`. The
 * connection's lease is released when it closes.
 *
 * pg's `Pool` keeps connections for long: balancing happens per pooled connection, so `leastconn` usually
 * spreads them best.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { pgStream } from 'switchyard-lb/adapters/pg'
 * const db = new pg.Pool({ user: 'app', database: 'app', max: 20, stream: pgStream(balancer, { retries: 2, redispatch: true }) })
 * await db.query('SELECT 1')
 * ```
 */
export function pgStream(balancer: Balancer, options: BalancedConnectOptions = {}): (config?: unknown) => DeferredBalancedSocket {
  const resolved = resolveConnectOptions(balancer, options);
  return () => deferredBalancedSocket(balancer, resolved);
}

/** What the role probe needs of a pg `Client`: connect, one query, end. `pg.Client` has it. */
export interface PgProbeClient {
  connect(): Promise<unknown>;
  query(sql: string): Promise<{ rows: readonly Record<string, unknown>[] }>;
  end(): Promise<unknown>;
}

/** Where the probe connects: the server's address (or the checker's `addr`/`port` override), and the server. */
export interface PgProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly server: Server;
}

/** The role a server must have to pass the check. `any` passes both. */
export type PgRole = 'primary' | 'replica' | 'any';

/** Options of {@link pgRoleProbe}. */
export interface PgRoleProbeOptions {
  /**
   * Makes a new, unconnected client for one check, with your own driver, credentials and TLS settings, e.g.
   * `({ host, port }) => new pg.Client({ host, port, user: 'monitor', password, database: 'postgres' })`.
   * Do not give it a balanced `stream`: the check must reach this very server.
   */
  readonly client: (target: PgProbeTarget) => PgProbeClient;
  /** The role that passes. @defaultValue 'any' */
  readonly role?: PgRole;
}

/**
 * A health probe that logs in with your own pg client and runs `SELECT pg_is_in_recovery()`: `L7OK` with info
 * `primary` or `replica` when the server has the expected role, `L7RSP` when it has the other one. A refused or
 * timed-out connection fails as `L4CON`/`L4TOUT`; an authentication or SQL error fails as `PROCERR` with pg's
 * message. The check's timeout ends the client.
 *
 * @example
 * ```ts
 * const checker = new ActiveChecker(writes, {
 *   interMs: 2000,
 *   probe: pgRoleProbe({ role: 'primary', client: ({ host, port }) => new pg.Client({ host, port, user: 'monitor', database: 'postgres' }) }),
 * })
 * ```
 */
export function pgRoleProbe(options: PgRoleProbeOptions): Probe {
  const o = v.plainObject('pgRoleProbe options', options);
  v.knownKeys('pgRoleProbe options', o, ['client', 'role']);
  const makeClient = o['client'] as PgRoleProbeOptions['client'];
  if (typeof makeClient !== 'function') throw invalidArg('client', 'must be a function returning a pg Client', makeClient);
  const role = v.oneOf<PgRole>('role', o['role'] ?? 'any', ['primary', 'replica', 'any']);
  return (server, signal, context) => checkRole(makeClient({ host: context.host, port: context.port, server }), role, signal, context);
}

async function checkRole(client: PgProbeClient, role: PgRole, signal: AbortSignal, context: Parameters<Probe>[2]): Promise<CheckResult> {
  // pg emits 'error' on a client whose connection breaks; without a listener that would crash the process.
  (client as { on?: (event: string, listener: () => void) => unknown }).on?.('error', () => {});
  const end = (): void => {
    client.end().catch(() => {});
  };
  signal.addEventListener('abort', end, { once: true });
  try {
    await client.connect();
    context.connected();
    context.setTimeoutResult({ status: 'L7TOUT', info: 'no answer to SELECT pg_is_in_recovery()' });
    const { rows } = await client.query('SELECT pg_is_in_recovery() AS in_recovery');
    const inRecovery = rows[0]?.['in_recovery'];
    if (typeof inRecovery !== 'boolean') return { status: 'L7RSP', info: 'SELECT pg_is_in_recovery() returned no boolean' };
    const actual = inRecovery ? 'replica' : 'primary';
    if (role !== 'any' && actual !== role) {
      return { status: 'L7RSP', info: `is a ${actual} (pg_is_in_recovery() = ${inRecovery}), expected the ${role}` };
    }
    return { status: 'L7OK', info: actual };
  } finally {
    signal.removeEventListener('abort', end);
    end();
  }
}

/** Options of {@link pgRolePools}. */
export interface PgRolePoolsOptions {
  /** Every PostgreSQL server, primary and replicas alike; which is which is found by the checks. */
  readonly servers: readonly ServerOptions[];
  /** Makes the checks' clients, as in {@link PgRoleProbeOptions.client}. */
  readonly client: (target: PgProbeTarget) => PgProbeClient;
  /** Prefix of the pools' names: `<name>-writes` and `<name>-reads`. @defaultValue 'pg' */
  readonly name?: string;
  /**
   * Send reads to the primary when no replica is usable: the reads pool also holds each server as a backup
   * named `<server>~primary`, checked for the primary role. @defaultValue true
   */
  readonly readsFallBackToPrimary?: boolean;
  /** Settings of both checkers (`interMs`, `fastinterMs`, `timeoutCheckMs`…); the probe is the role probe. @defaultValue {} */
  readonly checker?: Omit<ActiveCheckerOptions, 'probe' | 'servers' | 'clock'>;
  /** Source of time for the pools and the checkers. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Default values of {@link PgRolePoolsOptions}. */
export const PG_ROLE_POOLS_DEFAULTS = Object.freeze({
  name: 'pg',
  readsFallBackToPrimary: true,
});

const ROLE_POOLS_KEYS = ['servers', 'client', 'name', 'readsFallBackToPrimary', 'checker', 'clock'] as const;

/** The two pools and two checkers made by {@link pgRolePools}. */
export interface PgRolePools {
  /** The server that is the primary (checked with `role: 'primary'`). */
  readonly writes: Pool;
  /** The replicas (checked with `role: 'replica'`), and with `readsFallBackToPrimary` the primary as a backup. */
  readonly reads: Pool;
  readonly writesChecker: ActiveChecker;
  readonly readsChecker: ActiveChecker;
  /** Stops both checkers (aborting checks in flight). Idempotent. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Two pools from one list of PostgreSQL servers, told apart by your own pg client: `writes` balances over the
 * server whose `pg_is_in_recovery()` is false, `reads` over the ones where it is true (and, unless
 * `readsFallBackToPrimary: false`, falls back to the primary when no replica is up). Every server is checked in
 * both pools and starts `DOWN 1/rise` (`initState: 'down'`), so it takes traffic only once a check has
 * confirmed its role. After a failover (a replica promoted) the next checks move it from `reads` to `writes`.
 * Put a `Balancer` over each pool and a `pgStream()` on each of your pg pools.
 *
 * @example
 * ```ts
 * const { writes, reads } = pgRolePools({
 *   servers: [{ name: 'pg1', host: '10.0.0.1', port: 5432 }, { name: 'pg2', host: '10.0.0.2', port: 5432 }],
 *   client: ({ host, port }) => new pg.Client({ host, port, user: 'monitor', database: 'postgres' }),
 *   checker: { interMs: 2000, fastinterMs: 500 },
 * })
 * const primary = new pg.Pool({ ...auth, stream: pgStream(new Balancer(writes)) })
 * const replicas = new pg.Pool({ ...auth, stream: pgStream(new Balancer(reads, { strategy: 'leastconn' })) })
 * ```
 */
export function pgRolePools(options: PgRolePoolsOptions): PgRolePools {
  const o = v.plainObject('pgRolePools options', options);
  v.knownKeys('pgRolePools options', o, ROLE_POOLS_KEYS);
  const { servers, client, checker = {}, clock } = options;
  const name = v.nonEmptyString('name', o['name'] ?? PG_ROLE_POOLS_DEFAULTS.name);
  const readsFallBackToPrimary = v.boolean('readsFallBackToPrimary', o['readsFallBackToPrimary'] ?? PG_ROLE_POOLS_DEFAULTS.readsFallBackToPrimary);
  if (typeof client !== 'function') throw invalidArg('client', 'must be a function returning a pg Client', client);
  if (!Array.isArray(servers)) throw invalidArg('servers', 'must be an array of server options', servers);
  for (const s of servers as readonly ServerOptions[]) {
    if (s?.backup === true) throw invalidArg('servers[].backup', 'must not be set: the roles come from the checks (see readsFallBackToPrimary)', s.backup);
  }
  const checked = (servers as readonly ServerOptions[]).map((s) => ({ initState: 'down' as const, ...s, check: true }));
  const poolOptions = clock === undefined ? {} : { clock };
  const writes = new Pool(`${name}-writes`, { ...poolOptions, servers: checked });
  const reads = new Pool(`${name}-reads`, { ...poolOptions, servers: readsFallBackToPrimary ? [...checked, ...checked.map(asPrimaryBackup)] : checked });

  const primaryProbe = pgRoleProbe({ client, role: 'primary' });
  const replicaProbe = pgRoleProbe({ client, role: 'replica' });
  const checkerOptions = clock === undefined ? { ...checker } : { ...checker, clock };
  const writesChecker = new ActiveChecker(writes, { ...checkerOptions, probe: primaryProbe });
  const readsChecker = new ActiveChecker(reads, {
    ...checkerOptions,
    probe: (server, signal, context) => (server.backup ? primaryProbe : replicaProbe)(server, signal, context),
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= Promise.all([writesChecker.close(), readsChecker.close()]).then(() => {}));
  return { writes, reads, writesChecker, readsChecker, close, [Symbol.asyncDispose]: close };
}

/** The reads pool's backup copy of a server: its own name, no id (ids are unique per pool), checked as the primary. */
function asPrimaryBackup(s: ServerOptions): ServerOptions {
  const { id: _id, ...rest } = s;
  return { ...rest, name: `${s.name}~primary`, backup: true };
}
