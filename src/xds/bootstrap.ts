import fs from 'node:fs';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';

/** Where a node runs, as xDS describes it (`envoy.config.core.v3.Locality`). */
export interface XdsLocality {
  readonly region?: string;
  readonly zone?: string;
  readonly sub_zone?: string;
}

/** The identity switchyard presents to the control plane (`envoy.config.core.v3.Node`). */
export interface XdsNode {
  /** Unique id of this process or instance (gRPC and Envoy both require one). */
  readonly id: string;
  /** The service this instance belongs to (Envoy's `--service-cluster`). */
  readonly cluster?: string;
  /** Where this instance runs. */
  readonly locality?: XdsLocality;
  /** Free-form JSON the control plane may match on (Istio reads several keys here). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** One management server, as gRPC's bootstrap `xds_servers[]` entry gives it. */
export interface XdsServerConfig {
  /** gRPC target of the management server: `127.0.0.1:18000`, `dns:///xds.internal:443`, `unix:/run/xds.sock`. */
  readonly serverUri: string;
  /** Transport security: the first supported `channel_creds` type. */
  readonly channelCreds: 'insecure' | 'tls';
  /** `server_features` as listed (`ignore_resource_deletion`, `xds_v3`…). */
  readonly serverFeatures: readonly string[];
}

/** A parsed bootstrap: the management server and the node identity. */
export interface XdsBootstrap {
  readonly server: XdsServerConfig;
  readonly node: XdsNode;
}

/** Supported `channel_creds` types, in gRPC's spelling. `tls` uses the system's root certificates. */
const CHANNEL_CREDS = ['insecure', 'tls'] as const;

/**
 * Parses a bootstrap in the JSON format gRPC uses (`GRPC_XDS_BOOTSTRAP`), so switchyard can point at the
 * same control plane as a process's gRPC channels. Only the first `xds_servers` entry is used (gRPC does the
 * same without federation); `authorities`, `certificate_providers` and listener templates are ignored.
 *
 * @example
 * ```json
 * { "xds_servers": [{ "server_uri": "127.0.0.1:18000", "channel_creds": [{ "type": "insecure" }], "server_features": ["xds_v3"] }],
 *   "node": { "id": "api-7f9c", "cluster": "api", "locality": { "zone": "eu-west-1a" }, "metadata": { "team": "core" } } }
 * ```
 */
export function parseBootstrap(json: unknown, source = 'bootstrap'): XdsBootstrap {
  const o = v.plainObject(source, json);
  const servers = o['xds_servers'];
  if (!Array.isArray(servers) || servers.length === 0) {
    throw invalidArg(`${source}.xds_servers`, 'must be a non-empty array', servers);
  }
  const s = v.plainObject(`${source}.xds_servers[0]`, servers[0]);
  const serverUri = v.nonEmptyString(`${source}.xds_servers[0].server_uri`, s['server_uri']);
  const creds = s['channel_creds'];
  if (!Array.isArray(creds) || creds.length === 0) {
    throw invalidArg(`${source}.xds_servers[0].channel_creds`, 'must be a non-empty array', creds);
  }
  let channelCreds: XdsServerConfig['channelCreds'] | undefined;
  creds.forEach((c: unknown, i) => {
    const type = v.nonEmptyString(`${source}.xds_servers[0].channel_creds[${i}].type`, v.plainObject(`${source}.xds_servers[0].channel_creds[${i}]`, c)['type']);
    if (channelCreds === undefined && (CHANNEL_CREDS as readonly string[]).includes(type)) channelCreds = type as XdsServerConfig['channelCreds'];
  });
  if (channelCreds === undefined) {
    throw invalidArg(`${source}.xds_servers[0].channel_creds`, `must list a supported type (${CHANNEL_CREDS.join(', ')})`, creds.map((c: { type?: unknown }) => c.type).join(','));
  }
  const features = s['server_features'] ?? [];
  if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) {
    throw invalidArg(`${source}.xds_servers[0].server_features`, 'must be an array of strings', features);
  }
  return { server: { serverUri, channelCreds, serverFeatures: Object.freeze([...(features as string[])]) }, node: parseNode(o['node'], `${source}.node`) };
}

