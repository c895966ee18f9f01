import { EventEmitter } from 'eventemitter3';
import { LbError, invalidArg } from '../errors.js';
import { type DiscoveredServer, type DiscoveredServerDefaults, type Discovery, type DiscoveryChange, followServers } from '../discovery/follow-servers.js';
import * as v from '../internal/validate.js';
import type { ConnectOutcome, OutcomeSink } from '../outcome.js';
import type { Pool, TierOptions } from '../pool.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { OutlierDetector } from '../resilience/outlier-detector.js';
import type { RequestResult } from '../resilience/outlier-options.js';
import type { Server } from '../server.js';
import type { XdsCluster, XdsOutlierDetection } from './cds.js';
import type { XdsEndpoint, XdsEndpointSet, XdsLocalityEndpoints } from './eds.js';
import { type LocalityWeighting, type MappedEndpoint, type XdsEndpointOrigin, mapEndpointSet, tierOptionsOf } from './endpoint-mapping.js';
import { ENVOY_CIRCUIT_BREAKER_DEFAULTS, circuitBreakerOptionsOf } from './breaker-mapping.js';
import { outlierOptionsOf } from './outlier-mapping.js';
import type { XdsClient } from './xds-client.js';

/** Options of {@link followXdsCluster}. */
export interface FollowXdsClusterOptions {
  /** Options every server gets unless the endpoint sets them (`check`, `rise`, `maxconn`…): HAProxy's `default-server`. @defaultValue {} */
  readonly defaults?: DiscoveredServerDefaults;
  /** Name of the server for an endpoint. @defaultValue `host:port` (`[v6]:port`) */
  readonly nameOf?: (endpoint: XdsEndpoint, locality: XdsLocalityEndpoints) => string;
  /**
   * Whether localities are weighted (the pool's `localityWeights`, see `tierOptionsOf`): `auto` weighs them when
   * the cluster asks for it (`locality_weighted_lb_config`) or when any locality carries a weight, as gRPC does.
   * @defaultValue 'auto'
   */
  readonly localityWeighting?: LocalityWeighting;
  /**
   * Whether to run the `OutlierDetector` a cluster's `outlier_detection` asks for (see
   * {@link XdsClusterFollower.outlierDetector}); `false` leaves outlier detection to you. @defaultValue true
   */
  readonly outlierDetection?: boolean;
  /**
   * Whether an EDS resource with no endpoint empties the pool. By default the pool keeps its servers and
   * `discovery:error` fires, as with every discovery source. @defaultValue false
   */
  readonly allowEmpty?: boolean;
  /** Whether servers already in the pool are managed (removed when EDS leaves them out). @defaultValue true */
  readonly adoptExisting?: boolean;
  /**
   * The holder name of the control plane's holds on the servers (`pool.setHold()`): `out` for UNHEALTHY/TIMEOUT,
   * `drain` for DRAINING. @defaultValue 'xds'
   */
  readonly holder?: string;
  /** Stops following, like {@link XdsClusterFollower.close}. */
  readonly signal?: AbortSignal;
}

/** Events of an {@link XdsClusterFollower}. */
export interface XdsClusterFollowerEvents {
  /** The CDS resource was accepted: the strategy, connect timeout, outlier detection and circuit breakers to use. */
  'xds:cluster': [cluster: XdsCluster, previous: XdsCluster | undefined];
  /** The cluster's `outlier_detection` changed: the detector now running (`undefined`: none), the one closed. */
  'xds:outlier': [detector: OutlierDetector | undefined, previous: OutlierDetector | undefined];
  /** An endpoint set was applied to the pool, holds included. */
  'xds:endpoints': [change: DiscoveryChange, endpoints: readonly MappedEndpoint[]];
  /** The cluster was left out of a CDS response; the pool keeps its servers. */
  'xds:removed': [];
  /** An endpoint set could not be applied (an empty one without `allowEmpty`, a `nameOf` clash); the pool keeps its servers. */
  'discovery:error': [error: unknown, retryInMs: number | undefined];
}

