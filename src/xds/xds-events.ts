import type { LbError } from '../errors.js';
import type { XdsCluster } from './cds.js';
import type { XdsEndpointSet } from './eds.js';

/** The resource kinds switchyard subscribes to: CDS clusters and EDS endpoint sets. */
export type XdsResourceKind = 'cluster' | 'endpoints';

/** Resource of each kind, validated. */
export interface XdsResources {
  cluster: XdsCluster;
  endpoints: XdsEndpointSet;
}

/** Type URLs of the v3 resources (`DiscoveryRequest.type_url`). */
export const XDS_TYPE_URLS = Object.freeze({
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const);

/** The ADS method: state of the world, v3. */
export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** State of the ADS stream, as `xds:connection` reports it. */
export type XdsConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** Details of an `xds:connection` event. */
export interface XdsConnectionDetail {
  /** Stream attempts so far (1 for the first). */
  readonly attempt: number;
  /** With `disconnected`: when the next attempt starts, ms. */
  readonly retryInMs?: number;
  /** With `disconnected`: why the stream ended. */
  readonly error?: LbError;
}

/** A resource accepted and applied. */
export interface XdsUpdate<K extends XdsResourceKind = XdsResourceKind> {
  readonly kind: K;
  readonly name: string;
  /** `version_info` of the response that carried it. */
  readonly version: string;
  readonly resource: XdsResources[K];
}

/** A response rejected in whole or in part: the resources named in `errors` keep their previous value. */
export interface XdsNack {
  readonly kind: XdsResourceKind;
  /** `version_info` of the rejected response. */
  readonly version: string;
  readonly nonce: string;
  /** One line per problem, naming the resource, the field and the value received. */
  readonly errors: readonly string[];
  /** The same as an `ERR_LB_INVALID_ARG` error. */
  readonly error: LbError;
}

/** Events of an {@link XdsClient}. */
export interface XdsClientEvents {
  'xds:connection': [state: XdsConnectionState, detail: XdsConnectionDetail];
  'xds:update': [update: XdsUpdate];
  'xds:nack': [nack: XdsNack];
  /** A subscribed cluster was left out of a CDS response (SotW: it was deleted). Watchers keep the last value. */
  'xds:removed': [kind: XdsResourceKind, name: string];
}
