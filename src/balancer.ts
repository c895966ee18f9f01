import { EventEmitter } from 'eventemitter3';
import type net from 'node:net';
import {
  type BalancerEvents, type BalancerOptions, type BalancerStats, closedError, noServer, queueLeaveError, resolveBalancerOptions, strategyError, validateAcquire,
} from './balancer-options.js';
import { type CircuitGate, circuitOpen } from './admission.js';
import { CandidateGroup } from './candidate-group.js';
import type { Clock } from './clock.js';
import type { BalancedSocket } from './dial/balanced-socket.js';
import { type BalancedConnectOptions, connect as balancedConnect, createConnection as balancedCreateConnection } from './dial/connect.js';
import { publishPick, publishQueueLeave } from './diagnostics.js';
import { LbError } from './errors.js';
import { type AcquireOptions, type Closable, type Lease, LeaseImpl, type LeaseOwner, type LeaseRequest, type LeaseSource, NOT_QUEUED } from './lease.js';
import type { LbState, Pool } from './pool.js';
import type { Server } from './server.js';
import { MutablePickContext } from './strategies/internal/pick-context.js';
import type { Strategy } from './strategies/strategy.js';
import { StrategyGroups } from './strategy-groups.js';
import { type Waiter, WaitQueues } from './wait-queue.js';

export type { AcquireOptions } from './lease.js';
export { BALANCER_DEFAULTS } from './balancer-options.js';
export type { BalancerEvents, BalancerOptions, BalancerStats } from './balancer-options.js';

/**
 * Joins a {@link Pool} and a {@link Strategy}: picks a server for each new connection and hands out
 * {@link Lease | leases} that count it until released. Honours `maxconn` (a full server is skipped; when all
 * are full callers wait in one FIFO queue for `timeoutQueueMs`) and `maxqueue` (a hash strategy's server
 * queue), and follows every change of the pool on the next pick.
 *
 * @example
 * ```ts
 * const balancer = new Balancer(pool, { strategy: 'leastconn', timeoutQueueMs: 2000 })
 * const lease = await balancer.acquire({ clientAddress: socket.remoteAddress })
 * const upstream = net.connect(lease.server.port, lease.server.host)
 * lease.bindTo(upstream) // released exactly once, when the upstream socket closes
 * ```
 */
export class Balancer extends EventEmitter<BalancerEvents> implements LeaseSource {
  /** The pool this balancer picks from. */
  readonly pool: Pool;
  /** The strategy in use. */
  readonly strategy: Strategy;
  /** Default queue timeout, ms. */
  readonly timeoutQueueMs: number;

