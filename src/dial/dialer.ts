import type net from 'node:net';
import type { RetryGate } from '../admission.js';
import type { Clock, TimerHandle, TimerOptions } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import { RetryAdmission, type RetryRefusal, refusalText, retryBudgetOption } from './retry-admission.js';
import * as v from '../internal/validate.js';
import type { Lease, LeaseRequest, LeaseSource } from '../lease.js';
import type { ConnectOutcome, OutcomeSink } from '../outcome.js';
import type { Server } from '../server.js';

/**
 * How to reach a server: HAProxy's `timeout connect`, `retries`, `option redispatch` and `timeout queue`.
 * Shared by {@link TcpProxy} and `balancer.connect()`.
 */
export interface ConnectPolicyOptions {
  /**
   * Time allowed for one connection attempt, in ms (HAProxy `timeout connect`; HAProxy's default is none).
   * `Infinity` waits as long as the operating system does. @defaultValue 5000
   */
  readonly timeoutConnectMs?: number;
  /**
   * Extra attempts after a failed one: `retries: 3` makes up to 4 attempts (HAProxy 2.6.x and later). After a
   * refused or reset attempt that will be retried on the same server, the next one waits
   * `min(timeoutConnectMs, 1000)` ms (HAProxy's turn-around); after a connect timeout it starts at once.
   * @defaultValue 3
   */
  readonly retries?: number;
  /**
   * Retry on another server (HAProxy `option redispatch [interval]`): `true` (= `-1`) on the last retry,
   * `P > 0` on every P-th retry, `-N` on the N-th retry from the end, `false` or `0` never. When enabled, a
   * retry always moves to another server if the failed one is no longer usable, or if the strategy is not a
   * hash and more than one active server is usable (HAProxy 2.6.x `stream_choose_redispatch()`).
   * Every server that failed for this connection is avoided while another can serve.
   * @defaultValue false
   */
  readonly redispatch?: boolean | number;
  /** Longest wait in the balancer's queue when every server is at `maxconn`, in ms. @defaultValue the balancer's `timeoutQueueMs` */
  readonly timeoutQueueMs?: number;
  /** Receives the outcome of every connection attempt (a `PassiveObserver`, a metrics sink). @defaultValue none */
  readonly observer?: OutcomeSink;
  /**
   * Asked before each retry, as the balancer's circuit breaker is (a `RetryBudget`: retries at most a share of the
   * connections under way). A refused retry ends the dial as its last attempt did, with `details.retryRefused`.
   * @defaultValue none (every retry allowed by `retries`)
   */
  readonly retryBudget?: RetryGate;
  /** Source of time for connect timeouts and turn-around delays. @defaultValue the pool's clock */
  readonly clock?: Clock;
}

/** Default values of {@link ConnectPolicyOptions}. */
export const CONNECT_DEFAULTS = Object.freeze({
  timeoutConnectMs: 5000,
  retries: 3,
  redispatch: false as boolean | number,
});

/** The keys of {@link ConnectPolicyOptions}, for option validation. */
export const CONNECT_POLICY_KEYS = ['timeoutConnectMs', 'retries', 'redispatch', 'timeoutQueueMs', 'observer', 'clock', 'retryBudget'] as const;

/** @internal A validated, frozen connect policy. */
export interface ConnectPolicy {
  readonly timeoutConnectMs: number;
  readonly retries: number;
  /** 0 = off, -N = N-th retry from the end, P = every P-th retry. */
  readonly redispatchInterval: number;
  readonly turnAroundMs: number;
  readonly timeoutQueueMs: number | undefined;
  readonly observer: OutcomeSink | undefined;
  readonly clock: Clock;
  readonly retryBudget: RetryGate | undefined;
}

/** @internal Validates the policy part of an options object (the caller checks for unknown keys). */
export function resolveConnectPolicy(o: Record<string, unknown>, balancer: LeaseSource): ConnectPolicy {
  const timeoutConnectMs = v.durationMs('timeoutConnectMs', o['timeoutConnectMs'] ?? CONNECT_DEFAULTS.timeoutConnectMs, {
    allowInfinite: true,
    allowZero: false,
  });
  const retries = v.integerInRange('retries', o['retries'] ?? CONNECT_DEFAULTS.retries, 0, 1000);
  const r = o['redispatch'] ?? CONNECT_DEFAULTS.redispatch;
  let redispatchInterval: number;
  if (r === true) redispatchInterval = -1;
  else if (r === false) redispatchInterval = 0;
  else if (typeof r === 'number' && Number.isInteger(r) && r >= -1000 && r <= 1000) redispatchInterval = r;
  else throw invalidArg('redispatch', 'must be a boolean or an integer from -1000 to 1000', r);
  const q = o['timeoutQueueMs'];
  const timeoutQueueMs = q === undefined ? undefined : v.durationMs('timeoutQueueMs', q, { allowInfinite: true });
  const observer = o['observer'];
  if (observer !== undefined && (typeof observer !== 'object' || observer === null || typeof (observer as OutcomeSink).reportOutcome !== 'function')) {
    throw invalidArg('observer', 'must have a reportOutcome(server, outcome) method', observer);
  }
  const clock = o['clock'] ?? balancer.pool.clock;
  if (typeof clock !== 'object' || clock === null || typeof (clock as Clock).setTimeout !== 'function' || typeof (clock as Clock).now !== 'function') {
    throw invalidArg('clock', 'must be a Clock with now() and setTimeout()', clock);
  }
  return Object.freeze({
    retryBudget: retryBudgetOption(o['retryBudget']),
    timeoutConnectMs,
    retries,
    redispatchInterval,
    turnAroundMs: Math.min(timeoutConnectMs, 1000),
    timeoutQueueMs,
    observer: observer as OutcomeSink | undefined,
    clock: clock as Clock,
  });
}