/** Validates a node identity (bootstrap `node`, or the `node` option of {@link XdsClient}). */
export function parseNode(value: unknown, field = 'node'): XdsNode {
  const n = v.plainObject(field, value);
  const id = v.nonEmptyString(`${field}.id`, n['id']);
  const node: { id: string; cluster?: string; locality?: XdsLocality; metadata?: Record<string, unknown> } = { id };
  if (n['cluster'] !== undefined) {
    if (typeof n['cluster'] !== 'string') throw invalidArg(`${field}.cluster`, 'must be a string', n['cluster']);
    node.cluster = n['cluster'];
  }
  if (n['locality'] !== undefined) {
    const l = v.plainObject(`${field}.locality`, n['locality']);
    const locality: { region?: string; zone?: string; sub_zone?: string } = {};
    for (const key of ['region', 'zone', 'sub_zone'] as const) {
      if (l[key] === undefined) continue;
      if (typeof l[key] !== 'string') throw invalidArg(`${field}.locality.${key}`, 'must be a string', l[key]);
      locality[key] = l[key];
    }
    node.locality = locality;
  }
  if (n['metadata'] !== undefined) node.metadata = { ...v.plainObject(`${field}.metadata`, n['metadata']) };
  return node;
}

/**
 * Reads the bootstrap the way gRPC does: the file named by `GRPC_XDS_BOOTSTRAP`, else the JSON text in
 * `GRPC_XDS_BOOTSTRAP_CONFIG`. Pass `path` to read a given file instead.
 */
export function loadBootstrap(options: { readonly path?: string; readonly env?: NodeJS.ProcessEnv } = {}): XdsBootstrap {
  const env = options.env ?? process.env;
  const file = options.path ?? env['GRPC_XDS_BOOTSTRAP'];
  let text: string;
  let source: string;
  if (file !== undefined && file !== '') {
    source = file;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (cause) {
      throw new LbError('ERR_LB_INVALID_ARG', `could not read the xDS bootstrap file ${JSON.stringify(file)}: ${(cause as Error).message}`, {
        cause,
        details: { field: 'bootstrap', received: file },
      });
    }
  } else if (env['GRPC_XDS_BOOTSTRAP_CONFIG'] !== undefined && env['GRPC_XDS_BOOTSTRAP_CONFIG'] !== '') {
    source = 'GRPC_XDS_BOOTSTRAP_CONFIG';
    text = env['GRPC_XDS_BOOTSTRAP_CONFIG'];
  } else {
    throw new LbError('ERR_LB_INVALID_ARG', 'no xDS bootstrap: set GRPC_XDS_BOOTSTRAP to a bootstrap file (or GRPC_XDS_BOOTSTRAP_CONFIG to its JSON), or pass one', {
      details: { field: 'bootstrap', received: undefined },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new LbError('ERR_LB_INVALID_ARG', `the xDS bootstrap ${source} is not valid JSON: ${(cause as Error).message}`, {
      cause,
      details: { field: 'bootstrap', received: source },
    });
  }
  return parseBootstrap(json, source === 'GRPC_XDS_BOOTSTRAP_CONFIG' ? source : 'bootstrap');
}

/** A JSON value as a `google.protobuf.Value` plain object (for `node.metadata`, a `Struct`). */
export function toProtoValue(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return { null_value: 'NULL_VALUE' };
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (Array.isArray(value)) return { list_value: { values: value.map(toProtoValue) } };
  if (typeof value === 'object') return { struct_value: toProtoStruct(value as Record<string, unknown>) };
  return { string_value: String(value) };
}

/** A JSON object as a `google.protobuf.Struct` plain object. */
export function toProtoStruct(o: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(o)) fields[k] = toProtoValue(value);
  return { fields };
}
