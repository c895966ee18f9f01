import type { Clock } from '../clock.js';
import { LbError } from '../errors.js';
import { backoffMs, pause } from './etcd-call.js';
import type { PublishedCheck } from './fleet-record.js';
import type { HeldClaim, ProberClaims } from './prober-claims.js';

/** What a {@link ResultPublisher} tells its owner. */
export interface PublisherHooks {
  /** Whether `held` is still this instance's claim of `server`: a result is retried only while it is. */
  holds(server: string, held: HeldClaim): boolean;
  published(server: string, record: PublishedCheck, revision: number): void;
  /** etcd refused the write: the claim is no longer `held` (a stale prober). */
  fenced(server: string, record: PublishedCheck, held: HeldClaim): void;
  /** One attempt failed (network, timeout); `retryInMs` is undefined when no retry follows. */
  failed(server: string, record: PublishedCheck, error: unknown, retryInMs: number | undefined): void;
  /** The result was given up: retries exhausted, the claim gone meanwhile, or the publisher closed. */
  lost(server: string, record: PublishedCheck, error: unknown): void;
}

/** Bounds of the retries. */
export interface PublisherRetry {
  /** Attempts after the first one, for a write that failed without an answer from etcd. */
  readonly retries: number;
  readonly retryMs: number;
  readonly maxRetryMs: number;
}

/**
 * Writes the prober's results to etcd, one write at a time per server and in check order. A write that fails
 * for a network reason (no answer, a timeout) is tried again, up to `retries` times, `retryMs` apart doubling up
 * to `maxRetryMs`, and only while the claim is still held here. Every attempt is the same fenced transaction
 * (written only if the claim still has this lease and term), so a retry can never write a stale result; a retry
 * of a write that had in fact succeeded writes the same term and sequence again, which readers apply once.
 * @internal Used by {@link FleetHealth}.
 */
export class ResultPublisher {
  readonly #claims: ProberClaims;
  readonly #clock: Clock;
  readonly #retry: PublisherRetry;
  readonly #hooks: PublisherHooks;
  readonly #chains = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  constructor(claims: ProberClaims, clock: Clock, retry: PublisherRetry, hooks: PublisherHooks) {
    this.#claims = claims;
    this.#clock = clock;
    this.#retry = retry;
    this.#hooks = hooks;
  }

  /** Queues `record` for `server`, to be written under `held`. */
  offer(server: string, held: HeldClaim, record: PublishedCheck): void {
    const previous = this.#chains.get(server) ?? Promise.resolve();
    const next = previous.then(() => this.#publish(server, held, record));
    this.#chains.set(server, next);
    void next.then(() => {
      if (this.#chains.get(server) === next) this.#chains.delete(server);
    });
  }

  /** Resolves when every queued write has ended (written, fenced or given up). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#chains.values()]);
  }

  /** No more retries: a write waiting for one is given up at once. Writes in progress finish. */
  close(): void {
    this.#abort.abort();
  }

  async #publish(server: string, held: HeldClaim, record: PublishedCheck): Promise<void> {
    const signal = this.#abort.signal;
    for (let failures = 0; ; ) {
      let revision: number | undefined;
      try {
        revision = await this.#claims.publish(server, held.lease, held.term, record);
      } catch (err) {
        failures++;
        const aborted = signal.aborted || (LbError.is(err) && err.code === 'ERR_LB_ABORTED');
        const again = failures <= this.#retry.retries && !aborted && this.#hooks.holds(server, held);
        const delay = again ? backoffMs(failures, this.#retry.retryMs, this.#retry.maxRetryMs) : undefined;
        this.#hooks.failed(server, record, err, delay);
        if (delay !== undefined) await pause(this.#clock, delay, signal);
        if (delay === undefined || signal.aborted || !this.#hooks.holds(server, held)) {
          this.#hooks.lost(server, record, err);
          return;
        }
        continue;
      }
      if (revision === undefined) this.#hooks.fenced(server, record, held);
      else this.#hooks.published(server, record, revision);
      return;
    }
  }
}