/** The connect timeout and the turn-around are awaited by a caller: they keep the process alive while pending. */
const AWAITED: TimerOptions = Object.freeze({ keepAlive: true });

/** One failed connection attempt, as listed in the `details.attempts` of a connect error. */
export interface FailedAttempt {
  readonly server: string;
  readonly outcome: Exclude<ConnectOutcome['kind'], 'success'>;
  readonly code: string | undefined;
  readonly durationMs: number;
}

/** Where a dial is: waiting for a lease, connecting (or in the turn-around pause), finished. */
export type DialPhase = 'idle' | 'queue' | 'connect' | 'done';

/**
 * @internal
 * The connection path of HAProxy's `back_handle_st_cer()` for one client connection: place it with the balancer
 * (queueing if every server is full), connect with a timeout, retry with the turn-around pause, redispatch,
 * and report every attempt to the observer. Callback-driven so the proxy's hot path makes no promises.
 * Subclasses supply the socket and receive the result.
 */
export abstract class Dialer {
  protected readonly balancer: LeaseSource;
  protected readonly policy: ConnectPolicy;
  /** The lease on the server being tried; handed to {@link Dialer.dialed} on success. */
  protected lease: Lease | undefined = undefined;
  /** Attempts made so far. */
  attempts = 0;
  /** Retries made so far (`attempts - 1` once connected). */
  retries = 0;
  /** Times the connection moved to another server after a failure. */
  redispatches = 0;
  /** Time spent waiting in the queue, ms. */
  queuedMs = 0;
  /** Time from leaving the queue to the established connection, retries included (HAProxy `Tc`), ms. */
  connectMs = 0;
  #phase: DialPhase = 'idle';
  /** What this dial asks the balancer for, validated where it began; `exclude` and `signal` change as it goes. */
  readonly #request: { -readonly [K in keyof LeaseRequest]: LeaseRequest[K] };
  #socket: net.Socket | undefined = undefined;
  #timer: TimerHandle | undefined = undefined;
  #abort: AbortController | undefined = undefined;
  #tried: Set<Server> | undefined = undefined;
  #failures: FailedAttempt[] | undefined = undefined;
  #placedAt = 0;
  #attemptAt = 0;
  /** The retry gates (the policy's budget, the balancer's breaker) and the retry they admitted, if under way. */
  #retryGates: RetryAdmission | undefined = undefined;

