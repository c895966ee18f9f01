import type { DiscoveredServer } from '../discovery/server-list-source.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';

/**
 * How registrations are written under a key prefix:
 * - `grpc`: etcd's gRPC naming format (go.etcd.io/etcd/client/v3/naming/endpoints): key `<service>/<addr>`,
 *   value `{"Op":0,"Addr":"host:port","Metadata":…}`, so Go services registered by the endpoints manager are found
 *   as they are;
 * - `json`: switchyard's plain format, `{"host","port","name"?,"weight"?,"backup"?,"maxconn"?,"tags"?,"drain"?}`;
 * - `auto` (reading only): `grpc` for a value with an `Addr`, `json` otherwise.
 */
export type EntryFormat = 'grpc' | 'json' | 'auto';

/** A registration in switchyard's plain JSON format. Unknown fields are ignored (other writers may add their own). */
export interface JsonServerEntry {
  readonly host: string;
  readonly port: number;
  /** Server name in the pool. @defaultValue `host:port` */
  readonly name?: string;
  /** Weight 0–256. @defaultValue 1 */
  readonly weight?: number;
  /** A backup server. @defaultValue false */
  readonly backup?: boolean;
  /** Most concurrent connections, 0 = unlimited. @defaultValue 0 */
  readonly maxconn?: number;
  /** Labels a reader can select on (`EtcdSource` option `tags`). @defaultValue [] */
  readonly tags?: readonly string[];
  /** Draining: kept in the pool (existing connections, checks) but given no new connections (weight 0). @defaultValue false */
  readonly drain?: boolean;
}

/** The gRPC naming value (`endpoints.Update` as JSON): `Op` 0 = add, 1 = delete. */
export interface GrpcEndpointValue {
  readonly Op: 0 | 1;
  readonly Addr: string;
  readonly Metadata?: unknown;
}

/** One registration read from etcd: the server to follow, and its tags. */
export interface ParsedEntry {
  readonly server: DiscoveredServer;
  readonly tags: readonly string[];
  readonly format: 'grpc' | 'json';
}

/**
 * Reads one registration value. Returns `undefined` for a gRPC `Op: 1` (delete) value; throws `ERR_LB_INVALID_ARG`
 * naming the key and the field for anything malformed.
 */
export function parseServerEntry(key: string, value: string, format: EntryFormat = 'auto'): ParsedEntry | undefined {
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch {
    throw invalidArg(`value of ${key}`, 'must be JSON', value);
  }
  const o = v.plainObject(`value of ${key}`, data);
  const kind = format === 'auto' ? ('Addr' in o ? 'grpc' : 'json') : format;
  if (kind === 'grpc') {
    const op = o['Op'] ?? 0;
    if (op !== 0 && op !== 1) throw invalidArg(`${key}: Op`, 'must be 0 (add) or 1 (delete)', op);
    if (op === 1) return undefined;
    const { host, port } = parseAddr(`${key}: Addr`, o['Addr']);
    return { server: { host, port }, tags: [], format: 'grpc' };
  }
  const host = v.nonEmptyString(`${key}: host`, o['host']);
  const port = v.integerInRange(`${key}: port`, o['port'], 1, 65535);
  const name = o['name'] === undefined ? undefined : v.nonEmptyString(`${key}: name`, o['name']);
  const drain = v.boolean(`${key}: drain`, o['drain'] ?? false);
  const weight = drain ? 0 : o['weight'] === undefined ? undefined : v.integerInRange(`${key}: weight`, o['weight'], 0, 256);
  const backup = o['backup'] === undefined ? undefined : v.boolean(`${key}: backup`, o['backup']);
  const maxconn = o['maxconn'] === undefined ? undefined : v.nonNegativeInteger(`${key}: maxconn`, o['maxconn']);
  const tags = o['tags'] ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw invalidArg(`${key}: tags`, 'must be an array of strings', tags);
  const server: DiscoveredServer = {
    host,
    port,
    ...(name === undefined ? {} : { name }),
    ...(weight === undefined ? {} : { weight }),
    ...(backup === undefined ? {} : { backup }),
    ...(maxconn === undefined ? {} : { maxconn }),
  };
  return { server, tags: tags as string[], format: 'json' };
}

/** Writes a registration value in `format`. */
export function formatServerEntry(format: 'grpc' | 'json', entry: JsonServerEntry, metadata?: unknown): string {
  if (format === 'grpc') {
    const value: GrpcEndpointValue = { Op: 0, Addr: formatAddr(entry.host, entry.port), Metadata: metadata ?? null };
    return JSON.stringify(value);
  }
  return JSON.stringify(entry);
}

/** `host:port`, with an IPv6 address in brackets (the key suffix and the gRPC `Addr`). */
export function formatAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits `host:port` / `[v6]:port`. */
export function parseAddr(field: string, addr: unknown): { host: string; port: number } {
  const text = v.nonEmptyString(field, addr);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw invalidArg(field, "must be 'host:port' or '[v6]:port'", addr);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArg(field, 'must have a port 1–65535', addr);
  return { host: m[1]!, port };
}
