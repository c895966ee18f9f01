import type { StrategySpec } from '../strategies/index.js';
import { type XdsEndpointSet, validateAssignment } from './eds.js';
import { type XdsOutlierDetection, checkOutlierDetection } from './outlier-mapping.js';

export type { XdsOutlierDetection } from './outlier-mapping.js';
import { type XdsProtos, durationToMs } from './protos.js';

/**
 * One `circuit_breakers.thresholds[]` entry as plain values (unset fields absent: Envoy's default 1024, retries 3).
 * The follower's `circuitBreaker` takes the `DEFAULT` entry (`circuitBreakerOptionsOf`); its `retry_budget` gives
 * `RetryBudget` options (`retryBudgetOptionsOf`).
 */
export interface XdsCircuitBreakerThresholds {
  readonly priority: 'DEFAULT' | 'HIGH';
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
  readonly maxRetries?: number;
  readonly retryBudget?: { readonly budgetPercent?: number; readonly minRetryConcurrency?: number };
  readonly trackRemaining?: boolean;
}

/** A validated CDS `Cluster`, reduced to what a TCP balancer uses. */
export interface XdsCluster {
  readonly name: string;
  /** `EDS` (endpoints come from EDS) or `STATIC` (endpoints inline in `load_assignment`). */
  readonly type: 'EDS' | 'STATIC';
  /** The EDS resource to subscribe to: `eds_cluster_config.service_name`, or the cluster name. */
  readonly edsServiceName: string;
  /** A STATIC cluster's inline endpoints. */
  readonly loadAssignment: XdsEndpointSet | undefined;
  /** The policy as the control plane named it: `ROUND_ROBIN`, or an extension's type name. */
  readonly lbPolicy: string;
  /** The switchyard strategy matching {@link XdsCluster.lbPolicy}; pass it to `new Balancer(pool, { strategy })`. */
  readonly strategy: StrategySpec;
  /** `connect_timeout` in ms (Envoy's default 5 s when unset); pass it as `timeoutConnectMs`. */
  readonly connectTimeoutMs: number;
  /** `common_lb_config.locality_weighted_lb_config` is set: localities are weighted. */
  readonly localityWeighted: boolean;
  /**
   * `common_lb_config.healthy_panic_threshold` in % (0 turns panic off), `undefined` when unset: the follower then
   * uses Envoy's default, 50. The pool's `panicThresholdPercent`.
   */
  readonly panicThresholdPercent: number | undefined;
  readonly outlierDetection: XdsOutlierDetection | undefined;
  readonly circuitBreakers: readonly XdsCircuitBreakerThresholds[];
  /** `lrs_server` points at the management server itself: load reports are expected. */
  readonly loadReporting: boolean;
}

const POLICY_PREFIX = 'type.googleapis.com/envoy.extensions.load_balancing_policies.';
const ENVOY_DEFAULT_CONNECT_TIMEOUT_MS = 5000;

interface Wrapped<T> {
  readonly value: T;
}
interface WireCluster {
  readonly name: string;
  readonly cluster_discovery_type?: string;
  readonly type: number;
  readonly eds_cluster_config: { readonly eds_config: { readonly ads: unknown; readonly self: unknown } | null; readonly service_name: string } | null;
  readonly connect_timeout: { readonly seconds: unknown; readonly nanos: number } | null;
  readonly lb_policy: number;
  readonly load_assignment: unknown;
  readonly least_request_lb_config: { readonly choice_count: Wrapped<number> | null } | null;
  readonly common_lb_config: { readonly locality_weighted_lb_config: unknown; readonly healthy_panic_threshold: { readonly value: number } | null } | null;
  readonly load_balancing_policy: { readonly policies: readonly { readonly typed_extension_config: { readonly typed_config: { readonly type_url: string; readonly value: Uint8Array } | null } | null }[] } | null;
  readonly outlier_detection: Record<string, unknown> | null;
  readonly circuit_breakers: { readonly thresholds: readonly Record<string, unknown>[] } | null;
  readonly lrs_server: { readonly self: unknown } | null;
}

