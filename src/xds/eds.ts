import net from 'node:net';
import type { XdsProtos } from './protos.js';

/** An endpoint's health as the control plane reports it (`envoy.config.core.v3.HealthStatus`). */
export type XdsHealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

/** One `lb_endpoints[]` entry of an EDS resource, validated. */
export interface XdsEndpoint {
  /** IPv4 or IPv6 address literal. */
  readonly host: string;
  /** TCP port, 1–65535. */
  readonly port: number;
  /** `endpoint.hostname` ('' when unset): informational, never dialled. */
  readonly hostname: string;
  /** `load_balancing_weight` (≥ 1), `undefined` when unset (counts as 1). */
  readonly weight: number | undefined;
  readonly health: XdsHealthStatus;
}

/** One `endpoints[]` entry (a locality at a priority) of an EDS resource, validated. */
export interface XdsLocalityEndpoints {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
  /** 0 is the highest priority. */
  readonly priority: number;
  /** Locality `load_balancing_weight` (≥ 1), `undefined` when unset. */
  readonly weight: number | undefined;
  readonly endpoints: readonly XdsEndpoint[];
}

/** A validated `ClusterLoadAssignment`: the endpoints of one cluster (EDS service name). */
export interface XdsEndpointSet {
  readonly clusterName: string;
  readonly localities: readonly XdsLocalityEndpoints[];
  /**
   * `policy.overprovisioning_factor` ÷ 100 (Envoy's 140 → 1.4), `undefined` when unset (Envoy's default 1.4 applies):
   * the pool's `overprovisioningFactor`.
   */
  readonly overprovisioningFactor: number | undefined;
}

/** The fields of a decoded `ClusterLoadAssignment` this module reads (protobufjs message, snake_case). */
interface WireAssignment {
  readonly cluster_name: string;
  readonly endpoints: readonly WireLocalityEndpoints[];
  readonly policy: { readonly overprovisioning_factor: { readonly value: number } | null } | null;
}
interface WireLocalityEndpoints {
  readonly locality: { readonly region: string; readonly zone: string; readonly sub_zone: string } | null;
  readonly lb_endpoints: readonly WireLbEndpoint[];
  readonly load_balancing_weight: { readonly value: number } | null;
  readonly priority: number;
  readonly leds_cluster_locality_config: unknown;
}
interface WireLbEndpoint {
  readonly endpoint: {
    readonly address: { readonly socket_address: WireSocketAddress | null } | null;
    readonly hostname: string;
  } | null;
  readonly endpoint_name: string;
  readonly health_status: number;
  readonly load_balancing_weight: { readonly value: number } | null;
}
interface WireSocketAddress {
  readonly protocol: number;
  readonly address: string;
  readonly port_value: number;
  readonly named_port: string;
  readonly port_specifier?: string;
}

const UINT32_MAX = 0xffff_ffff;
const MAX_PRIORITY = 128;
/** The largest `overprovisioning_factor` a pool takes (`overprovisioningFactor` ≤ 100). */
const MAX_OVERPROVISIONING = 10_000;
const HEALTH = new Set<string>(['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED']);

/**
 * Node's own IPv4 pattern (lib/internal/net.js), read with `test()`: `net.isIP()` runs `exec()`, which builds a
 * match array for every one of a 10 000-endpoint resource's addresses. Anything else is left to `net.isIP()`.
 */
const IPV4_SEGMENT = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const IPV4 = new RegExp(`^${IPV4_SEGMENT}(?:\\.${IPV4_SEGMENT}){3}$`);

function isIpLiteral(address: string): boolean {
  return IPV4.test(address) || net.isIP(address) !== 0;
}

/**
 * Validates a decoded `ClusterLoadAssignment` and returns it as an {@link XdsEndpointSet}, or the list of
 * problems (each names the field and the value received), which makes the resource NACKed. The rules are
 * Envoy's proto constraints and grpc-js-xds's checks: IP literal addresses with a numeric port, no address
 * twice, weights ≥ 1 and sums within uint32, one entry per locality and priority, priorities 0…N without gaps.
 */
