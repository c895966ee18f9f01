import type { CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import type { RetryBudgetOptions } from '../resilience/retry-budget.js';
import type { XdsCircuitBreakerThresholds } from './cds.js';

/** Envoy's thresholds when a cluster sets none (or leaves a field unset): 1024 connections, 1024 pending, 3 retries. */
export const ENVOY_CIRCUIT_BREAKER_DEFAULTS = Object.freeze({ maxConnections: 1024, maxPending: 1024, maxRetries: 3 });

/**
 * The `CircuitBreaker` limits a cluster's `circuit_breakers` asks for: its `DEFAULT`-priority thresholds
 * (`max_connections`, `max_pending_requests`, `max_retries`), Envoy's defaults for what is unset, and for a
 * cluster without `circuit_breakers` at all (Envoy applies them then too). `HIGH` thresholds and `max_requests`
 * have no counterpart: a TCP balancer has one priority and counts connections.
 */
export function circuitBreakerOptionsOf(thresholds: readonly XdsCircuitBreakerThresholds[]): Required<CircuitBreakerOptions> {
  const t = thresholds.find((x) => x.priority === 'DEFAULT');
  const d = ENVOY_CIRCUIT_BREAKER_DEFAULTS;
  return {
    maxConnections: t?.maxConnections ?? d.maxConnections,
    maxPending: t?.maxPendingRequests ?? d.maxPending,
    maxRetries: t?.maxRetries ?? d.maxRetries,
  };
}

/**
 * The `RetryBudget` options of the `DEFAULT` thresholds' `retry_budget` (`budget_percent`, `min_retry_concurrency`;
 * unset fields take the budget's defaults, Envoy's 20 % and 3), or `undefined` when the cluster has none: then
 * `max_retries` alone limits retries, as in Envoy.
 */
export function retryBudgetOptionsOf(thresholds: readonly XdsCircuitBreakerThresholds[]): RetryBudgetOptions | undefined {
  const b = thresholds.find((x) => x.priority === 'DEFAULT')?.retryBudget;
  if (b === undefined) return undefined;
  return {
    ...(b.budgetPercent === undefined ? {} : { budgetPercent: b.budgetPercent }),
    ...(b.minRetryConcurrency === undefined ? {} : { minRetryConcurrency: b.minRetryConcurrency }),
  };
}