/**
 * Validates a decoded CDS `Cluster` and returns it as an {@link XdsCluster}, or the list of problems
 * (each names the field and the value) that make the resource NACKed: a discovery type other than EDS or
 * STATIC, an EDS config not pointing at ADS, an `lb_policy` with no matching strategy, out-of-range
 * durations and percentages.
 */
export function validateCluster(protos: XdsProtos, message: unknown): { value?: XdsCluster; errors: string[] } {
  const c = message as WireCluster;
  const at = `Cluster ${JSON.stringify(c.name)}`;
  const errors: string[] = [];
  if (c.name === '') errors.push('Cluster.name must not be empty');
  let type: XdsCluster['type'] = 'EDS';
  let edsServiceName = c.name;
  let loadAssignment: XdsEndpointSet | undefined;
  if (c.cluster_discovery_type === 'cluster_type') {
    errors.push(`${at}.cluster_type is not supported (aggregate and custom clusters)`);
  } else {
    const t = protos.discoveryTypeName(c.type);
    if (t === 'EDS') {
      if (!c.eds_cluster_config) errors.push(`${at}.eds_cluster_config must be set for type EDS`);
      else {
        if (!c.eds_cluster_config.eds_config?.ads && !c.eds_cluster_config.eds_config?.self) {
          errors.push(`${at}.eds_cluster_config.eds_config must be ads or self (endpoints over the same ADS stream)`);
        }
        if (c.eds_cluster_config.service_name !== '') edsServiceName = c.eds_cluster_config.service_name;
      }
    } else if (t === 'STATIC') {
      type = 'STATIC';
      if (!c.load_assignment) errors.push(`${at}.load_assignment must be set for type STATIC`);
      else {
        const r = validateAssignment(protos, c.load_assignment, `${at}.load_assignment`);
        errors.push(...r.errors);
        loadAssignment = r.value;
      }
    } else {
      errors.push(`${at}.type must be EDS or STATIC, got ${t}`);
    }
  }
  const connectTimeoutMs = durationToMs(c.connect_timeout) ?? ENVOY_DEFAULT_CONNECT_TIMEOUT_MS;
  if (!(connectTimeoutMs > 0)) errors.push(`${at}.connect_timeout must be a positive duration, got ${JSON.stringify(c.connect_timeout)}`);
  const policy = strategyOf(protos, c, at, errors);
  const outlierDetection = c.outlier_detection ? outlierOf(c.outlier_detection, `${at}.outlier_detection`, errors) : undefined;
  if (outlierDetection !== undefined && errors.length === 0) checkOutlierDetection(outlierDetection, `${at}.outlier_detection`, errors);
  const circuitBreakers = (c.circuit_breakers?.thresholds ?? []).map((t, i) => thresholdsOf(t, `${at}.circuit_breakers.thresholds[${i}]`, errors));
  const panic = c.common_lb_config?.healthy_panic_threshold?.value;
  if (panic !== undefined && !(panic >= 0 && panic <= 100)) errors.push(`${at}.common_lb_config.healthy_panic_threshold must be from 0 to 100, got ${panic}`);
  if (errors.length > 0 || policy === undefined) return { errors };
  return {
    value: {
      name: c.name,
      type,
      edsServiceName,
      loadAssignment,
      lbPolicy: policy.name,
      strategy: policy.strategy,
      connectTimeoutMs,
      localityWeighted: Boolean(c.common_lb_config?.locality_weighted_lb_config),
      panicThresholdPercent: panic,
      outlierDetection,
      circuitBreakers,
      loadReporting: Boolean(c.lrs_server?.self),
    },
    errors,
  };
}

/**
 * The one table from Envoy's LB policies to switchyard's strategies. `load_balancing_policy` wins over
 * `lb_policy` when set (as in Envoy and gRPC); its first policy switchyard knows is used.
 */