export function validateAssignment(protos: XdsProtos, message: unknown, where = 'ClusterLoadAssignment'): { value?: XdsEndpointSet; errors: string[] } {
  const cla = message as WireAssignment;
  const errors: string[] = [];
  if (cla.cluster_name === '') errors.push(`${where}.cluster_name must not be empty`);
  const seenLocalities = new Set<string>();
  const seenAddresses = new Set<string>();
  const localityWeightSums = new Map<number, number>();
  const localities: XdsLocalityEndpoints[] = [];
  cla.endpoints.forEach((le, i) => {
    const at = `${where}.endpoints[${i}]`;
    const region = le.locality?.region ?? '';
    const zone = le.locality?.zone ?? '';
    const subZone = le.locality?.sub_zone ?? '';
    const priority = le.priority;
    if (priority > MAX_PRIORITY) errors.push(`${at}.priority must be at most ${MAX_PRIORITY}, got ${priority}`);
    const key = `${priority}\u0000${region}\u0000${zone}\u0000${subZone}`;
    if (seenLocalities.has(key)) errors.push(`${at}.locality ${JSON.stringify(`${region}/${zone}/${subZone}`)} appears twice at priority ${priority}`);
    seenLocalities.add(key);
    if (le.leds_cluster_locality_config) errors.push(`${at}.leds_cluster_locality_config is not supported (LEDS)`);
    const lw = le.load_balancing_weight?.value;
    if (lw !== undefined && lw < 1) errors.push(`${at}.load_balancing_weight must be at least 1, got ${lw}`);
    localityWeightSums.set(priority, (localityWeightSums.get(priority) ?? 0) + (lw ?? 0));
    const endpoints: XdsEndpoint[] = [];
    let endpointWeightSum = 0;
    // Field paths are built only for an error: a 10 000-endpoint resource is checked without 20 000 strings.
    const eat = (j: number): string => `${at}.lb_endpoints[${j}]`;
    const aat = (j: number): string => `${eat(j)}.endpoint.address.socket_address`;
    le.lb_endpoints.forEach((lb, j) => {
      const sa = lb.endpoint?.address?.socket_address;
      if (!sa) {
        errors.push(lb.endpoint_name !== '' ? `${eat(j)}.endpoint_name is not supported (named endpoints), got ${JSON.stringify(lb.endpoint_name)}` : `${eat(j)}.endpoint.address.socket_address is not set`);
        return;
      }
      let ok = true;
      if (!isIpLiteral(sa.address)) {
        errors.push(`${aat(j)}.address must be an IPv4 or IPv6 address, got ${JSON.stringify(sa.address)}`);
        ok = false;
      }
      // `port_specifier` (protobufjs's oneof getter) lists the message's keys on each read: it is read only when a
      // named port was decoded at all.
      if (sa.named_port !== '' || (Object.hasOwn(sa, 'named_port') && sa.port_specifier === 'named_port')) {
        errors.push(`${aat(j)}.named_port is not supported, got ${JSON.stringify(sa.named_port)}`);
        ok = false;
      } else if (sa.port_value < 1 || sa.port_value > 65535) {
        errors.push(`${aat(j)}.port_value must be from 1 to 65535, got ${sa.port_value}`);
        ok = false;
      }
      if (sa.protocol !== 0) {
        errors.push(`${aat(j)}.protocol must be TCP, got ${sa.protocol}`);
        ok = false;
      }
      const w = lb.load_balancing_weight?.value;
      if (w !== undefined && w < 1) {
        errors.push(`${eat(j)}.load_balancing_weight must be at least 1, got ${w}`);
        ok = false;
      }
      endpointWeightSum += w ?? 1;
      const health = protos.healthStatusName(lb.health_status);
      if (!HEALTH.has(health)) {
        errors.push(`${eat(j)}.health_status is unknown, got ${health}`);
        ok = false;
      }
      const address = `${sa.address}\u0000${sa.port_value}`;
      if (seenAddresses.has(address)) {
        errors.push(`${aat(j)} ${JSON.stringify(`${sa.address}:${sa.port_value}`)} is listed twice`);
        ok = false;
      }
      seenAddresses.add(address);
      if (ok) {
        endpoints.push({ host: sa.address, port: sa.port_value, hostname: lb.endpoint?.hostname ?? '', weight: w, health: health as XdsHealthStatus });
      }
    });
    if (endpointWeightSum > UINT32_MAX) errors.push(`${at}: the sum of lb_endpoints weights must fit in uint32, got ${endpointWeightSum}`);
    localities.push({ region, zone, subZone, priority, weight: lw, endpoints });
  });
  for (const [priority, sum] of localityWeightSums) {
    if (sum > UINT32_MAX) errors.push(`${where}: the sum of locality weights at priority ${priority} must fit in uint32, got ${sum}`);
    if (priority > 0 && !localityWeightSums.has(priority - 1)) errors.push(`${where}: endpoints have priority ${priority} but none has priority ${priority - 1}`);
  }
  const factor = cla.policy?.overprovisioning_factor?.value;
  if (factor !== undefined && !(factor >= 1 && factor <= MAX_OVERPROVISIONING)) {
    errors.push(`${where}.policy.overprovisioning_factor must be from 1 to ${MAX_OVERPROVISIONING}, got ${factor}`);
  }
  if (errors.length > 0) return { errors };
  return { value: { clusterName: cla.cluster_name, localities, overprovisioningFactor: factor === undefined ? undefined : factor / 100 }, errors };
}