  /** `clientAddress` and `key` must be valid already (a string or undefined; a string, a finite number or undefined). */
  constructor(balancer: LeaseSource, policy: ConnectPolicy, clientAddress: string | undefined, key: string | number | undefined) {
    this.balancer = balancer;
    this.policy = policy;
    this.#request = { clientAddress, key, exclude: undefined, signal: undefined, bindTo: undefined, timeoutQueueMs: policy.timeoutQueueMs };
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
  protected abstract createSocket(server: Server): net.Socket;
  /** The connection is established; the subclass now owns `socket` and `lease`. */
  protected abstract dialed(socket: net.Socket, lease: Lease): void;
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

  /** Starts dialing. Failures are reported through {@link Dialer.dialFailed}, possibly synchronously. */
  startDial(): void {
    if (this.#phase !== 'idle') return;
    this.#place();
  }

  /** Stops whatever the dial is doing and gives back its lease. Does not call back. Idempotent. */
  cancelDial(): void {
    if (this.#phase === 'done') return;
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
      this.lease = lease;
      this.#placedAt = clock.now();
      this.#attempt();
      return;
    }
    this.#phase = 'queue';
    const abort = (this.#abort = new AbortController());
    const enqueuedAt = clock.now();
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
        this.lease = granted;
        this.#placedAt = clock.now();
        this.queuedMs += this.#placedAt - enqueuedAt;
        this.#attempt();
      },
      (err: unknown) => {
        if (this.#abort !== abort) return;
        this.#abort = undefined;
        this.queuedMs += clock.now() - enqueuedAt;
        this.#queueFailed(err);
      },
    );
  }

  #queueFailed(err: unknown): void {
    this.#finishFailed(LbError.is(err) ? err : new LbError('ERR_LB_NO_SERVER', 'no server could be chosen', { cause: err }));
  }

  #attempt(): void {
    this.#phase = 'connect';
    this.attempts++;
    const server = this.lease!.server;
    this.attempting(server);
    const clock = this.policy.clock;
    let socket: net.Socket;
    try {
      socket = this.createSocket(server);
    } catch (err) {
      this.#failed(server, 'error', err as NodeJS.ErrnoException);
      return;
    }
    this.#socket = socket;
    this.#attemptAt = clock.now();
    const onError = (err: NodeJS.ErrnoException): void => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#timer?.cancel();
      this.#timer = undefined;
      socket.destroy();
      const code = err.code;
      this.#failed(server, code === 'ECONNREFUSED' ? 'refused' : code === 'ECONNRESET' ? 'reset' : 'error', err);
    };
    socket.on('error', onError);
    socket.once('connect', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#timer?.cancel();
      this.#timer = undefined;
      socket.removeListener('error', onError);
      const now = clock.now();
      this.#retryGates?.end();
      this.policy.observer?.reportOutcome(server, { kind: 'success', durationMs: now - this.#attemptAt });
      this.connectMs = now - this.#placedAt;
      this.#phase = 'done';
      const lease = this.lease!;
      this.lease = undefined;
      this.dialed(socket, lease);
    });
    if (this.policy.timeoutConnectMs !== Infinity) {
      this.#timer = clock.setTimeout(() => {
        if (this.#socket !== socket) return;
        this.#socket = undefined;
        this.#timer = undefined;
        socket.destroy();
        this.#failed(server, 'timeout', undefined);
      }, this.policy.timeoutConnectMs, AWAITED);
    }
  }

  #failed(server: Server, kind: FailedAttempt['outcome'], err: NodeJS.ErrnoException | undefined): void {
    const durationMs = this.policy.clock.now() - this.#attemptAt;
    const outcome: ConnectOutcome =
      kind === 'error' ? { kind, durationMs, code: err?.code } : { kind, durationMs };
    this.policy.observer?.reportOutcome(server, outcome);
    (this.#failures ??= []).push({ server: server.name, outcome: kind, code: err?.code, durationMs });
    this.#retryGates?.end();
    if (this.attempts > this.policy.retries) {
      this.#finishFailed(this.#connectError(kind, err));
      return;
    }
    const refused = (this.#retryGates ??= new RetryAdmission(this.policy.retryBudget, this.balancer.circuitBreaker)).admit();
    if (refused !== undefined) {
      this.#finishFailed(this.#connectError(kind, err, refused));
      return;
    }
    this.retries++;
    const redispatch = this.#shouldRedispatch(server);
    // HAProxy waits only after an asynchronous error when it will try the same server again (or has at most
    // one active server): hammering a server that just refused would most likely be refused again.
    const delayMs =
      kind !== 'timeout' && (!redispatch || this.balancer.pool.activeUsable.length <= 1) ? this.policy.turnAroundMs : 0;
    if (redispatch) {
      this.redispatches++;
      const tried = (this.#tried ??= new Set());
      tried.add(server);
      this.#request.exclude = tried;
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
    if (this.lease !== undefined) this.#attempt();
    else this.#place();
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

  #connectError(kind: FailedAttempt['outcome'], err: NodeJS.ErrnoException | undefined, retryRefused?: RetryRefusal): LbError {
    const attempts = this.#failures ?? [];
    const last = attempts[attempts.length - 1];
    const pool = this.balancer.pool.name;
    const details = {
      pool, server: last?.server, attempts, retries: this.retries, redispatches: this.redispatches,
      ...(retryRefused === undefined ? {} : { retryRefused }),
    };
    const summary = `${this.attempts} attempt${this.attempts === 1 ? '' : 's'}${refusalText(retryRefused)}`;
    if (kind === 'timeout') {
      return new LbError(
        'ERR_LB_CONNECT_TIMEOUT',
        `connecting to ${last?.server} of pool ${pool} timed out after timeoutConnectMs ${this.policy.timeoutConnectMs} ms (${summary})`,
        { details },
      );
    }
    return new LbError('ERR_LB_CONNECT_FAILED', `could not connect to ${last?.server} of pool ${pool}: ${err?.code ?? err?.message ?? kind} (${summary})`, {
      cause: err,
      details,
    });
  }

  #finishFailed(error: LbError): void {
    this.#phase = 'done';
    this.#retryGates?.end();
    this.lease?.release();
    this.lease = undefined;
    this.dialFailed(error);
  }
}
