import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { LbError } from '../errors.js';

/** The `.proto` files the ADS, CDS, EDS and LRS messages come from, relative to Envoy's API root. */
export const XDS_PROTO_FILES: readonly string[] = Object.freeze([
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/service/load_stats/v3/lrs.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
]);

/** Folders of `@grpc/grpc-js-xds` that hold Envoy's API and what it imports (xds, googleapis, validate). */
const GRPC_XDS_DIRS = ['deps/envoy-api', 'deps/xds', 'deps/googleapis', 'deps/protoc-gen-validate'] as const;

/** The message types switchyard's xDS code encodes and decodes. */
export interface XdsProtos {
  readonly root: protobuf.Root;
  readonly DiscoveryRequest: protobuf.Type;
  readonly DiscoveryResponse: protobuf.Type;
  readonly Cluster: protobuf.Type;
  readonly ClusterLoadAssignment: protobuf.Type;
  readonly LoadStatsRequest: protobuf.Type;
  readonly LoadStatsResponse: protobuf.Type;
  readonly WrrLocality: protobuf.Type;
  readonly LeastRequest: protobuf.Type;
  /** Enum value names by number: `Cluster.LbPolicy`, `Cluster.DiscoveryType`, `HealthStatus`. */
  readonly lbPolicyName: (n: number) => string;
  readonly discoveryTypeName: (n: number) => string;
  readonly healthStatusName: (n: number) => string;
}

/**
 * The folders searched for Envoy's `.proto` files: those of the `@grpc/grpc-js-xds` package (which ships
 * Envoy's API with its imports), plus protobufjs's own copy of `google/protobuf/descriptor.proto`.
 */
export function defaultProtoDirs(): string[] {
  const require = createRequire(import.meta.url);
  let base: string;
  try {
    base = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  } catch (cause) {
    throw new LbError(
      'ERR_LB_INVALID_STATE',
      'switchyard-lb/xds reads Envoy\'s .proto files from the @grpc/grpc-js-xds package: install it (npm i @grpc/grpc-js-xds) or pass protoDirs',
      { cause },
    );
  }
  return [...GRPC_XDS_DIRS.map((d) => path.join(base, d)), path.dirname(require.resolve('protobufjs/package.json'))];
}

/**
 * Loads the xDS message types from `.proto` files (synchronously: about 0.1 s, once per client).
 * `dirs` are searched in order for every import; `extraFiles` adds more (tests load LDS/RDS this way).
 */
export function loadXdsProtos(dirs: readonly string[] = defaultProtoDirs(), extraFiles: readonly string[] = []): XdsProtos {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;
  };
  try {
    root.loadSync([...XDS_PROTO_FILES, ...extraFiles], { keepCase: true });
    root.resolveAll();
  } catch (cause) {
    throw new LbError('ERR_LB_INVALID_STATE', `could not load Envoy's .proto files from ${dirs.join(', ')}: ${(cause as Error).message}`, {
      cause,
      details: { protoDirs: [...dirs] },
    });
  }
  const enumNames = (name: string): ((n: number) => string) => {
    const values = root.lookupEnum(name).valuesById;
    return (n) => values[n] ?? String(n);
  };
  return {
    root,
    DiscoveryRequest: root.lookupType('envoy.service.discovery.v3.DiscoveryRequest'),
    DiscoveryResponse: root.lookupType('envoy.service.discovery.v3.DiscoveryResponse'),
    Cluster: root.lookupType('envoy.config.cluster.v3.Cluster'),
    ClusterLoadAssignment: root.lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment'),
    LoadStatsRequest: root.lookupType('envoy.service.load_stats.v3.LoadStatsRequest'),
    LoadStatsResponse: root.lookupType('envoy.service.load_stats.v3.LoadStatsResponse'),
    WrrLocality: root.lookupType('envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality'),
    LeastRequest: root.lookupType('envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest'),
    lbPolicyName: enumNames('envoy.config.cluster.v3.Cluster.LbPolicy'),
    discoveryTypeName: enumNames('envoy.config.cluster.v3.Cluster.DiscoveryType'),
    healthStatusName: enumNames('envoy.config.core.v3.HealthStatus'),
  };
}

/** Encodes a message given as a plain object (snake_case field names, enums by name). */
export function encodeMessage(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}

/** A protobuf `int64`/`uint64` as decoded (a number or a Long) to a JS number. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (value !== null && typeof value === 'object' && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number.NaN;
}

/** A decoded `google.protobuf.Duration` in milliseconds (NaN when out of range). */
export function durationToMs(d: { readonly seconds?: unknown; readonly nanos?: number } | null | undefined): number | undefined {
  if (d === null || d === undefined) return undefined;
  const seconds = toNumber(d.seconds ?? 0);
  const nanos = d.nanos ?? 0;
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 315_576_000_000 || nanos < 0 || nanos > 999_999_999) return Number.NaN;
  return seconds * 1000 + nanos / 1e6;
}

/** A millisecond count as a `google.protobuf.Duration` plain object. */
export function msToDuration(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