/** Default values of {@link FollowXdsClusterOptions}. */
export const FOLLOW_XDS_CLUSTER_DEFAULTS = Object.freeze({
  localityWeighting: 'auto' as LocalityWeighting, outlierDetection: true, allowEmpty: false, adoptExisting: true, holder: 'xds',
});

/** Envoy's `healthy_panic_threshold` when a cluster does not set it, in %. */
export const ENVOY_PANIC_THRESHOLD_PERCENT = 50;

const OPTION_KEYS = ['defaults', 'nameOf', 'localityWeighting', 'outlierDetection', 'allowEmpty', 'adoptExisting', 'holder', 'signal'] as const;

interface Mapped {
  readonly list: readonly DiscoveredServer[];
  readonly endpoints: readonly MappedEndpoint[];
  /** The pool's tier options the set asks for, applied with it. */
  readonly tiers: TierOptions;
}

/**
 * Keeps a {@link Pool} in step with one xDS cluster: subscribes to its CDS resource, then to the EDS resource
 * it names, and applies every endpoint set through `followServers` (servers matched by name, leases and live
 * sessions kept, one pool batch per set). The control plane's health becomes a hold under `holder`
 * (`pool.setHold()`): a server is usable only when the control plane, the local checks and the operator's admin
 * state all allow it, and an operator's own `drain`/`maint` is never undone. Servers carry {@link XDS_TAGS}.
 * EDS priorities are the pool's priority tiers; locality weights, the overprovisioning factor and the cluster's
 * panic threshold are its tier options (`pool.updateTiers()`); the cluster's `outlier_detection` runs an
 * `OutlierDetector` on the pool, fed through the follower (an `OutcomeSink`). See docs/discovery.md.
 *
 * @example
 * ```ts
 * const xds = new XdsClient()                                   // GRPC_XDS_BOOTSTRAP
 * const pool = new Pool('redis', { allBackups: true })
 * const follower = followXdsCluster(pool, xds, 'redis', { defaults: { check: true } })
 * await follower.ready                                         // CDS and the first EDS are in
 * const cluster = follower.cluster!
 * const balancer = new Balancer(pool, { strategy: cluster.strategy })
 * const socket = await balancer.connect({ timeoutConnectMs: cluster.connectTimeoutMs })
 * ```
 */
export function followXdsCluster(pool: Pool, client: XdsClient, clusterName: string, options: FollowXdsClusterOptions = {}): XdsClusterFollower {
  return new XdsClusterFollower(pool, client, clusterName, options);
}

/** A running {@link followXdsCluster}. */
export class XdsClusterFollower extends EventEmitter<XdsClusterFollowerEvents> implements OutcomeSink {
  readonly pool: Pool;
  readonly clusterName: string;
  /** The `followServers` handle applying the endpoint sets. */
  readonly discovery: Discovery;
  /** Resolves when the first endpoint set is in the pool; rejects with `ERR_LB_CLOSED` if closed before. */
  readonly ready: Promise<void>;
  /**
   * The cluster's circuit breaker (its `DEFAULT` thresholds, `circuitBreakerOptionsOf`: Envoy's 1024 connections,
   * 1024 pending and 3 retries until the cluster says otherwise, as Envoy applies them), updated in place on every
   * CDS update. Give it to the balancer: `new Balancer(pool, { circuitBreaker: follower.circuitBreaker })`.
   */
  readonly circuitBreaker = new CircuitBreaker(ENVOY_CIRCUIT_BREAKER_DEFAULTS);

