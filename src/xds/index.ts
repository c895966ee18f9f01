/**
 * `switchyard-lb/xds`: servers, weights and health from an xDS control plane (CDS + EDS over ADS, v3,
 * state of the world). Needs the optional peer dependencies `@grpc/grpc-js`, `protobufjs` and
 * `@grpc/grpc-js-xds` (whose copy of Envoy's `.proto` files is read at run time).
 *
 * @packageDocumentation
 * @module switchyard-lb/xds
 */
export { XDS_BACKOFF_DEFAULTS } from './backoff.js';
export type { XdsBackoffOptions } from './backoff.js';
export { loadBootstrap, parseBootstrap } from './bootstrap.js';
export type { XdsBootstrap, XdsLocality, XdsNode, XdsServerConfig } from './bootstrap.js';
export type { XdsCircuitBreakerThresholds, XdsCluster, XdsOutlierDetection } from './cds.js';
export { FOLLOW_XDS_CLUSTER_DEFAULTS, XdsClusterFollower, followXdsCluster } from './cluster-follower.js';
export type { FollowXdsClusterOptions, XdsClusterFollowerEvents } from './cluster-follower.js';
export type { XdsEndpoint, XdsEndpointSet, XdsHealthStatus, XdsLocalityEndpoints } from './eds.js';
export { MAX_SERVER_WEIGHT, XDS_TAGS, holdOf, localityName, mapEndpointSet, tierOptionsOf } from './endpoint-mapping.js';
export { ENVOY_CIRCUIT_BREAKER_DEFAULTS, circuitBreakerOptionsOf, retryBudgetOptionsOf } from './breaker-mapping.js';
export { outlierOptionsOf } from './outlier-mapping.js';
export type { EndpointMappingOptions, LocalityWeighting, MappedEndpoint, XdsEndpointOrigin } from './endpoint-mapping.js';
export { LoadReporter } from './load-reporter.js';
export type { LoadReporterOptions } from './load-reporter.js';
export type { XdsProtos } from './protos.js';
export { XdsClient } from './xds-client.js';
export type { XdsClientOptions, XdsWatcher } from './xds-client.js';
export { XDS_TYPE_URLS } from './xds-events.js';
export type {
  XdsClientEvents, XdsConnectionDetail, XdsConnectionState, XdsNack, XdsResourceKind, XdsResources, XdsUpdate,
} from './xds-events.js';
export type { XdsConnectionMessage, XdsNackMessage, XdsUpdateMessage } from './xds-diagnostics.js';
