import type { Balancer, BalancerStats } from '../balancer.js';
import { invalidArg } from '../errors.js';
import type { Pool, PoolSnapshot } from '../pool.js';
import type { ServerSnapshot } from '../server.js';

/** Counters of a server that the snapshot lacks and the renderers still accept (HAProxy fills them). */
type Tolerated = 'checkFailures' | 'downTransitions' | 'observeFailures' | 'downtimeMs' | 'connectAttempts';

/**
 * A server snapshot as the renderers read it: a {@link ServerSnapshot} (counters it lacks, for example in a
 * snapshot from an older version, are shown empty) plus the traffic counters a proxy adds. Each optional
 * counter is rendered only when present.
 */
export interface ServerStatsSnapshot extends Omit<ServerSnapshot, Tolerated>, Partial<Pick<ServerSnapshot, Tolerated>> {
  /** Bytes from clients to the server (HAProxy `bin`). */
  readonly bytesIn?: number;
  /** Bytes from the server to clients (HAProxy `bout`). */
  readonly bytesOut?: number;
  /** Failed connection attempts (HAProxy `econ`). */
  readonly connectErrors?: number;
  /** Connect retries (HAProxy `wretr`). */
  readonly retries?: number;
  /** Connections moved away from this server after a failure (HAProxy `wredis`). */
  readonly redispatches?: number;
  /** Connections the server aborted during the transfer (HAProxy `srv_abrt`). */
  readonly serverAborts?: number;
  /** Times an outlier detector ejected the server (when one is joined). */
  readonly outlierEjections?: number;
  /** Whether an outlier detector holds the server out now (when one is joined). */
  readonly outlierEjected?: boolean;
}

/** An outlier detector's counters (an `OutlierDetector`'s `stats()` has this shape). */
export interface OutlierTraffic {
  readonly ejected: number;
  readonly ejections: number;
  readonly overflow: number;
  readonly servers: Readonly<Record<string, { readonly ejected: boolean; readonly ejections: number }>>;
}

/** Something with outlier counters: an `OutlierDetector`, or the result of its `stats()`. */
export type OutlierStatsSource = OutlierTraffic | { stats(): OutlierTraffic };

/** A circuit breaker's counters (a `CircuitBreaker`'s `stats()` has this shape). */
export interface CircuitBreakerTraffic {
  readonly activeRetries: number;
  readonly overflows: { readonly connections: number; readonly pending: number; readonly retries: number };
}

/** A retry budget's counters (a `RetryBudget`'s `stats()` has this shape). */
export interface RetryBudgetTraffic {
  readonly activeRetries: number;
  readonly limit: number;
  readonly admitted: number;
  readonly refused: number;
}

/** A rebalancer's counters (a `Rebalancer`'s `stats()` has this shape). */
export interface RebalancerTraffic {
  readonly rounds: number;
  readonly recycled: number;
  readonly servers: Readonly<Record<string, { readonly overSince: number | undefined; readonly recycled: number }>>;
}

/** A pool snapshot whose servers may carry the optional counters of {@link ServerStatsSnapshot}. */
export interface PoolStatsSnapshot extends Omit<PoolSnapshot, 'servers'> {
  readonly servers: readonly ServerStatsSnapshot[];
}

/** Traffic counters of one server as a proxy counts them (a `TcpProxy`'s `stats().servers[name]` has this shape). */
export interface ProxyServerTraffic {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connectErrors: number;
  readonly retries: number;
  readonly redispatches: number;
  readonly serverAborts?: number;
}

/** Traffic counters of a proxy (a `TcpProxy`'s `stats()` has this shape). */
export interface ProxyTraffic {
  /** Live connections. */
  readonly current: number;
  /** Connections accepted. */
  readonly total: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Per server, by name. */
  readonly servers: Readonly<Record<string, ProxyServerTraffic>>;
}

/** Something with proxy counters: a `TcpProxy`, or the result of its `stats()`. */
export type ProxyStatsSource = ProxyTraffic | { stats(): ProxyTraffic };

/**
 * What the renderers accept: a live {@link Pool}; a {@link Balancer} (adds its queue, lease counters and
 * strategy); a plain snapshot, e.g. one received from another process; or an object joining a pool (or
 * balancer, or snapshot) with the balancer's stats and a `TcpProxy` (adds bytes, connect errors, retries
 * and redispatches per server, and a `FRONTEND` row to `show stat`).
 */
export type StatsInput =
  | Pool
  | Balancer
  | PoolStatsSnapshot
  | {
      readonly pool: Pool | Balancer | PoolStatsSnapshot;
      readonly balancer?: BalancerStats;
      readonly proxy?: ProxyStatsSource;
      readonly outlier?: OutlierStatsSource;
      /** A `CircuitBreaker` or its `stats()` (a Balancer given as `pool` adds its own breaker when this is absent). */
      readonly circuitBreaker?: CircuitBreakerTraffic | { stats(): CircuitBreakerTraffic };
      /** A `RetryBudget` or its `stats()`. */
      readonly retryBudget?: RetryBudgetTraffic | { stats(): RetryBudgetTraffic };
      /** A `Rebalancer` or its `stats()`. */
      readonly rebalancer?: RebalancerTraffic | { stats(): RebalancerTraffic };
    };

/** @internal One pool, normalised for rendering. */
export interface PoolStats {
  readonly pool: PoolStatsSnapshot;
  readonly balancer: BalancerStats | undefined;
  /** The pool clock's current time, when known (for "seconds since last change"). */
  readonly nowMs: number | undefined;
  /** Proxy totals, for a FRONTEND row. */
  readonly proxy: ProxyTraffic | undefined;
  /** Outlier detector totals, when one is joined. */
  readonly outlier?: OutlierTraffic;
  readonly circuitBreaker?: CircuitBreakerTraffic;
  readonly retryBudget?: RetryBudgetTraffic;
  readonly rebalancer?: RebalancerTraffic;
}