  readonly #client: XdsClient;
  readonly #mailbox = new Latest<Mapped>();
  readonly #nameOf: FollowXdsClusterOptions['nameOf'];
  readonly #weighting: LocalityWeighting;
  readonly #runDetector: boolean;
  #detector: OutlierDetector | undefined;
  #detectorConfig: XdsOutlierDetection | undefined;
  /** Origins by server name, built on first use after each update. */
  #origins: Map<string, XdsEndpointOrigin> | undefined;
  #lastApplied: readonly MappedEndpoint[] = [];
  readonly #stopCluster: () => void;
  #stopEndpoints: (() => void) | undefined;
  #edsName: string | undefined;
  #cluster: XdsCluster | undefined;
  #yielded: Mapped | undefined;
  #settleReady: ((error?: LbError) => void) | undefined;
  #closed = false;
  readonly #onRemoved = (kind: string, name: string): void => {
    if (kind === 'cluster' && name === this.clusterName) this.emit('xds:removed');
  };

  /** @internal Use {@link followXdsCluster}. */
  constructor(pool: Pool, client: XdsClient, clusterName: string, options: FollowXdsClusterOptions = {}) {
    super();
    const o = v.plainObject('xds follow options', options);
    v.knownKeys('xds follow options', o, OPTION_KEYS);
    this.pool = pool;
    this.clusterName = v.nonEmptyString('cluster name', clusterName);
    this.#client = client;
    const nameOf = o['nameOf'];
    if (nameOf !== undefined && typeof nameOf !== 'function') throw invalidArg('nameOf', 'must be a function returning a server name', nameOf);
    this.#nameOf = nameOf as FollowXdsClusterOptions['nameOf'];
    this.#weighting = v.oneOf('localityWeighting', o['localityWeighting'] ?? FOLLOW_XDS_CLUSTER_DEFAULTS.localityWeighting, ['auto', 'on', 'off']);
    this.#runDetector = v.boolean('outlierDetection', o['outlierDetection'] ?? FOLLOW_XDS_CLUSTER_DEFAULTS.outlierDetection);
    this.ready = new Promise<void>((resolve, reject) => {
      this.#settleReady = (error) => (error ? reject(error) : resolve());
    });
    this.ready.catch(() => undefined);
    const discoveryOptions: Record<string, unknown> = {
      allowEmpty: v.boolean('allowEmpty', o['allowEmpty'] ?? FOLLOW_XDS_CLUSTER_DEFAULTS.allowEmpty),
      adoptExisting: v.boolean('adoptExisting', o['adoptExisting'] ?? FOLLOW_XDS_CLUSTER_DEFAULTS.adoptExisting),
      holder: v.nonEmptyString('holder', o['holder'] ?? FOLLOW_XDS_CLUSTER_DEFAULTS.holder),
    };
    if (o['defaults'] !== undefined) discoveryOptions['defaults'] = o['defaults'];
    if (o['signal'] !== undefined) discoveryOptions['signal'] = o['signal'];
    this.discovery = followServers(pool, { watch: (signal) => this.#mailbox.watch(signal, (m) => (this.#yielded = m)) }, discoveryOptions);
    this.discovery.on('discovery:update', (change) => this.#applied(change));
    this.discovery.on('discovery:error', (error, retryInMs) => this.emit('discovery:error', error, retryInMs));
    this.discovery.on('discovery:end', () => this.#stop());
    this.#stopCluster = client.watch('cluster', this.clusterName, (u) => this.#onCluster(u.resource));
    client.on('xds:removed', this.#onRemoved);
  }

  /** The last accepted CDS resource, `undefined` before the first. */
  get cluster(): XdsCluster | undefined {
    return this.#cluster;
  }

  /**
   * The `OutlierDetector` the cluster's `outlier_detection` runs on the pool (options from `outlierOptionsOf`),
   * `undefined` when the cluster has none (or with `outlierDetection: false`). Replaced when the control plane
   * changes it (`xds:outlier`); closed, its ejections lifted, when it goes or the follower closes. Feed it through
   * the follower, which stays the same: `observer: fanOutOutcomes(new PassiveObserver(pool), follower)`.
   */
  get outlierDetector(): OutlierDetector | undefined {
    return this.#detector;
  }

  /** Hands a connection outcome to the cluster's outlier detector, if one runs (an `OutcomeSink`). */
  reportOutcome(server: Server, outcome: ConnectOutcome): void {
    this.#detector?.reportOutcome(server, outcome);
  }

  /** Hands a request result the application saw to the cluster's outlier detector, if one runs. */
  reportResult(server: Server, result: RequestResult): void {
    this.#detector?.reportResult(server, result);
  }

  /** Where a server of the pool came from (locality, priority, xDS health and weights), if this follower added it. */
  origin(serverName: string): XdsEndpointOrigin | undefined {
    if (this.#origins === undefined) {
      this.#origins = new Map();
      for (const m of this.#lastApplied) this.#origins.set(m.server.name, m.origin);
    }
    return this.#origins.get(serverName);
  }

  /** Stops following: unsubscribes and stops the discovery. The pool keeps its servers. Idempotent. */
  close(): Promise<void> {
    this.#stop();
    return this.discovery.close();
  }

  /** Same as {@link XdsClusterFollower.close}. */
  destroy(): void {
    void this.close();
  }

  /** Same as {@link XdsClusterFollower.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopCluster();
    this.#stopEndpoints?.();
    this.#client.off('xds:removed', this.#onRemoved);
    this.#setDetector(undefined);
    this.#settleReady?.(new LbError('ERR_LB_CLOSED', `stopped following xDS cluster ${JSON.stringify(this.clusterName)} before its endpoints arrived`));
    this.#settleReady = undefined;
    if (!this.discovery.closed) void this.discovery.close();
  }

  #onCluster(cluster: XdsCluster): void {
    if (this.#closed) return;
    const previous = this.#cluster;
    this.#cluster = cluster;
    this.pool.updateTiers({ panicThresholdPercent: cluster.panicThresholdPercent ?? ENVOY_PANIC_THRESHOLD_PERCENT });
    this.circuitBreaker.update(circuitBreakerOptionsOf(cluster.circuitBreakers));
    this.#setDetector(this.#runDetector ? cluster.outlierDetection : undefined);
    this.emit('xds:cluster', cluster, previous);
    if (cluster.type === 'STATIC') {
      this.#watchEndpoints(undefined);
      if (cluster.loadAssignment) this.#feed(cluster.loadAssignment);
    } else {
      this.#watchEndpoints(cluster.edsServiceName);
    }
  }

  #watchEndpoints(name: string | undefined): void {
    if (name === this.#edsName) return;
    this.#stopEndpoints?.();
    this.#stopEndpoints = undefined;
    this.#edsName = name;
    if (name !== undefined) this.#stopEndpoints = this.#client.watch('endpoints', name, (u) => this.#feed(u.resource));
  }

  /** Runs the detector `config` asks for: the running one if its config is the same, else a new one (or none). */
  #setDetector(config: XdsOutlierDetection | undefined): void {
    if (config !== undefined && this.#detector !== undefined && sameConfig(config, this.#detectorConfig)) return;
    const previous = this.#detector;
    if (previous === undefined && config === undefined) return;
    previous?.destroy();
    this.#detectorConfig = config;
    this.#detector = config === undefined ? undefined : new OutlierDetector(this.pool, outlierOptionsOf(config));
    this.emit('xds:outlier', this.#detector, previous);
  }

  #feed(set: XdsEndpointSet): void {
    if (this.#closed) return;
    const endpoints = mapEndpointSet(set, this.#nameOf ? { nameOf: this.#nameOf } : {});
    const tiers = tierOptionsOf(set, this.#weighting, this.#cluster?.localityWeighted === true);
    this.#mailbox.set({ list: endpoints.map((m) => m.server), endpoints, tiers });
  }

  /** Runs right after followServers applied the list last yielded: the origins of that list. */
  #applied(change: DiscoveryChange): void {
    const mapped = this.#yielded;
    if (mapped === undefined) return;
    this.#lastApplied = mapped.endpoints;
    this.#origins = undefined;
    this.pool.updateTiers(mapped.tiers);
    this.emit('xds:endpoints', change, mapped.endpoints);
    this.#settleReady?.();
    this.#settleReady = undefined;
  }
}

function sameConfig(a: XdsOutlierDetection, b: XdsOutlierDetection | undefined): boolean {
  return b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** A mailbox holding the latest value: a reader that falls behind skips to the newest, never replays stale lists. */
class Latest<T> {
  #value: T | undefined;
  #version = 0;
  #wake: (() => void) | undefined;

  set(value: T): void {
    this.#value = value;
    this.#version++;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *watch(signal: AbortSignal, onYield: (value: T) => void): AsyncGenerator<readonly DiscoveredServer[]> {
    let seen = 0;
    while (!signal.aborted) {
      if (this.#version > seen) {
        seen = this.#version;
        const value = this.#value as T & Mapped;
        onYield(value);
        yield value.list;
        continue;
      }
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        this.#wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
