import type { DiscoveredServer } from '../discovery/follow-servers.js';
import type { TierOptions } from '../pool-events.js';
import { LOCALITY_TAG } from '../pool-tiers.js';
import type { HoldKind } from '../server.js';
import type { XdsEndpoint, XdsEndpointSet, XdsHealthStatus, XdsLocalityEndpoints } from './eds.js';

/**
 * The tags every server from xDS carries (`server.tags`, snapshots, `show stat` with `tags`, Prometheus
 * `server_info`): the EDS resource, and the locality as `region/zone/sub_zone` under `locality`, the tag the pool's
 * locality weights read (`PoolOptions.localityWeights`). The priority is the server's own `priority`.
 */
export const XDS_TAGS = Object.freeze({ cluster: 'xds.cluster', locality: LOCALITY_TAG } as const);

/** Where a server came from: the EDS entry behind it (its tags say the same in short). */
export interface XdsEndpointOrigin {
  /** The EDS resource (cluster or `service_name`). */
  readonly cluster: string;
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
  /** The locality as one tag: `region/zone/sub_zone`. */
  readonly locality: string;
  readonly priority: number;
  readonly health: XdsHealthStatus;
  /** The xDS `load_balancing_weight` of the endpoint (1 when unset) and of its locality (`undefined` when unset). */
  readonly endpointWeight: number;
  readonly localityWeight: number | undefined;
  /** `endpoint.hostname`, '' when unset. */
  readonly hostname: string;
}

/** One EDS endpoint as a server entry for `followServers` (tags and hold included), and where it came from. */
export interface MappedEndpoint {
  readonly server: DiscoveredServer & { readonly name: string };
  readonly origin: XdsEndpointOrigin;
}

/**
 * Whether a tier's traffic is first split among its localities by their `load_balancing_weight`: `on`, `off`, or
 * `auto` (when the cluster asks for it with `locality_weighted_lb_config`, or when any locality carries a weight, as
 * gRPC always weighs them). See {@link tierOptionsOf}.
 */
export type LocalityWeighting = 'auto' | 'on' | 'off';

/** Options of {@link mapEndpointSet}. */
export interface EndpointMappingOptions {
  /** Name of the server for an endpoint. @defaultValue `host:port` (`[v6]:port`) */
  readonly nameOf?: (endpoint: XdsEndpoint, locality: XdsLocalityEndpoints) => string;
}

/** HAProxy's largest weight: switchyard weights are integers 0–256. */
export const MAX_SERVER_WEIGHT = 256;

/**
 * Maps one EDS resource onto server entries. This is the one place where xDS endpoints meet the pool's vocabulary
 * (the pool-wide parts, locality weights and overprovisioning factor, are {@link tierOptionsOf}'s):
 *
 * - **Health**: `HEALTHY`/`UNKNOWN` → no hold; `UNHEALTHY`/`TIMEOUT` → hold `out` (never picked, but counted in its
 *   tier's share and usable by a tier in panic, as Envoy does); `DRAINING` → hold `drain` (no new connection, live
 *   ones stay, not counted); `DEGRADED` → a backup (used only when no tier has a usable server). The follower keeps
 *   holds with `pool.setHold()` under its holder name, beside the operator's admin state and the local checks.
 * - **Priority**: `priority` → `ServerOptions.priority`: the pool's priority tiers, traffic spilling from a tier to
 *   the next as its usable share drops (Envoy's overprovisioning factor). A priority change replaces the server.
 * - **Tags**: {@link XDS_TAGS} (the EDS resource, the locality), one frozen object per locality shared by its servers;
 *   they change in place (a locality change moves the server between the tier's localities).
 * - **Weight**: `load_balancing_weight` (1 when unset) as the server's weight, kept as it is when every weight of a
 *   priority fits 1–256, else scaled so the largest of the priority is 256, rounded, never below 1.
 * - **Name**: `host:port` by default, so a server keeps its object (counters, health, leases) while its
 *   address stays in the assignment, whatever its locality, weight or health do.
 */