  readonly #clock: Clock;
  readonly #queues: WaitQueues;
  readonly #ctx: MutablePickContext;
  readonly #onLb: (server: Server, previous: LbState) => void;
  readonly #onBatch = (changes: ReadonlyMap<Server, LbState>): void => this.#followBatch(changes);
  readonly #onLimits: (server: Server) => void;
  readonly #onRemoved: (server: Server) => void;
  readonly #leaseOwner: LeaseOwner = { released: (lease) => this.#release(lease), opened: (lease, open) => this.pool._counters.opened(lease.server, open) };
  readonly #groups: StrategyGroups;
  readonly #group: CandidateGroup;
  readonly #breaker: CircuitGate | undefined;
  #panicPicks = 0;
  #seq = 0;
  #activeLeases = 0;
  #totalLeases = 0;
  #queueTimeouts = 0;
  #closing: Promise<void> | undefined;
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(pool: Pool, options: BalancerOptions = {}) {
    super();
    const o = resolveBalancerOptions(pool, options);
    this.pool = pool;
    this.#queues = new WaitQueues((server, delta) => pool._counters.queueChanged(server, delta));
    this.strategy = o.strategy;
    this.timeoutQueueMs = o.timeoutQueueMs;
    this.#clock = o.clock;
    this.#ctx = new MutablePickContext(o.random);
    this.#groups = new StrategyGroups(o.strategy, o.factory);
    this.#group = new CandidateGroup(this.#groups);
    this.#breaker = o.circuitBreaker;

    this.#groups.reset(pool);
    this.#onLb = (server, previous) => this.#followLb(server, previous);
    this.#onLimits = (server) => {
      if (this.pool.has(server)) this.#groups.limitsChanged(server);
      this.#dispatch(server);
    };
    this.#onRemoved = (server) => this.#requeueFrom(server);
    pool.on('server:lb', this.#onLb);
    pool.on('pool:lb', this.#onBatch);
    pool.on('server:limits', this.#onLimits);
    pool.on('server:removed', this.#onRemoved);
  }

  /** Leases currently held. */
  get activeLeases(): number {
    return this.#activeLeases;
  }

  /** Callers waiting, in the balancer's queue and in server queues. */
  get queued(): number {
    return this.#queues.size;
  }

  /** The circuit breaker given in the options, if any (the dialers ask it before each retry). */
  get circuitBreaker(): CircuitGate | undefined {
    return this.#breaker;
  }

  /**
   * Picks a server and grants a lease on it, waiting in the queue when every candidate is full.
   * Rejects with `ERR_LB_NO_SERVER` when nothing is usable, `ERR_LB_QUEUE_TIMEOUT` after `timeoutQueueMs`,
   * `ERR_LB_QUEUE_FULL` when the chosen server's `maxqueue` is reached, `ERR_LB_ABORTED` on abort.
   */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    let o: LeaseRequest;
    try {
      o = this.#validateAcquire(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.acquireChecked(o);
  }

  /**
   * The synchronous form of {@link Balancer.acquire}, for socket factories that cannot wait: a lease now,
   * or `undefined` when the caller would have to queue. Throws `ERR_LB_NO_SERVER` when nothing is usable.
   */
  tryAcquire(options: Omit<AcquireOptions, 'signal' | 'timeoutQueueMs'> = {}): Lease | undefined {
    return this.tryAcquireChecked(this.#validateAcquire(options));
  }

  /**
   * @internal {@link Balancer.acquire} for the dialers (`connect()`, the proxy): `request` was validated once
   * where it entered the library and is not validated again per placement.
   */
  acquireChecked(request: LeaseRequest): Promise<Lease> {
    try {
      if (this.#closed) throw closedError();
      const placed = this.#tryPlace(request, false);
      if (placed instanceof LeaseImpl) return Promise.resolve(placed);
      const breaker = this.#breaker;
      if (breaker !== undefined && this.#queues.size >= breaker.maxPending) {
        breaker.overflowed('pending');
        throw circuitOpen(this.pool.name, 'pending', breaker.maxPending, this.#queues.size);
      }
      return this.#wait(request, placed);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @internal {@link Balancer.tryAcquire} for the dialers; see {@link Balancer.acquireChecked}. */
  tryAcquireChecked(request: LeaseRequest): Lease | undefined {
    if (this.#closed) throw closedError();
    const placed = this.#tryPlace(request, true);
    return placed instanceof LeaseImpl ? placed : undefined;
  }

  /**
   * A connected `net.Socket` to a server this balancer picks, with HAProxy's connect policy (queue wait,
   * `timeoutConnectMs`, `1 + retries` attempts with the turn-around, `redispatch`, every attempt reported to
   * `observer`); the lease is released when the socket closes. See {@link connect}.
   */
  connect(options: BalancedConnectOptions = {}): Promise<net.Socket> {
    return balancedConnect(this, options);
  }

  /**
   * A socket-like Duplex returned at once that dials in the background and buffers early writes, for
   * synchronous socket factories (mysql2 `stream`, `http.Agent#createConnection`). See {@link createConnection}.
   */
  createConnection(options: BalancedConnectOptions = {}): BalancedSocket {
    return balancedCreateConnection(this, options);
  }

  /** Counters for stats and metrics. */
  stats(): BalancerStats {
    return {
      strategy: this.strategy.name,
      activeLeases: this.#activeLeases,
      totalLeases: this.#totalLeases,
      queued: this.#queues.size,
      maxQueued: this.#queues.max,
      balancerQueued: this.#queues.sharedSize,
      maxBalancerQueued: this.#queues.sharedMax,
      queueTimeouts: this.#queueTimeouts,
      panicPicks: this.#panicPicks,
    };
  }

  /**
   * Stops granting leases: queued callers are rejected with `ERR_LB_CLOSED`, and the promise resolves when
   * every granted lease has been released. Idempotent: returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#shutdown();
    this.#closing = this.#activeLeases === 0 ? Promise.resolve() : new Promise((resolve) => (this.#drained = resolve));
    return this.#closing;
  }

  /** Stops at once: queued callers are rejected; leases still held release harmlessly later. */
  destroy(): void {
    this.#shutdown();
    this.#closing ??= Promise.resolve();
    this.#drained?.();
  }

  /** Same as {@link Balancer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pool.off('server:lb', this.#onLb);
    this.pool.off('pool:lb', this.#onBatch);
    this.pool.off('server:limits', this.#onLimits);
    this.pool.off('server:removed', this.#onRemoved);
    for (const w of this.#queues.all()) this.#fail(w, 'closed');
  }

  #validateAcquire(options: AcquireOptions): LeaseRequest {
    if (this.#closed) throw closedError();
    return validateAcquire(options);
  }

  /**
   * Places a caller now if possible. Returns the lease; or the server whose own queue the caller must wait in;
   * or `undefined` to wait in the balancer's queue. Throws when the caller can never be placed.
   */
  #tryPlace(o: LeaseRequest, mustNotQueue: boolean): LeaseImpl | Server | undefined {
    const pool = this.pool;
    if (!pool.available && !CandidateGroup.panicAvailable(pool)) throw noServer(pool);
    const breaker = this.#breaker;
    if (breaker !== undefined && this.#activeLeases >= breaker.maxConnections) {
      breaker.overflowed('connections');
      throw circuitOpen(pool.name, 'connections', breaker.maxConnections, this.#activeLeases);
    }
    const strategy = this.strategy;
    if (this.#queues.sharedSize > 0 && strategy.queueBehindWaiters !== false && strategy.usesServerQueues !== true) return undefined;
    const group = this.#group;
    const ctx = this.#ctx;
    ctx.clientAddress = o.clientAddress;
    ctx.key = o.key;
    const candidates = group.select(pool, ctx);
    let server: Server | undefined;
    if (group.firstBackupOnly) {
      server = candidates[0];
    } else {
      ctx.exclude = o.exclude;
      try {
        server = group.strategy.pick(candidates, ctx);
      } catch (err) {
        throw strategyError(group.strategy, 'threw', err);
      } finally {
        ctx.exclude = undefined;
      }
      if (server === undefined) return undefined;
      // A strategy is user code: what it returns must be one of its candidates before anything is counted.
      const wrong = group.rejects(pool, server);
      if (wrong !== undefined) throw strategyError(group.strategy, wrong, server);
    }
    if (server === undefined) return undefined;
    if (group.panic) this.#panicPicks++;
    if (server.full) {
      if (server.maxqueue > 0 && server.queued >= server.maxqueue) {
        throw new LbError('ERR_LB_QUEUE_FULL', `server ${server.name} of pool ${pool.name} is full and its queue holds maxqueue ${server.maxqueue}`, {
          details: { pool: pool.name, server: server.name },
        });
      }
      // The strategy insists on this server (hash affinity): wait in its own queue.
      return mustNotQueue ? undefined : server;
    }
    // Picking again the server a redispatch moved away from is not a new selection (HAProxy's lbtot).
    return this.#grant(server, true, 0, o.bindTo, server !== o.previous);
  }

  #wait(o: LeaseRequest, server: Server | undefined): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
      const w: Waiter = {
        seq: this.#seq++,
        enqueuedAt: this.#clock.now(),
        exclude: o.exclude,
        bindTo: o.bindTo,
        server,
        node: undefined,
        queueIdx: 0,
        serverPosition: 0,
        timer: undefined,
        unlisten: undefined,
        resolve,
        reject,
      };
      this.#queues.push(w);
      // The strategy chose this server and the caller waits in its queue: HAProxy counts the pick (lbtot) now.
      if (server !== undefined && server !== o.previous) this.pool._counters.picked(server);
      const timeoutQueueMs = o.timeoutQueueMs ?? this.timeoutQueueMs;
      if (timeoutQueueMs !== Infinity) {
        w.timer = this.#clock.setTimeout(() => this.#fail(w, 'timeout'), timeoutQueueMs, KEEP_ALIVE);
      }
      const signal = o.signal;
      if (signal) {
        const onAbort = (): void => this.#fail(w, 'abort', signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        w.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      this.emit('queue:enter', server ?? 'balancer');
    });
  }

  #fail(w: Waiter, reason: 'timeout' | 'abort' | 'closed' | 'no-server', cause?: unknown): void {
    const queuedServer = w.server;
    const positions = this.#queues.remove(w);
    if (positions === undefined) return;
    const waited = Math.round(this.#clock.now() - w.enqueuedAt);
    if (reason === 'timeout') this.#queueTimeouts++;
    const err = queueLeaveError(this.pool, reason, waited, queuedServer?.name, positions, cause);
    this.emit('queue:leave', reason);
    publishQueueLeave(this.pool, reason, waited);
    w.reject(err);
    // A waiter leaving a server queue may unblock new picks of that server.
    if (queuedServer) this.#dispatch(queuedServer);
  }

  #grant(server: Server, picked: boolean, queuedMs: number, bindTo: Closable | undefined, selection = picked, positions = NOT_QUEUED): LeaseImpl {
    this.pool._counters.leaseGranted(server, selection);
    this.#activeLeases++;
    this.#totalLeases++;
    this.#groups.acquired(server);
    const lease = new LeaseImpl(server, queuedMs, this.#leaseOwner, positions);
    if (bindTo) lease.bindTo(bindTo);
    this.emit('lease:acquire', lease);
    publishPick(this.pool, server, picked, queuedMs);
    return lease;
  }

  #release(lease: LeaseImpl): void {
    const server = lease.server;
    this.pool._counters.leaseReleased(server);
    this.#activeLeases--;
    this.#groups.released(server);
    this.emit('lease:release', lease);
    if (this.#activeLeases === 0 && this.#drained) {
      this.#drained();
      this.#drained = undefined;
    }
    if (!this.#closed) this.#dispatch(server);
  }

  /**
   * Gives freed slots of `server` to waiters: its own queue and the balancer's queue, oldest first
   * (HAProxy `process_srv_queue()`); the balancer's queue only while the server is usable.
   */
  #dispatch(server: Server): void {
    if (this.#closed) return;
    const shared = this.pool.has(server) && server.usable && CandidateGroup.includes(this.pool, server);
    const breaker = this.#breaker;
    for (;;) {
      if (server.maxconn > 0 && server.currentConnections >= server.maxconn) return;
      // Waiters wait while the breaker's connection limit is reached; a release wakes them.
      if (breaker !== undefined && this.#activeLeases >= breaker.maxConnections) return;
      const w = this.#queues.nextFor(server, shared);
      if (!w) return;
      const positions = this.#queues.remove(w, true);
      const lease = this.#grant(server, false, this.#clock.now() - w.enqueuedAt, w.bindTo, false, positions);
      w.resolve(lease);
    }
  }

  #followLb(server: Server, previous: LbState): void {
    const now = this.#groups.changed(server, previous, server.usable && this.pool.has(server));
    if (this.#closed) return;
    if (now && this.#queues.size > 0) for (const candidate of this.#group.dispatchTargets(this.pool)) this.#dispatch(candidate);
    else if (!now && !server.usable && server.adminState !== 'drain') this.#requeueFrom(server);
  }

  /** A pool batch ended: each changed server through the incremental hooks (no reset), then the queues once. */
  #followBatch(changes: ReadonlyMap<Server, LbState>): void {
    let anyUsable = false;
    // forEach, not for…of: no [server, state] pair per server of a 10 000-server batch.
    changes.forEach((previous, server) => {
      anyUsable = this.#groups.changed(server, previous, server.usable && this.pool.has(server)) || anyUsable;
    });
    if (this.#closed || this.#queues.size === 0) return;
    for (const server of changes.keys()) if (!server.usable && server.adminState !== 'drain') this.#requeueFrom(server);
    if (anyUsable) for (const candidate of this.#group.dispatchTargets(this.pool)) this.#dispatch(candidate);
  }

  /** Moves the callers queued on a server that went away or down back to the balancer's queue, in age order. */
  #requeueFrom(server: Server): void {
    if (!this.#queues.moveToShared(server)) return;
    for (const candidate of this.#group.dispatchTargets(this.pool)) this.#dispatch(candidate);
  }
}

/** A caller awaits this timer: it must keep the process alive. */
const KEEP_ALIVE = Object.freeze({ keepAlive: true });
