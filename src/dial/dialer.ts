import type net from 'node:net';
import type { AttemptHandlers, AttemptSocket } from './attempt-socket.js';
import type { TimerHandle, TimerOptions } from '../clock.js';
import { LbError } from '../errors.js';
import { type FailedAttempt, connectError } from './connect-error.js';
import { RetryAdmission } from './retry-admission.js';
import type { Lease, LeaseRequest, LeaseSource, QueuePositions } from '../lease.js';
import type { ConnectOutcome } from '../outcome.js';
import type { Server } from '../server.js';
import type { ConnectPolicy } from './connect-policy.js';

export { CONNECT_DEFAULTS, CONNECT_POLICY_KEYS } from './connect-policy.js';
export type { ConnectPolicyOptions } from './connect-policy.js';
export type { FailedAttempt } from './connect-error.js';

/** The connect timeout and the turn-around are awaited by a caller: they keep the process alive while pending. */
const AWAITED: TimerOptions = Object.freeze({ keepAlive: true });

const DIALER = Symbol('switchyard.dialer');

type DialSocket = AttemptSocket & { [DIALER]?: Dialer<AttemptSocket> | undefined };


/** Where a dial is: waiting for a lease, connecting (or in the turn-around pause), finished. */
export type DialPhase = 'idle' | 'queue' | 'connect' | 'done';

/**
 * @internal
 * The connection path of HAProxy's `back_handle_st_cer()` for one client connection: place it with the balancer
 * (queueing if every server is full), connect with a timeout, retry with the turn-around pause, redispatch,
 * and report every attempt to the observer. Callback-driven so the proxy's hot path makes no promises.
 * Subclasses supply the socket and receive the result.
 */
export abstract class Dialer<S extends AttemptSocket = net.Socket> {
  protected readonly balancer: LeaseSource;
  protected readonly policy: ConnectPolicy;
  /** The lease on the server being tried; handed to {@link Dialer.dialed} on success. */
  protected lease: Lease | undefined = undefined;
  /** Attempts made so far. */
  attempts = 0;
  /** Retries made so far (`attempts - 1` once connected). */
  retries = 0;
  /**
   * Times the connection went to another server after a failure: a redispatch that landed on the server that
   * just failed (a hash that maps there again) is a retry, not a redispatch (HAProxy's `SF_REDISP`, `wredis`).
   */
  redispatches = 0;
  /** Time spent waiting in the queue, ms. */
  queuedMs = 0;
  /**
   * Positions when it left a server's own queue and the balancer's queue (HAProxy's `%sq`, `%bq`): 1 + the
   * callers served from that queue while it waited, added up over its waits; 0 when it did not wait there.
   */
  serverQueuePosition = 0;
  balancerQueuePosition = 0;
  /**
   * Time from the start of the dial to the last server assignment, ms: placed at once, taken out of a queue (or
   * timed out there), or placed again after a failure (HAProxy `t_queue`: queue time, and the failed attempts and
   * turn-arounds before a redispatch); -1 while none.
   */
  assignedMs = -1;
  /** Time from the last server assignment to the established connection, retries on that server included (HAProxy `Tc`), ms. */
  connectMs = 0;
  #phase: DialPhase = 'idle';
  /** What this dial asks the balancer for, validated where it began; `exclude` and `signal` change as it goes. */
  readonly #request: { -readonly [K in keyof LeaseRequest]: LeaseRequest[K] };
  #socket: S | undefined = undefined;
  #timer: TimerHandle | undefined = undefined;
  #abort: AbortController | undefined = undefined;
  #tried: Set<Server> | undefined = undefined;
  #failures: FailedAttempt[] | undefined = undefined;
  /** The server of a failed attempt the dial is being placed away from (redispatch), until placed again. */
  #previous: Server | undefined = undefined;
  #startedAt = 0;
  #enqueuedAt = 0;
  #placedAt = 0;
  #attemptAt = 0;
  /** The retry gates (the policy's budget, the balancer's breaker) and the retry they admitted, if under way. */
  #retryGates: RetryAdmission | undefined = undefined;
  /** The connect timeout's callback, made on the first attempt that has one. */
  #onTimeout: (() => void) | undefined = undefined;
  /** The server of the attempt under way. */
  #attemptServer: Server | undefined = undefined;