function strategyOf(protos: XdsProtos, c: WireCluster, at: string, errors: string[]): { name: string; strategy: StrategySpec } | undefined {
  const policies = c.load_balancing_policy?.policies ?? [];
  if (policies.length > 0) {
    const names: string[] = [];
    for (const p of policies) {
      const typed = p.typed_extension_config?.typed_config;
      if (!typed) continue;
      names.push(typed.type_url);
      const found = extensionStrategy(protos, typed.type_url, typed.value, 0);
      if (found !== undefined) return found;
    }
    errors.push(`${at}.load_balancing_policy has no policy switchyard supports, got ${JSON.stringify(names)}`);
    return undefined;
  }
  const name = protos.lbPolicyName(c.lb_policy);
  switch (name) {
    case 'ROUND_ROBIN':
      return { name, strategy: 'roundrobin' };
    case 'LEAST_REQUEST': {
      const choices = c.least_request_lb_config?.choice_count?.value ?? 2;
      if (choices < 2) {
        errors.push(`${at}.least_request_lb_config.choice_count must be at least 2, got ${choices}`);
        return undefined;
      }
      return { name, strategy: leastRequest(choices) };
    }
    case 'RING_HASH':
    case 'MAGLEV':
      return { name, strategy: { name: 'source', hashType: 'consistent' } };
    case 'RANDOM':
      return { name, strategy: { name: 'random', draws: 1 } };
    default:
      errors.push(`${at}.lb_policy has no matching switchyard strategy (supported: ROUND_ROBIN, LEAST_REQUEST, RING_HASH, MAGLEV, RANDOM), got ${name}`);
      return undefined;
  }
}

function leastRequest(choices: number): StrategySpec {
  return choices === 2 ? 'p2c' : { name: 'random', draws: Math.min(choices, 100) };
}

