/**
 * switchyard-lb/metrics: counters of pools, balancers and proxies as Prometheus text and as HAProxy's
 * `show stat` CSV.
 *
 * @packageDocumentation
 * @module switchyard-lb/metrics
 */
export { PROMETHEUS_CONTENT_TYPE, PROMETHEUS_DEFAULTS, toPrometheus } from './prometheus.js';
export type { PrometheusOptions } from './prometheus.js';
export { SHOW_STAT_FIELDS, showStatRecords, toShowStat } from './show-stat.js';
export type { ShowStatField, ShowStatOptions, ShowStatRecord } from './show-stat.js';
export type {
  CircuitBreakerTraffic, OutlierStatsSource, OutlierTraffic, RebalancerTraffic, RetryBudgetTraffic, PoolStatsSnapshot, ProxyServerTraffic, ProxyStatsSource, ProxyTraffic, ServerStatsSnapshot, StatsInput,
} from './stats-input.js';