  /** `clientAddress` and `key` must be valid already (a string or undefined; a string, a finite number or undefined). */
  constructor(balancer: LeaseSource, policy: ConnectPolicy, clientAddress: string | undefined, key: string | number | undefined) {
    this.balancer = balancer;
    this.policy = policy;
    this.#request = {
      clientAddress, key, exclude: undefined, previous: undefined, signal: undefined, bindTo: undefined, timeoutQueueMs: policy.timeoutQueueMs,
    };
  }

  /** Where the dial is. */
  get dialPhase(): DialPhase {
    return this.#phase;
  }

  /** The server of the current attempt, if any. */
  get dialServer(): Server | undefined {
    return this.lease?.server;
  }

  /** A new socket connecting to `server` (`net.connect(...)`) for one attempt. */
  protected abstract createSocket(server: Server): S;
  /** The connection is established; the subclass now owns `socket` and `lease`. */
  protected abstract dialed(socket: S, lease: Lease): void;
  /**
   * No connection could be made; no lease is held any more. `error.code` says why: `ERR_LB_NO_SERVER`,
   * `ERR_LB_QUEUE_TIMEOUT`, `ERR_LB_QUEUE_FULL`, `ERR_LB_CLOSED`, `ERR_LB_CONNECT_TIMEOUT` or `ERR_LB_CONNECT_FAILED`.
   */
  protected abstract dialFailed(error: LbError): void;
  /** An attempt failed and another follows after `delayMs` (on another server when `redispatch`). */
  protected retrying(_server: Server, _outcome: ConnectOutcome, _redispatch: boolean, _delayMs: number): void {}
  /** Every server is full: the connection waits in the queue. */
  protected enteredQueue(): void {}
  /** An attempt on `server` starts (`attempts` already counts it). */
  protected attempting(_server: Server): void {}
  /**
   * After a failure on `previous` the dial was placed again: on another server (`moved`, a redispatch) or on the
   * same one (a hash that maps there again: a retry, HAProxy counts it in `wretr`).
   */
  protected reassigned(_previous: Server, _moved: boolean): void {}

  /** Starts dialing. Failures are reported through {@link Dialer.dialFailed}, possibly synchronously. */
  startDial(): void {
    if (this.#phase !== 'idle') return;
    this.#startedAt = this.policy.clock.now();
    this.#place();
  }

  /** Stops whatever the dial is doing and gives back its lease. Does not call back. Idempotent. */
  cancelDial(): void {
    if (this.#phase === 'done') return;
    if (this.#phase === 'queue') {
      // Left the queue (HAProxy sets t_queue when a queued request is aborted too).
      const now = this.policy.clock.now();
      this.queuedMs += now - this.#enqueuedAt;
      this.assignedMs = now - this.#startedAt;
    }
    this.#phase = 'done';
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#abort?.abort();
    this.#abort = undefined;
    this.#retryGates?.end();
    const socket = this.#socket;
    if (socket !== undefined) {
      this.#socket = undefined;
      socket.destroy();
    }
    this.lease?.release();
    this.lease = undefined;
  }

  #place(): void {
    const clock = this.policy.clock;
    let lease: Lease | undefined;
    try {
      lease = this.balancer.tryAcquireChecked(this.#request);
    } catch (err) {
      this.#queueFailed(err);
      return;
    }
    if (lease !== undefined) {
      this.#assigned(lease);
      this.#attempt();
      return;
    }
    this.#phase = 'queue';
    const abort = (this.#abort = new AbortController());
    const enqueuedAt = (this.#enqueuedAt = clock.now());
    const request = this.#request;
    request.signal = abort.signal;
    this.enteredQueue();
    this.balancer.acquireChecked(request).then(
      (granted) => {
        if (this.#abort !== abort) {
          granted.release();
          return;
        }
        this.#abort = undefined;
        this.#assigned(granted);
        this.queuedMs += this.#placedAt - enqueuedAt;
        this.#queuedAt(granted.queuePositions);
        // HAProxy wakes a dequeued stream and it connects on a later turn of its loop, after the stream that
        // freed the slot has finished (whose log line sees the server without the new connection, `%sc`).
        // The next turn of Node's loop does the same; a cancel meanwhile releases the lease.
        this.#phase = 'connect';
        setImmediate(() => {
          if (this.#phase === 'connect' && this.lease === granted && this.#socket === undefined) this.#attempt();
        });
      },
      (err: unknown) => {
        if (this.#abort !== abort) return;
        this.#abort = undefined;
        const now = clock.now();
        this.queuedMs += now - enqueuedAt;
        // A queue timeout is an assignment time in HAProxy's log (t_queue); a request refused outright is not.
        if (LbError.is(err) && err.code === 'ERR_LB_QUEUE_TIMEOUT') {
          this.assignedMs = now - this.#startedAt;
          this.#queuedAt(err.details['queuePositions'] as QueuePositions | undefined);
        }
        this.#queueFailed(err);
      },
    );
  }

  #queuedAt(positions: QueuePositions | undefined): void {
    if (positions === undefined) return;
    this.serverQueuePosition += positions.server;
    this.balancerQueuePosition += positions.balancer;
  }

  /** A lease was granted (at once or out of a queue): the server is assigned. */
  #assigned(lease: Lease): void {
    this.lease = lease;
    const now = this.policy.clock.now();
    this.#placedAt = now;
    this.assignedMs = now - this.#startedAt;
    const previous = this.#previous;
    if (previous === undefined) return;
    this.#previous = undefined;
    this.#request.previous = undefined;
    const moved = lease.server !== previous;
    if (moved) this.redispatches++;
    this.reassigned(previous, moved);
  }

  #queueFailed(err: unknown): void {
    this.#finishFailed(LbError.is(err) ? err : new LbError('ERR_LB_NO_SERVER', 'no server could be chosen', { cause: err }));
  }

  #attempt(): void {
    this.#phase = 'connect';
    this.attempts++;
    const lease = this.lease!;
    lease._connecting(true);
    const server = lease.server;
    this.attempting(server);
    const clock = this.policy.clock;
    let socket: S;
    try {
      socket = this.createSocket(server);
    } catch (err) {
      this.#failed(server, 'error', err as NodeJS.ErrnoException);
      return;
    }
    this.#socket = socket;
    this.#attemptServer = server;
    this.#attemptAt = clock.now();
    // Shared listeners that find the dial through a symbol on the socket: an attempt allocates no closures.
    (socket as DialSocket)[DIALER] = this as Dialer<AttemptSocket>;
    if (socket.setHandlers !== undefined) {
      socket.setHandlers((Dialer.#attemptHandlers ??= Object.freeze({ connect: Dialer.#onAttemptConnect, error: Dialer.#onAttemptError })));
    } else {
      socket.on('error', Dialer.#onAttemptError);
      socket.on('connect', Dialer.#onAttemptConnect);
    }
    if (this.policy.timeoutConnectMs !== Infinity) {
      this.#timer = clock.setTimeout((this.#onTimeout ??= () => this.#timedOut()), this.policy.timeoutConnectMs, AWAITED);
    }
  }

  /** The attempt's socket failed (its `error`; `this` is the socket). */
  static #onAttemptError(this: AttemptSocket, error: Error): void {
    const err = error as NodeJS.ErrnoException;
    const dialer = (this as DialSocket)[DIALER];
    if (dialer === undefined || dialer.#socket !== this) return;
    dialer.#endAttempt();
    this.destroy();
    const code = err.code;
    dialer.#failed(dialer.#attemptServer!, code === 'ECONNREFUSED' ? 'refused' : code === 'ECONNRESET' ? 'reset' : 'error', err);
  }

  /** The attempt's socket connected (its `connect`; `this` is the socket). */
  static #onAttemptConnect(this: AttemptSocket): void {
    const dialer = (this as DialSocket)[DIALER];
    if (dialer === undefined || dialer.#socket !== this) return;
    if (this.setHandlers !== undefined) {
      this.setHandlers(undefined);
    } else {
      this.removeListener('error', Dialer.#onAttemptError);
      this.removeListener('connect', Dialer.#onAttemptConnect);
    }
    (this as DialSocket)[DIALER] = undefined;
    dialer.#endAttempt();
    const lease = dialer.lease!;
    const now = dialer.policy.clock.now();
    dialer.#retryGates?.end();
    dialer.policy.observer?.reportOutcome(dialer.#attemptServer!, { kind: 'success', durationMs: now - dialer.#attemptAt });
    dialer.connectMs = now - dialer.#placedAt;
    dialer.#phase = 'done';
    dialer.lease = undefined;
    dialer.dialed(this, lease);
  }

  /** Made on first use: a static initializer naming the class's private methods breaks in tsc's ES2022 output. */
  static #attemptHandlers: AttemptHandlers | undefined;

  /** Forgets the attempt's socket and cancels its connect timeout. */
  #endAttempt(): void {
    this.#socket = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #timedOut(): void {
    const socket = this.#socket;
    this.#timer = undefined;
    if (socket === undefined) return;
    this.#socket = undefined;
    socket.destroy();
    this.#failed(this.#attemptServer!, 'timeout', undefined);
  }

  #failed(server: Server, kind: FailedAttempt['outcome'], err: NodeJS.ErrnoException | undefined): void {
    const durationMs = this.policy.clock.now() - this.#attemptAt;
    const outcome: ConnectOutcome =
      kind === 'error' ? { kind, durationMs, code: err?.code } : { kind, durationMs };
    this.policy.observer?.reportOutcome(server, outcome);
    // HAProxy's cur_sess drops on each failed attempt (back_handle_st_cer()), after the health analysis the
    // failure feeds: a server it takes down still counts this session ("1 sessions active"). The slot stays
    // until the lease goes.
    this.lease?._connecting(false);
    (this.#failures ??= []).push({ server: server.name, outcome: kind, code: err?.code, durationMs });
    this.#retryGates?.end();
    if (this.attempts > this.policy.retries) {
      this.#finishFailed(connectError(this.#failures ?? [], this, this.balancer.pool.name, this.policy.timeoutConnectMs, kind, err));
      return;
    }
    const refused = (this.#retryGates ??= new RetryAdmission(this.policy.retryBudget, this.balancer.circuitBreaker)).admit();
    if (refused !== undefined) {
      this.#finishFailed(connectError(this.#failures ?? [], this, this.balancer.pool.name, this.policy.timeoutConnectMs, kind, err, refused));
      return;
    }
    this.retries++;
    const redispatch = this.#shouldRedispatch(server);
    // HAProxy waits only after an asynchronous error when it will try the same server again (or has at most
    // one active server): hammering a server that just refused would most likely be refused again.
    const delayMs =
      kind !== 'timeout' && (!redispatch || this.balancer.pool.activeUsable.length <= 1) ? this.policy.turnAroundMs : 0;
    if (redispatch) {
      const tried = (this.#tried ??= new Set());
      tried.add(server);
      this.#request.exclude = tried;
      this.#previous = server;
      this.#request.previous = server;
      this.lease!.release();
      this.lease = undefined;
    }
    this.retrying(server, outcome, redispatch, delayMs);
    if (this.#phase === 'done') return; // cancelled by the hook
    if (delayMs > 0) {
      this.#timer = this.policy.clock.setTimeout(() => {
        this.#timer = undefined;
        this.#next();
      }, delayMs, AWAITED);
    } else {
      this.#next();
    }
  }

  #next(): void {
    const lease = this.lease;
    if (lease === undefined) {
      this.#place();
      return;
    }
    // Another attempt on the same lease: HAProxy's `stot` counts every connection attempt on a server.
    this.balancer.pool._counters.connectRetried(lease.server);
    this.#attempt();
  }

  /** HAProxy 2.6.x `stream_choose_redispatch()`, with `retries` the number of retries including this one. */
  #shouldRedispatch(server: Server): boolean {
    const interval = this.policy.redispatchInterval;
    if (interval === 0) return false;
    if (!server.usable || !this.balancer.pool.has(server)) return true;
    const r = this.retries;
    if (interval > 0 ? r % interval === 0 : this.policy.retries + 1 + interval > 0 && r % (this.policy.retries + 1 + interval) === 0) {
      return true;
    }
    return !this.balancer.strategy.usesServerQueues && this.balancer.pool.activeUsable.length > 1;
  }


  #finishFailed(error: LbError): void {
    this.#phase = 'done';
    this.#retryGates?.end();
    this.lease?.release();
    this.lease = undefined;
    this.dialFailed(error);
  }
}
