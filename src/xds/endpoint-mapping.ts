import type { DiscoveredServer } from '../discovery/follow-servers.js';
import type { XdsEndpoint, XdsEndpointSet, XdsHealthStatus, XdsLocalityEndpoints } from './eds.js';

/**
 * What the control plane says about a server beyond its address and weight, held apart from local health
 * checks and from the operator's admin state: `unhealthy` (EDS `UNHEALTHY`/`TIMEOUT`: never picked) or
 * `draining` (EDS `DRAINING`: no new connections, live ones stay).
 */
export type ControlPlaneHold = 'unhealthy' | 'draining';

/** Where a server came from: the EDS entry behind it, for stats and for a later `tags` core API. */
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

/** One EDS endpoint as a server entry for `followServers`, plus what the current core cannot hold yet. */
export interface MappedEndpoint {
  readonly server: DiscoveredServer & { readonly name: string };
  readonly hold: ControlPlaneHold | undefined;
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
 * - **Health**: `HEALTHY`/`UNKNOWN` → no hold; `UNHEALTHY`/`TIMEOUT` → hold `unhealthy`; `DRAINING` → hold
 *   `draining`; `DEGRADED` → a backup (used only when no active server is usable, as Envoy uses degraded hosts
 *   only when healthy ones are short).
 * - **Priority**: 0 → active; above 0 → backup, listed in priority order (give the pool `allBackups: true`,
 *   else only the first usable backup takes traffic).
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
      for (const e of l.endpoints) {
        const weight = weights[k++]!;
        const hold = holdOf(e.health);
        const mapped: MappedEndpoint = {
          server: { name: nameOf(e, l), host: e.host, port: e.port, weight, backup: priority > 0 || e.health === 'DEGRADED' },
          hold,
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

function holdOf(health: XdsHealthStatus): ControlPlaneHold | undefined {
  switch (health) {
    case 'UNHEALTHY':
    case 'TIMEOUT':
      return 'unhealthy';
    case 'DRAINING':
      return 'draining';
    default:
      return undefined;
  }
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
