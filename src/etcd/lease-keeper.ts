import { EventEmitter } from 'eventemitter3';
import type { Lease } from 'etcd3';
import type { Clock } from '../clock.js';
import { LbError } from '../errors.js';
import { backoffMs, etcdCall, etcdError, pause } from './etcd-call.js';
import type { EtcdClient } from './etcd-client.js';

/** Options of a {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** Lease TTL in whole seconds (etcd raises it to its own minimum, 2 s with default timings). */
  readonly ttlSeconds: number;
  /** Longest wait for a grant or a revoke, ms. */
  readonly timeoutMs: number;
  /** First delay before granting again after a failure, ms; doubles up to `maxRetryMs`. */
  readonly retryMs: number;
  readonly maxRetryMs: number;
  readonly clock: Clock;
}

/** Events of a {@link LeaseKeeper}. */
export interface LeaseKeeperEvents {
  /** A lease was granted and is kept alive; keys written with `leaseId` live as long as it does. */
  'lease:granted': [leaseId: string];
  /**
   * The lease is gone or can no longer be trusted: etcd said so, or no keep-alive was answered for a whole TTL
   * (etcd has then expired it, or will within the answer's travel time). A new one is granted after `retryMs`.
   */
  'lease:lost': [leaseId: string, error: unknown];
  /** Granting failed; the next attempt is in `retryInMs`. */
  'lease:error': [error: unknown, retryInMs: number];
}

/**
 * Holds one etcd lease at a time and keeps it alive (etcd3's keep-alive stream, every TTL / 3), judging its
 * liveness on the injected clock: a lease with no keep-alive answered for a whole TTL is declared lost, and a
 * new one granted. What a lost lease owned (registrations, prober claims) must be written again under the new one.
 * @internal Used by {@link Registration} and {@link FleetHealth}.
 */
export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  readonly ttlSeconds: number;
  readonly #client: EtcdClient;
  readonly #o: LeaseKeeperOptions;
  readonly #abort = new AbortController();
  #lease: Lease | undefined;
  #leaseId: string | undefined;
  #lastOk = 0;
  #lose: ((error: unknown) => void) | undefined;
  #done: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(client: EtcdClient, options: LeaseKeeperOptions) {
    super();
    this.#client = client;
    this.#o = options;
    this.ttlSeconds = options.ttlSeconds;
  }

  /** The live lease's id, or `undefined` while there is none. */
  get leaseId(): string | undefined {
    return this.#leaseId;
  }

  /** Starts granting (once). */
  start(): void {
    this.#done ??= this.#run();
  }

  /**
   * Declares the lease `leaseId` lost now if it is still the current one (a write with it was refused as
   * "lease not found").
   */
  invalidate(leaseId: string, error: unknown): void {
    if (leaseId === this.#leaseId) this.#lose?.(error);
  }

  /** Stops for good; with `revoke` the lease is revoked, so what it owns disappears at once. Same promise each time. */
  close(revoke = true): Promise<void> {
    this.#closing ??= (async () => {
      const lease = this.#lease;
      this.#leaseId = undefined;
      this.#lease = undefined;
      this.#abort.abort(new LbError('ERR_LB_CLOSED', 'the lease keeper was closed'));
      this.#lose?.(undefined);
      if (lease !== undefined) {
        if (revoke) await etcdCall('lease revoke', () => lease.revoke(), this.#o.clock, this.#o.timeoutMs).catch(() => lease.release());
        else lease.release();
      }
      await this.#done;
    })();
    return this.#closing;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const lease = this.#client.lease(this.ttlSeconds);
      let lostByEtcd: unknown;
      lease.on('lost', (err) => {
        lostByEtcd = err;
        this.#lose?.(err);
      });
      let id: string;
      try {
        id = await etcdCall('lease grant', () => lease.grant(), this.#o.clock, this.#o.timeoutMs, signal);
      } catch (err) {
        lease.release();
        if (signal.aborted) return;
        failures++;
        const delay = backoffMs(failures, this.#o.retryMs, this.#o.maxRetryMs);
        this.emit('lease:error', err, delay);
        await pause(this.#o.clock, delay, signal);
        continue;
      }
      if (signal.aborted) {
        lease.release();
        return;
      }
      failures = 0;
      this.#lease = lease;
      this.#leaseId = id;
      this.#lastOk = this.#o.clock.now();
      lease.on('keepaliveSucceeded', () => {
        this.#lastOk = this.#o.clock.now();
      });
      this.emit('lease:granted', id);
      const error = lostByEtcd ?? (await this.#untilLost());
      if (signal.aborted) return;
      this.#lease = undefined;
      this.#leaseId = undefined;
      // Revoked if etcd still answers (what the lease owns is handed over at once instead of after its TTL).
      etcdCall('lease revoke', () => lease.revoke(), this.#o.clock, this.#o.timeoutMs).catch(() => lease.release());
      this.emit('lease:lost', id, error);
      await pause(this.#o.clock, this.#o.retryMs, signal);
    }
  }

  /** Resolves with the reason once the current lease is lost (or the keeper closes). */
  #untilLost(): Promise<unknown> {
    const ttlMs = this.ttlSeconds * 1000;
    const everyMs = Math.max(50, Math.floor(ttlMs / 4));
    return new Promise((resolve) => {
      let timer = this.#o.clock.setTimeout(tick, everyMs);
      const lose = (error: unknown): void => {
        this.#lose = undefined;
        timer.cancel();
        resolve(error);
      };
      this.#lose = lose;
      const clock = this.#o.clock;
      const self = this;
      function tick(): void {
        const silentMs = clock.now() - self.#lastOk;
        if (silentMs > ttlMs) lose(etcdError('lease keep-alive', 'timeout', new Error(`no keep-alive answered for ${Math.round(silentMs)} ms (TTL ${ttlMs} ms)`)));
        else timer = clock.setTimeout(tick, everyMs);
      }
    });
  }
}