export function mapEndpointSet(set: XdsEndpointSet, options: EndpointMappingOptions = {}): MappedEndpoint[] {
  const nameOf = options.nameOf ?? defaultName;
  const byPriority = new Map<number, XdsLocalityEndpoints[]>();
  for (const l of set.localities) {
    const list = byPriority.get(l.priority);
    if (list) list.push(l);
    else byPriority.set(l.priority, [l]);
  }
  const out: MappedEndpoint[] = [];
  const degraded: MappedEndpoint[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const localities = byPriority.get(priority)!;
    const weights = toServerWeights(endpointWeights(localities), true);
    let k = 0;
    for (const l of localities) {
      const locality = localityName(l);
      const tags = Object.freeze({ [XDS_TAGS.cluster]: set.clusterName, [XDS_TAGS.locality]: locality });
      for (const e of l.endpoints) {
        const weight = weights[k++]!;
        const hold = holdOf(e.health);
        const backup = e.health === 'DEGRADED';
        const p = backup ? 0 : priority;
        const name = nameOf(e, l);
        const mapped: MappedEndpoint = {
          server: hold === undefined
            ? { name, host: e.host, port: e.port, weight, backup, priority: p, tags }
            : { name, host: e.host, port: e.port, weight, backup, priority: p, tags, hold },
          origin: {
            cluster: set.clusterName, region: l.region, zone: l.zone, subZone: l.subZone, locality, priority,
            health: e.health, endpointWeight: e.weight ?? 1, localityWeight: l.weight, hostname: e.hostname,
          },
        };
        if (backup) degraded.push(mapped);
        else out.push(mapped);
      }
    }
  }
  // Degraded endpoints are backups: listed after every tier's endpoints.
  out.push(...degraded);
  return out;
}

/** A locality as one string, `region/zone/sub_zone`: the `locality` tag and the key of the locality weights. */
export function localityName(l: Pick<XdsLocalityEndpoints, 'region' | 'zone' | 'subZone'>): string {
  return `${l.region}/${l.zone}/${l.subZone}`;
}

/**
 * The pool's tier options an EDS resource asks for: `overprovisioningFactor` (`policy.overprovisioning_factor` ÷
 * 100, Envoy's 1.4 when unset) and, when localities are weighted (`weighting`, with `localityWeighted` the cluster's
 * `locality_weighted_lb_config`), `localityWeights` by locality name (`load_balancing_weight`, 0 for a locality
 * without one: it takes nothing, as gRPC ignores it), else `localityWeights: undefined`. Locality weights are the
 * pool's, by name: a locality listed at several priorities takes the weight of its first (highest) priority.
 */
export function tierOptionsOf(set: XdsEndpointSet, weighting: LocalityWeighting, localityWeighted: boolean): TierOptions {
  const overprovisioningFactor = set.overprovisioningFactor ?? ENVOY_OVERPROVISIONING_FACTOR;
  const weighted = weighting === 'on' || (weighting === 'auto' && (localityWeighted || set.localities.some((l) => l.weight !== undefined)));
  if (!weighted) return { overprovisioningFactor, localityWeights: undefined };
  const weights: Record<string, number> = {};
  for (const l of [...set.localities].sort((a, b) => a.priority - b.priority)) {
    const name = localityName(l);
    if (!Object.hasOwn(weights, name)) weights[name] = l.weight ?? 0;
  }
  return { overprovisioningFactor, localityWeights: weights };
}

/** Envoy's default `overprovisioning_factor`, 140 %. */
const ENVOY_OVERPROVISIONING_FACTOR = 1.4;

/** The hold the control plane's health puts on a server: `out` for UNHEALTHY/TIMEOUT, `drain` for DRAINING. */
export function holdOf(health: XdsHealthStatus): HoldKind | undefined {
  switch (health) {
    case 'UNHEALTHY':
    case 'TIMEOUT':
      return 'out';
    case 'DRAINING':
      return 'drain';
    default:
      return undefined;
  }
}

function endpointWeights(localities: readonly XdsLocalityEndpoints[]): number[] {
  const weights: number[] = [];
  for (const l of localities) for (const e of l.endpoints) weights.push(e.weight ?? 1);
  return weights;
}

/** Integer weights 0–256 in the proportions of `shares`; integers ≤ 256 are kept as they are when `keepSmall`. */
export function toServerWeights(shares: readonly number[], keepSmall: boolean): number[] {
  let max = 0;
  let small = keepSmall;
  for (const s of shares) {
    if (s > max) max = s;
    if (small && !(Number.isInteger(s) && s <= MAX_SERVER_WEIGHT)) small = false;
  }
  if (small) return [...shares];
  return shares.map((s) => (s > 0 ? Math.max(1, Math.round((s / max) * MAX_SERVER_WEIGHT)) : 0));
}

function defaultName(e: XdsEndpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
