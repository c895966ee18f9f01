import type { RetryGate } from '../admission.js';
import { invalidArg } from '../errors.js';

/** Which gate refused a retry: the dial's `RetryBudget`, or the balancer's circuit breaker (`maxRetries`). */
export type RetryRefusal = 'retry-budget' | 'max-retries';

/** @internal Validates the `retryBudget` connect option. */
export function retryBudgetOption(value: unknown): RetryGate | undefined {
  const g = value as Partial<RetryGate> | null | undefined;
  if (g === undefined) return undefined;
  if (typeof g !== 'object' || g === null || typeof g.tryRetry !== 'function' || typeof g.retryEnded !== 'function') {
    throw invalidArg('retryBudget', 'must have tryRetry() and retryEnded() methods (a RetryBudget)', value);
  }
  return g as RetryGate;
}

/**
 * @internal
 * One dial's standing with its retry gates: at most one retry of a dial is under way at once, admitted by
 * {@link RetryAdmission.admit} and given back by {@link RetryAdmission.end} when its attempt ends (or the dial does).
 */
export class RetryAdmission {
  readonly #budget: RetryGate | undefined;
  readonly #breaker: RetryGate | undefined;
  #held = false;

  constructor(budget: RetryGate | undefined, breaker: RetryGate | undefined) {
    this.#budget = budget;
    this.#breaker = breaker;
  }

  /** Asks the budget, then the breaker; `undefined` when both admit the retry, else which refused. */
  admit(): RetryRefusal | undefined {
    const budget = this.#budget;
    if (budget !== undefined && !budget.tryRetry()) return 'retry-budget';
    const breaker = this.#breaker;
    if (breaker !== undefined && !breaker.tryRetry()) {
      budget?.retryEnded();
      return 'max-retries';
    }
    this.#held = budget !== undefined || breaker !== undefined;
    return undefined;
  }

  /** The retry under way, if any, is over. Idempotent. */
  end(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#budget?.retryEnded();
    this.#breaker?.retryEnded();
  }
}

/** @internal The end of a failed dial's message when a gate refused its retry. */
export function refusalText(refusal: RetryRefusal | undefined): string {
  if (refusal === undefined) return '';
  return refusal === 'retry-budget' ? '; the retry budget refused a retry' : "; the circuit breaker's maxRetries refused a retry";
}