/** @internal Turns one input or a list of them into pool stats; throws ERR_LB_INVALID_ARG on anything else or on a repeated pool name. */
export function collectStats(input: StatsInput | readonly StatsInput[]): PoolStats[] {
  const list = Array.isArray(input) ? (input as readonly StatsInput[]) : [input as StatsInput];
  const out: PoolStats[] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const stats = one(item, Array.isArray(input) ? `stats input[${i}]` : 'stats input');
    if (seen.has(stats.pool.name)) throw invalidArg(`stats input[${i}]`, 'must not repeat a pool name', stats.pool.name);
    seen.add(stats.pool.name);
    out.push(stats);
  });
  return out;
}

function one(item: unknown, field: string): PoolStats {
  if (typeof item !== 'object' || item === null) throw invalidArg(field, 'must be a Pool, a Balancer or a pool snapshot', item);
  const o = item as Record<string, unknown>;
  if (isBalancer(item)) {
    const breaker = item.circuitBreaker as Partial<{ stats(): CircuitBreakerTraffic }> | undefined;
    const stats: PoolStats = { pool: item.pool.snapshot(), balancer: item.stats(), nowMs: item.pool.clock.now(), proxy: undefined };
    return typeof breaker?.stats === 'function' ? { ...stats, circuitBreaker: breaker.stats() } : stats;
  }
  if (isPool(item)) return { pool: item.snapshot(), balancer: undefined, nowMs: item.clock.now(), proxy: undefined };
  if (isSnapshot(item)) return { pool: item, balancer: undefined, nowMs: undefined, proxy: undefined };
  if ('pool' in o) {
    const inner = withJoined(withOutlier(one(o['pool'], `${field}.pool`), o['outlier'], `${field}.outlier`), o, field);
    const balancer = (o['balancer'] as BalancerStats | undefined) ?? inner.balancer;
    const source = o['proxy'];
    if (source === undefined) return { ...inner, balancer };
    const proxy = typeof (source as { stats?: unknown }).stats === 'function' ? (source as { stats(): ProxyTraffic }).stats() : (source as ProxyTraffic);
    if (typeof proxy !== 'object' || proxy === null || typeof proxy.servers !== 'object') {
      throw invalidArg(`${field}.proxy`, 'must be a TcpProxy or its stats()', source);
    }
    const servers = inner.pool.servers.map((s) => withProxyCounters(s, proxy.servers[s.name]));
    return { pool: { ...inner.pool, servers }, balancer, nowMs: inner.nowMs, proxy };
  }
  throw invalidArg(field, 'must be a Pool, a Balancer or a pool snapshot', item);
}

function withOutlier(stats: PoolStats, source: unknown, field: string): PoolStats {
  if (source === undefined) return stats;
  const outlier = typeof (source as { stats?: unknown }).stats === 'function' ? (source as { stats(): OutlierTraffic }).stats() : (source as OutlierTraffic);
  if (typeof outlier !== 'object' || outlier === null || typeof outlier.servers !== 'object' || typeof outlier.ejections !== 'number') {
    throw invalidArg(field, 'must be an OutlierDetector or its stats()', source);
  }
  const servers = stats.pool.servers.map((s) => {
    const o = outlier.servers[s.name];
    return { ...s, outlierEjections: o?.ejections ?? 0, outlierEjected: o?.ejected ?? false };
  });
  return { ...stats, pool: { ...stats.pool, servers }, outlier };
}

const JOINED = [
  ['circuitBreaker', 'a CircuitBreaker', 'overflows'],
  ['retryBudget', 'a RetryBudget', 'refused'],
  ['rebalancer', 'a Rebalancer', 'recycled'],
] as const;

/** Adds the circuit breaker, retry budget and rebalancer joined to a pool, each given live or as its `stats()`. */
function withJoined(stats: PoolStats, o: Record<string, unknown>, field: string): PoolStats {
  let out = stats;
  for (const [key, what, probe] of JOINED) {
    const source = o[key];
    if (source === undefined) continue;
    const value = typeof (source as { stats?: unknown }).stats === 'function' ? (source as { stats(): unknown }).stats() : source;
    if (typeof value !== 'object' || value === null || !(probe in value)) throw invalidArg(`${field}.${key}`, `must be ${what} or its stats()`, source);
    out = { ...out, [key]: value };
  }
  return out;
}

function withProxyCounters(s: ServerStatsSnapshot, c: ProxyServerTraffic | undefined): ServerStatsSnapshot {
  // A server the proxy never tried has moved no byte: its counters are 0, not unknown.
  return {
    ...s,
    bytesIn: c?.bytesIn ?? 0,
    bytesOut: c?.bytesOut ?? 0,
    connectErrors: c?.connectErrors ?? 0,
    retries: c?.retries ?? 0,
    redispatches: c?.redispatches ?? 0,
    serverAborts: c?.serverAborts ?? 0,
  };
}

function isBalancer(value: unknown): value is Balancer {
  return typeof value === 'object' && value !== null && typeof (value as Balancer).stats === 'function' && isPool((value as Balancer).pool);
}

function isPool(value: unknown): value is Pool {
  return typeof value === 'object' && value !== null && typeof (value as Pool).snapshot === 'function' && typeof (value as Pool).clock === 'object';
}

function isSnapshot(value: unknown): value is PoolStatsSnapshot {
  return typeof value === 'object' && value !== null && typeof (value as PoolSnapshot).name === 'string' && Array.isArray((value as PoolSnapshot).servers);
}
