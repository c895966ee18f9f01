/** Plain-object builders for CDS/EDS resources (snake_case, enums by name), as a control plane would send them. */

export interface TestEndpoint {
  readonly host?: string;
  readonly port: number;
  readonly weight?: number;
  readonly health?: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';
}

export interface TestLocality {
  readonly zone?: string;
  readonly weight?: number;
  readonly priority?: number;
  readonly endpoints: readonly TestEndpoint[];
}

export function assignment(name: string, localities: readonly TestLocality[]): Record<string, unknown> {
  return {
    cluster_name: name,
    endpoints: localities.map((l) => ({
      locality: { region: 'test', zone: l.zone ?? 'a', sub_zone: '' },
      ...(l.weight === undefined ? {} : { load_balancing_weight: { value: l.weight } }),
      priority: l.priority ?? 0,
      lb_endpoints: l.endpoints.map((e) => ({
        endpoint: { address: { socket_address: { address: e.host ?? '127.0.0.1', port_value: e.port } } },
        health_status: e.health ?? 'HEALTHY',
        ...(e.weight === undefined ? {} : { load_balancing_weight: { value: e.weight } }),
      })),
    })),
  };
}

export interface TestClusterOptions {
  readonly lbPolicy?: string;
  readonly serviceName?: string;
  readonly connectTimeoutMs?: number;
  readonly extra?: Record<string, unknown>;
}

export function edsCluster(name: string, o: TestClusterOptions = {}): Record<string, unknown> {
  const ms = o.connectTimeoutMs ?? 1000;
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} }, service_name: o.serviceName ?? name },
    lb_policy: o.lbPolicy ?? 'ROUND_ROBIN',
    connect_timeout: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
    ...o.extra,
  };
}

/** A bootstrap object pointing at `address` (gRPC's JSON format). */
export function bootstrapFor(address: string, nodeId = 'switchyard-test'): Record<string, unknown> {
  return {
    xds_servers: [{ server_uri: address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: nodeId, cluster: 'tests', locality: { zone: 'z1' }, metadata: { suite: 'xds' } },
  };
}

/** `n` endpoints on distinct loopback addresses that nothing dials in this test. */
export function manyEndpoints(n: number, offset = 0): TestEndpoint[] {
  return Array.from({ length: n }, (_, i) => ({ host: `127.1.${(i >> 8) & 255}.${i & 255}`, port: 10_000 + ((i + offset) >> 16), weight: 1 + (i % 5) }));
}