function extensionStrategy(protos: XdsProtos, typeUrl: string, value: Uint8Array, depth: number): { name: string; strategy: StrategySpec } | undefined {
  if (!typeUrl.startsWith(POLICY_PREFIX) || depth > 4) return undefined;
  const name = typeUrl.slice('type.googleapis.com/'.length);
  switch (typeUrl.slice(POLICY_PREFIX.length)) {
    case 'round_robin.v3.RoundRobin':
      return { name, strategy: 'roundrobin' };
    case 'least_request.v3.LeastRequest': {
      const m = protos.LeastRequest.decode(value) as unknown as { choice_count: Wrapped<number> | null };
      return { name, strategy: leastRequest(Math.max(2, m.choice_count?.value ?? 2)) };
    }
    case 'ring_hash.v3.RingHash':
    case 'maglev.v3.Maglev':
      return { name, strategy: { name: 'source', hashType: 'consistent' } };
    case 'random.v3.Random':
      return { name, strategy: { name: 'random', draws: 1 } };
    case 'wrr_locality.v3.WrrLocality': {
      // Locality weighting is what the EDS mapping does anyway; the endpoint-picking child decides the strategy.
      const m = protos.WrrLocality.decode(value) as unknown as { endpoint_picking_policy: WireCluster['load_balancing_policy'] };
      for (const p of m.endpoint_picking_policy?.policies ?? []) {
        const typed = p.typed_extension_config?.typed_config;
        const found = typed ? extensionStrategy(protos, typed.type_url, typed.value, depth + 1) : undefined;
        if (found !== undefined) return { name, strategy: found.strategy };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

const OUTLIER_NUMBERS: readonly (readonly [string, keyof XdsOutlierDetection, number?])[] = [
  ['consecutive_5xx', 'consecutive5xx'],
  ['max_ejection_percent', 'maxEjectionPercent', 100],
  ['enforcing_consecutive_5xx', 'enforcingConsecutive5xx', 100],
  ['enforcing_success_rate', 'enforcingSuccessRate', 100],
  ['success_rate_minimum_hosts', 'successRateMinimumHosts'],
  ['success_rate_request_volume', 'successRateRequestVolume'],
  ['success_rate_stdev_factor', 'successRateStdevFactor'],
  ['consecutive_gateway_failure', 'consecutiveGatewayFailure'],
  ['enforcing_consecutive_gateway_failure', 'enforcingConsecutiveGatewayFailure', 100],
  ['consecutive_local_origin_failure', 'consecutiveLocalOriginFailure'],
  ['enforcing_consecutive_local_origin_failure', 'enforcingConsecutiveLocalOriginFailure', 100],
  ['enforcing_local_origin_success_rate', 'enforcingLocalOriginSuccessRate', 100],
  ['failure_percentage_threshold', 'failurePercentageThreshold', 100],
  ['enforcing_failure_percentage', 'enforcingFailurePercentage', 100],
  ['enforcing_failure_percentage_local_origin', 'enforcingFailurePercentageLocalOrigin', 100],
  ['failure_percentage_minimum_hosts', 'failurePercentageMinimumHosts'],
  ['failure_percentage_request_volume', 'failurePercentageRequestVolume'],
];
const OUTLIER_DURATIONS: readonly (readonly [string, keyof XdsOutlierDetection, boolean])[] = [
  ['interval', 'intervalMs', true],
  ['base_ejection_time', 'baseEjectionTimeMs', true],
  ['max_ejection_time', 'maxEjectionTimeMs', true],
  ['max_ejection_time_jitter', 'maxEjectionTimeJitterMs', false],
];
const OUTLIER_BOOLEANS: readonly (readonly [string, keyof XdsOutlierDetection])[] = [
  ['successful_active_health_check_uneject_host', 'successfulActiveHealthCheckUnejectHost'],
  ['always_eject_one_host', 'alwaysEjectOneHost'],
];

function outlierOf(o: Record<string, unknown>, at: string, errors: string[]): XdsOutlierDetection {
  const out: Record<string, number | boolean> = {};
  for (const [field, key, max] of OUTLIER_NUMBERS) {
    const w = o[field] as Wrapped<number> | null;
    if (!w) continue;
    if (max !== undefined && w.value > max) errors.push(`${at}.${field} must be at most ${max}, got ${w.value}`);
    out[key] = w.value;
  }
  for (const [field, key, positive] of OUTLIER_DURATIONS) {
    const ms = durationToMs(o[field] as { seconds: unknown; nanos: number } | null);
    if (ms === undefined) continue;
    if (Number.isNaN(ms) || (positive && ms <= 0)) errors.push(`${at}.${field} must be a ${positive ? 'positive' : 'non-negative'} duration, got ${JSON.stringify(o[field])}`);
    out[key] = ms;
  }
  for (const [field, key] of OUTLIER_BOOLEANS) {
    const w = o[field] as Wrapped<boolean> | null;
    if (w) out[key] = w.value;
  }
  if (o['split_external_local_origin_errors'] === true) out['splitExternalLocalOriginErrors'] = true;
  return out as XdsOutlierDetection;
}

function thresholdsOf(t: Record<string, unknown>, at: string, errors: string[]): XdsCircuitBreakerThresholds {
  const priority = t['priority'] === 1 ? 'HIGH' : 'DEFAULT';
  if (t['priority'] !== 0 && t['priority'] !== 1) errors.push(`${at}.priority must be DEFAULT or HIGH, got ${String(t['priority'])}`);
  const out: Record<string, unknown> = { priority };
  for (const [field, key] of [
    ['max_connections', 'maxConnections'],
    ['max_pending_requests', 'maxPendingRequests'],
    ['max_requests', 'maxRequests'],
    ['max_retries', 'maxRetries'],
  ] as const) {
    const w = t[field] as Wrapped<number> | null;
    if (w) out[key] = w.value;
  }
  const budget = t['retry_budget'] as { budget_percent: Wrapped<number> | null; min_retry_concurrency: Wrapped<number> | null } | null;
  if (budget) {
    const b: Record<string, number> = {};
    if (budget.budget_percent) {
      const p = budget.budget_percent.value;
      if (!(p >= 0 && p <= 100)) errors.push(`${at}.retry_budget.budget_percent must be from 0 to 100, got ${p}`);
      b['budgetPercent'] = p;
    }
    if (budget.min_retry_concurrency) b['minRetryConcurrency'] = budget.min_retry_concurrency.value;
    out['retryBudget'] = b;
  }
  if (t['track_remaining'] === true) out['trackRemaining'] = true;
  return out as unknown as XdsCircuitBreakerThresholds;
}
