import type { DiscoveredServer } from '../discovery/follow-servers.js';
import type { HoldKind } from '../server.js';
import type { XdsEndpoint, XdsEndpointSet, XdsHealthStatus, XdsLocalityEndpoints } from './eds.js';

/**
 * The tags every server from xDS carries (`server.tags`, snapshots, `show stat` with `tags`, Prometheus
 * `server_info`): the EDS resource, the locality as `region/zone/sub_zone`, and the priority.
 */
export const XDS_TAGS = Object.freeze({ cluster: 'xds.cluster', locality: 'xds.locality', priority: 'xds.priority' } as const);

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

/** How locality weights combine with endpoint weights; see {@link mapEndpointSet}. */
export type LocalityWeighting = 'auto' | 'on' | 'off';

/** Options of {@link mapEndpointSet}. */
export interface EndpointMappingOptions {
  /** Name of the server for an endpoint. @defaultValue `host:port` (`[v6]:port`) */
  readonly nameOf?: (endpoint: XdsEndpoint, locality: XdsLocalityEndpoints) => string;
  /** @defaultValue 'auto' */
  readonly localityWeighting?: LocalityWeighting;
}

/** HAProxy's largest weight: switchyard weights are integers 0–256. */
export const MAX_SERVER_WEIGHT = 256;

/**
 * Maps one EDS resource onto server entries. This is the one place where xDS meets the pool's vocabulary:
 *
 * - **Health**: `HEALTHY`/`UNKNOWN` → no hold; `UNHEALTHY`/`TIMEOUT` → hold `out` (never picked); `DRAINING` →
 *   hold `drain` (no new connection, live ones stay); `DEGRADED` → a backup (used only when no active server is
 *   usable, as Envoy uses degraded hosts only when healthy ones are short). The follower keeps holds with
 *   `pool.setHold()` under its holder name, beside the operator's admin state and the local checks.
 * - **Priority**: 0 → active; above 0 → backup, listed in priority order (give the pool `allBackups: true`,
 *   else only the first usable backup takes traffic). Priorities 1, 2… collapse into one backup tier until the
 *   pool has priority tiers (`ServerOptions.priority`, issue 16): {@link backupOf} is the one place to change.
 * - **Tags**: {@link XDS_TAGS} (cluster, locality, priority), one frozen object per locality shared by its servers;
 *   they change in place.
 * - **Weight**: a server's share within its priority is what xDS asks for. With locality weighting (on, or
 *   `auto` and some locality has a weight, as gRPC always does), an endpoint's share is
 *   `localityWeight / Σ localityWeights × endpointWeight / Σ endpointWeights in its locality`, the sums taken
 *   over endpoints without a hold (a locality without a weight gets 0, as gRPC ignores it); without it, the
 *   endpoint weights alone (Envoy's default). Shares become integer weights 1–256: kept as they are when they
 *   already are integers ≤ 256 (no locality weighting), else scaled so the largest in the priority is 256,
 *   rounded, never below 1 for a non-zero share.
 * - **Name**: `host:port` by default, so a server keeps its object (counters, health, leases) while its
 *   address stays in the assignment, whatever its locality, weight or health do.
 */
export function mapEndpointSet(set: XdsEndpointSet, options: EndpointMappingOptions = {}): MappedEndpoint[] {
  const nameOf = options.nameOf ?? defaultName;
  const mode = options.localityWeighting ?? 'auto';
  const byPriority = new Map<number, XdsLocalityEndpoints[]>();
  for (const l of set.localities) {
    const list = byPriority.get(l.priority);
    if (list) list.push(l);
    else byPriority.set(l.priority, [l]);
  }
  const weighted = mode === 'on' || (mode === 'auto' && set.localities.some((l) => l.weight !== undefined));
  const out: MappedEndpoint[] = [];
  const degraded: MappedEndpoint[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const localities = byPriority.get(priority)!;
    const shares = weighted ? localityShares(localities) : flatShares(localities);
    const weights = toServerWeights(shares, !weighted);
    let k = 0;
    for (const l of localities) {
      const locality = `${l.region}/${l.zone}/${l.subZone}`;
      const tags = Object.freeze({ [XDS_TAGS.cluster]: set.clusterName, [XDS_TAGS.locality]: locality, [XDS_TAGS.priority]: String(priority) });
      for (const e of l.endpoints) {
        const weight = weights[k++]!;
        const hold = holdOf(e.health);
        const backup = backupOf(priority, e.health);
        const name = nameOf(e, l);
        const mapped: MappedEndpoint = {
          server: hold === undefined
            ? { name, host: e.host, port: e.port, weight, backup, tags }
            : { name, host: e.host, port: e.port, weight, backup, tags, hold },
          origin: {
            cluster: set.clusterName, region: l.region, zone: l.zone, subZone: l.subZone, locality, priority,
            health: e.health, endpointWeight: e.weight ?? 1, localityWeight: l.weight, hostname: e.hostname,
          },
        };
        if (e.health === 'DEGRADED' && priority === 0) degraded.push(mapped);
        else out.push(mapped);
      }
    }
  }
  // Degraded active endpoints go behind every priority-0 endpoint and before priority 1.
  if (degraded.length > 0) {
    const firstBackup = out.findIndex((m) => m.server.backup);
    out.splice(firstBackup < 0 ? out.length : firstBackup, 0, ...degraded);
  }
  return out;
}

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

/**
 * Whether an endpoint is a backup: every priority above 0 (one backup tier: the pool has no priority tiers yet;
 * issue 16 adds `ServerOptions.priority`, and then priorities map there), and DEGRADED endpoints.
 */
export function backupOf(priority: number, health: XdsHealthStatus): boolean {
  return priority > 0 || health === 'DEGRADED';
}

/** Whether an endpoint counts in weight sums: it may take traffic as far as the control plane says. */
function counts(e: XdsEndpoint): boolean {
  return e.health === 'HEALTHY' || e.health === 'UNKNOWN';
}

function flatShares(localities: readonly XdsLocalityEndpoints[]): number[] {
  const shares: number[] = [];
  for (const l of localities) for (const e of l.endpoints) shares.push(e.weight ?? 1);
  return shares;
}

function localityShares(localities: readonly XdsLocalityEndpoints[]): number[] {
  let localityTotal = 0;
  for (const l of localities) if (l.endpoints.some(counts)) localityTotal += l.weight ?? 0;
  const shares: number[] = [];
  for (const l of localities) {
    let endpointTotal = 0;
    for (const e of l.endpoints) if (counts(e)) endpointTotal += e.weight ?? 1;
    const lw = l.weight ?? 0;
    for (const e of l.endpoints) {
      const ew = e.weight ?? 1;
      // A held endpoint is weighted as if it counted, so it gets a sensible weight when it comes back.
      const denominator = counts(e) ? endpointTotal : endpointTotal + ew;
      const localityShare = localityTotal > 0 ? lw / localityTotal : lw > 0 ? 1 : 0;
      shares.push(denominator > 0 ? localityShare * (ew / denominator) : 0);
    }
  }
  return shares;
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
