import type { Server } from '../server.js';

/**
 * Which group the candidates come from: the active servers, or the backups when no active server is usable.
 * With priority tiers every tier is `'active'` (see {@link PickContext.tier}); backups stay `'backup'`.
 */
export type ServerGroup = 'active' | 'backup';

/**
 * What a strategy knows about the connection being placed.
 * Built by the {@link Balancer} for each pick; do not keep it after `pick` returns.
 */
export interface PickContext {
  /** The group the candidates belong to. */
  readonly group: ServerGroup;
  /**
   * The priority tier of the candidates (0 the highest; 0 for backups). Only a strategy object shared by several
   * tiers needs it (see {@link Strategy}); absent in contexts built before tiers existed.
   */
  readonly tier?: number;
  /** The locality of the candidates when the pool weighs localities (`localityWeights`), else absent. */
  readonly locality?: string | undefined;
  /**
   * True when the candidates are a tier in panic: its eligible servers, usable or not (down by checks, held out by
   * an outlier detector), that the strategy has not seen through `serverUsable`. Absent or false otherwise.
   */
  readonly panic?: boolean;
  /** The client's IP address, when known (used by `source`). */
  readonly clientAddress: string | undefined;
  /** A caller-supplied affinity key (tenant, user id…), used by the hash strategies instead of the address. */
  readonly key: string | number | undefined;
  /** Uniform random numbers in [0, 1); injected so tests can make picks reproducible. */
  readonly random: () => number;
  /**
   * True when the server must not get a new connection now (`maxconn` reached or a queue on it).
   * Strategies that can place elsewhere skip full servers; hash strategies may return one anyway,
   * and the connection then waits in that server's queue (HAProxy's server queue).
   */
  isFull(server: Server): boolean;
  /**
   * True for a server the caller asked to avoid (a retry after a failure there). Skip it when another
   * candidate exists; return it only when nothing else can take the connection (as HAProxy does).
   */
  isExcluded(server: Server): boolean;
}

/**
 * A load-balancing algorithm. The only required member is {@link Strategy.pick}; the optional hooks let a
 * strategy keep incremental state (trees, rings, maps) instead of scanning the candidates on every pick.
 *
 * A strategy instance belongs to one {@link Balancer}. Hooks arrive in this order: `reset` once when the
 * balancer is built, then `serverUsable` / `serverUnusable` / `weightChanged` as the pool changes, and
 * `acquired` / `released` around every lease. After a `pool.batch()` the hooks of every server it changed arrive
 * together at its end, one per server for its net change, in the order the batch first changed them.
 *
 * Priority tiers, localities and panic (see `docs/resilience.md`): the balancer keeps one strategy per group of
 * candidates — per tier, per locality of a tier when localities are weighted, and per tier in panic — so that a
 * strategy written for HAProxy's two groups (`'active'`/`'backup'`) keeps working: each instance only ever sees
 * the servers of its group, through the same hooks. It makes them from the strategy's name, or from a factory
 * (`strategy: () => new MyStrategy()`). A strategy *object* given to the balancer serves priority 0 and the
 * backups; for other groups the built-in classes are rebuilt from their options, and any other object is shared
 * by every group: it then receives the hooks of every server and must pick among `candidates` (or keep its state
 * by {@link PickContext.tier} / {@link PickContext.locality}).
 *
 * @example
 * ```ts
 * class PreferZone implements Strategy {
 *   readonly name = 'prefer-zone'
 *   constructor(private zoneOf: (s: Server) => string, private zone: string) {}
 *   pick(candidates: readonly Server[], ctx: PickContext) {
 *     let best: Server | undefined
 *     for (const s of candidates) {
 *       if (ctx.isFull(s) || ctx.isExcluded(s)) continue
 *       if (!best || score(s) < score(best)) best = s
 *     }
 *     return best
 *   }
 * }
 * ```
 */
export interface Strategy {
  /** A short name for logs and stats (`roundrobin`, `leastconn`, …). */
  readonly name: string;
  /**
   * True for hash-like strategies that may return a full server so the connection waits in that server's
   * own queue (bounded by `maxqueue`). Others never do, and new connections wait in the balancer's FIFO queue.
   * @defaultValue false
   */
  readonly usesServerQueues?: boolean;
  /**
   * False when `pick` never reads {@link PickContext.clientAddress}: a `TcpProxy` then looks up a client's address
   * (a `getpeername()` per connection) only when something else asks for it (a log, an event listener, a PROXY
   * header). Every built-in strategy but `source` says false. @defaultValue true
   */
  readonly usesClientAddress?: boolean;
  /**
   * While callers wait in the balancer's queue, new callers queue behind them instead of being placed
   * (HAProxy does this for `first`, `roundrobin` and `static-rr`; `leastconn` and `random` still pick).
   * Ignored for strategies that use server queues. @defaultValue true
   */
  readonly queueBehindWaiters?: boolean;
  /**
   * Chooses a server among `candidates`: the usable servers of one group, in declaration order.
   * The array is a live view owned by the pool; do not keep or modify it.
   * Returns `undefined` when every candidate is full (the connection then waits in the queue).
   */
  pick(candidates: readonly Server[], context: PickContext): Server | undefined;
  /** Called once with the usable servers of each group, before the first pick. */
  reset?(active: readonly Server[], backup: readonly Server[]): void;
  /** A server became usable (it came up, left maintenance or drain, or got a weight above 0). */
  serverUsable?(server: Server): void;
  /** A server stopped being usable (down, maintenance, drain, weight 0, or removed). */
  serverUnusable?(server: Server): void;
  /** A usable server's effective weight changed (set weight, slow start). */
  weightChanged?(server: Server, previousEffectiveWeight: number): void;
  /** A server's `maxconn` or `maxqueue` changed (its fullness may have changed without a lease moving). */
  limitsChanged?(server: Server): void;
  /** A lease on `server` was granted (its `currentConnections` already counts it). */
  acquired?(server: Server): void;
  /** A lease on `server` was released (its `currentConnections` no longer counts it). */
  released?(server: Server): void;
}
