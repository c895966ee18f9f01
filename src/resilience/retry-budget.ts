import { EventEmitter } from 'eventemitter3';
import type { RetryGate } from '../admission.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';

/** Options of {@link RetryBudget}: Envoy's `circuit_breakers.thresholds.retry_budget`. */
export interface RetryBudgetOptions {
  /**
   * Retries under way at most this percentage of the connections under way: the balancer's leases plus the callers
   * waiting in its queues (Envoy's active plus pending requests). A number from 0 to 100. @defaultValue 20
   */
  readonly budgetPercent?: number;
  /** The budget never goes below this many concurrent retries (`min_retry_concurrency`). @defaultValue 3 */
  readonly minRetryConcurrency?: number;
}

/** Default values of {@link RetryBudgetOptions}: Envoy's. */
export const RETRY_BUDGET_DEFAULTS = Object.freeze({
  budgetPercent: 20,
  minRetryConcurrency: 3,
});

/** What the budget is a share of: a `Balancer` has both. */
export interface RetryLoad {
  /** Connections held now (leases). */
  readonly activeLeases: number;
  /** Callers waiting now. */
  readonly queued: number;
}

/** Events of a {@link RetryBudget}. */
export interface RetryBudgetEvents {
  /** A retry was refused: `active` retries were under way and the budget allowed `limit`. */
  'retry:refused': [active: number, limit: number];
}

/** Plain-JSON counters of a {@link RetryBudget}. */
export interface RetryBudgetStats {
  readonly budgetPercent: number;
  readonly minRetryConcurrency: number;
  /** Retries under way now. */
  readonly activeRetries: number;
  /** The limit at the present load. */
  readonly limit: number;
  /** Retries admitted so far. */
  readonly admitted: number;
  /** Retries refused so far (Envoy `upstream_rq_retry_overflow`). */
  readonly refused: number;
}

const KEYS = ['budgetPercent', 'minRetryConcurrency'] as const;

/**
 * Envoy's retry budget: retries under way are at most `budgetPercent` of the connections under way, and never
 * fewer than `minRetryConcurrency` are allowed: `limit = max(⌊budgetPercent / 100 × (leases + queued)⌋,
 * minRetryConcurrency)`. When a backend browns out and every connect fails, the retries no longer multiply the load
 * by `1 + retries`: beyond the budget a dial ends with its first failure. Give it to the dials: `balancer.connect({
 * retryBudget })`, `balancer.createConnection()`, the adapters' connect options, `new TcpProxy(balancer, {
 * retryBudget })`. One check per retry, O(1); nothing on the success path.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget(balancer)                 // 20 %, at least 3
 * const proxy = new TcpProxy(balancer, { retries: 3, redispatch: true, retryBudget: budget })
 * budget.on('retry:refused', (active, limit) => log.warn({ active, limit }, 'retry budget exhausted'))
 * ```
 */
export class RetryBudget extends EventEmitter<RetryBudgetEvents> implements RetryGate {
  readonly #load: RetryLoad;
  #budgetPercent: number;
  #minRetryConcurrency: number;
  #active = 0;
  #admitted = 0;
  #refused = 0;

  constructor(load: RetryLoad, options: RetryBudgetOptions = {}) {
    super();
    if (typeof load !== 'object' || load === null || typeof load.activeLeases !== 'number' || typeof load.queued !== 'number') {
      throw invalidArg('load', 'must be a Balancer (activeLeases and queued)', load);
    }
    this.#load = load;
    const o = resolve(options, RETRY_BUDGET_DEFAULTS);
    this.#budgetPercent = o.budgetPercent;
    this.#minRetryConcurrency = o.minRetryConcurrency;
  }

  /** Retries allowed at once at the present load. */
  get limit(): number {
    const load = this.#load;
    return Math.max(Math.floor((this.#budgetPercent / 100) * (load.activeLeases + load.queued)), this.#minRetryConcurrency);
  }

  /** Retries under way now. */
  get activeRetries(): number {
    return this.#active;
  }

  /** Changes the budget at runtime; absent options are kept. */
  update(options: RetryBudgetOptions): void {
    const o = resolve(options, { budgetPercent: this.#budgetPercent, minRetryConcurrency: this.#minRetryConcurrency });
    this.#budgetPercent = o.budgetPercent;
    this.#minRetryConcurrency = o.minRetryConcurrency;
  }

  /** @internal Asked by a dialer before a retry. */
  tryRetry(): boolean {
    const limit = this.limit;
    if (this.#active >= limit) {
      this.#refused++;
      this.emit('retry:refused', this.#active, limit);
      return false;
    }
    this.#active++;
    this.#admitted++;
    return true;
  }

  /** @internal A retry admitted by {@link RetryBudget.tryRetry} ended. */
  retryEnded(): void {
    if (this.#active > 0) this.#active--;
  }

  stats(): RetryBudgetStats {
    return {
      budgetPercent: this.#budgetPercent,
      minRetryConcurrency: this.#minRetryConcurrency,
      activeRetries: this.#active,
      limit: this.limit,
      admitted: this.#admitted,
      refused: this.#refused,
    };
  }
}

function resolve(options: RetryBudgetOptions, base: Required<RetryBudgetOptions>): Required<RetryBudgetOptions> {
  const o = v.plainObject('retry budget options', options);
  v.knownKeys('retry budget options', o, KEYS);
  const budgetPercent = o['budgetPercent'] ?? base.budgetPercent;
  if (typeof budgetPercent !== 'number' || !Number.isFinite(budgetPercent) || budgetPercent < 0 || budgetPercent > 100) {
    throw invalidArg('budgetPercent', 'must be a number from 0 to 100', budgetPercent);
  }
  return { budgetPercent, minRetryConcurrency: v.nonNegativeInteger('minRetryConcurrency', o['minRetryConcurrency'] ?? base.minRetryConcurrency) };
}
