import { Client, type ClientDuplexStream, type ChannelOptions, Metadata, type StatusObject, credentials, status as grpcStatus } from '@grpc/grpc-js';
import { EventEmitter } from 'eventemitter3';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { type Backoff, type XdsBackoffOptions, backoffDelay, resolveBackoff } from './backoff.js';
import { type XdsBootstrap, type XdsNode, loadBootstrap, parseBootstrap, parseNode, toProtoStruct } from './bootstrap.js';
import { type XdsCluster, validateCluster } from './cds.js';
import { type XdsEndpointSet, validateAssignment } from './eds.js';
import { type XdsProtos, encodeMessage, loadXdsProtos } from './protos.js';
import { publishXdsConnection, publishXdsNack, publishXdsUpdate } from './xds-diagnostics.js';
import {
  ADS_METHOD, XDS_TYPE_URLS, type XdsClientEvents, type XdsConnectionDetail, type XdsConnectionState, type XdsResourceKind, type XdsUpdate,
} from './xds-events.js';

/** Options of {@link XdsClient}. */
export interface XdsClientOptions {
  /** The management server and node, as a parsed bootstrap, its JSON object, or a file path. @defaultValue read from `GRPC_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP_CONFIG` */
  readonly bootstrap?: XdsBootstrap | Record<string, unknown> | string;
  /** Node identity; replaces the bootstrap's `node`. */
  readonly node?: XdsNode;
  /** Reconnection delays. @defaultValue {@link XDS_BACKOFF_DEFAULTS} */
  readonly backoff?: XdsBackoffOptions;
  /** Source of time for reconnection delays. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Source of randomness for the backoff jitter, in [0, 1). @defaultValue Math.random */
  readonly random?: () => number;
  /** Folders holding Envoy's `.proto` files and their imports. @defaultValue those shipped in `@grpc/grpc-js-xds` */
  readonly protoDirs?: readonly string[];
  /** Options of the gRPC channel to the management server. @defaultValue {} */
  readonly channelOptions?: ChannelOptions;
}

const OPTION_KEYS = ['bootstrap', 'node', 'backoff', 'clock', 'random', 'protoDirs', 'channelOptions'] as const;
const KINDS: readonly XdsResourceKind[] = ['cluster', 'endpoints'];
const KIND_OF_URL = new Map<string, XdsResourceKind>(KINDS.map((k) => [XDS_TYPE_URLS[k], k]));
/** The gRPC status put in `error_detail` of a NACK (Envoy uses INTERNAL). */
const NACK_CODE = grpcStatus.INTERNAL;
const USER_AGENT = 'switchyard';

/** A function {@link XdsClient.watch} calls with every accepted change of one resource. */
export type XdsWatcher<K extends XdsResourceKind = XdsResourceKind> = (update: XdsUpdate<K>) => void;

interface Cached {
  readonly update: XdsUpdate;
  readonly bytes: Uint8Array;
}

/** What one ADS stream knows: per-type nonces and the NACK to repeat until the next good response. */
interface StreamState {
  readonly call: ClientDuplexStream<Record<string, unknown>, DecodedResponse>;
  readonly client: Client;
  readonly nonces: Map<XdsResourceKind, string>;
  readonly errors: Map<XdsResourceKind, string>;
  sentNode: boolean;
  gotResponse: boolean;
  ended: boolean;
}

interface DecodedResponse {
  readonly version_info: string;
  readonly resources: readonly { readonly type_url: string; readonly value: Uint8Array }[];
  readonly type_url: string;
  readonly nonce: string;
}

/**
 * An xDS client over one ADS stream (state of the world, v3) that subscribes to CDS clusters and EDS
 * endpoint sets by name, the way grpc-js-xds and Envoy do:
 *
 * - every response is answered on the same stream: an ACK (`version_info` = the new version,
 *   `response_nonce` = the response's nonce) or a NACK (`error_detail` naming each bad resource; the
 *   resources that failed keep their last good value; `version_info` moves on only if some resource in the
 *   response was valid, as gRPC does);
 * - the last good resources and the last accepted version per type survive disconnections: a new stream
 *   resubscribes to every name with those versions and an empty nonce, the node identity in its first request;
 * - a stream that ends is retried at once if it had received a response, else after an exponential backoff
 *   (1 s × 1.6ⁿ ± 20 %, at most 30 s) on the injected clock;
 * - a cluster missing from a CDS response is reported (`xds:removed`) but its watchers keep the last value:
 *   a control plane's mistake never empties a pool.
 *
 * @example
 * ```ts
 * const xds = new XdsClient({ bootstrap: '/etc/xds/bootstrap.json' })
 * xds.on('xds:nack', (nack) => log.warn(nack.errors))
 * const stop = xds.watch('endpoints', 'redis', (u) => console.log(u.resource.localities))
 * ```
 */
export class XdsClient extends EventEmitter<XdsClientEvents> {
  /** The bootstrap in use. */
  readonly bootstrap: XdsBootstrap;
  /** The node identity sent to the management server. */
  readonly node: XdsNode;
  /** The loaded message types. */
  readonly protos: XdsProtos;

  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #channelOptions: ChannelOptions;
  readonly #watchers = new Map<XdsResourceKind, Map<string, Set<XdsWatcher<XdsResourceKind>>>>();
  readonly #cache = new Map<XdsResourceKind, Map<string, Cached>>();
  /** Last accepted `version_info` per type; survives streams. */
  readonly #versions = new Map<XdsResourceKind, string>();
  #stream: StreamState | undefined;
  #timer: TimerHandle | undefined;
  #attempts = 0;
  #failures = 0;
  #closed = false;

  constructor(options: XdsClientOptions = {}) {
    super();
    const o = v.plainObject('xds client options', options);
    v.knownKeys('xds client options', o, OPTION_KEYS);
    const b = o['bootstrap'];
    this.bootstrap = b === undefined ? loadBootstrap() : typeof b === 'string' ? loadBootstrap({ path: b }) : isParsed(b) ? b : parseBootstrap(b);
    this.node = o['node'] === undefined ? this.bootstrap.node : parseNode(o['node']);
    this.#backoff = resolveBackoff(o['backoff']);
    this.#clock = (o['clock'] as Clock | undefined) ?? systemClock;
    const random = o['random'] ?? Math.random;
    if (typeof random !== 'function') throw invalidArg('random', 'must be a function returning a number in [0, 1)', random);
    this.#random = random as () => number;
    this.#channelOptions = { ...v.plainObject('channelOptions', o['channelOptions'] ?? {}) } as ChannelOptions;
    const dirs = o['protoDirs'];
    if (dirs !== undefined && (!Array.isArray(dirs) || dirs.some((d) => typeof d !== 'string'))) throw invalidArg('protoDirs', 'must be an array of folder paths', dirs);
    this.protos = dirs === undefined ? loadXdsProtos() : loadXdsProtos(dirs as string[]);
  }

  /** The management server's gRPC target. */
  get serverUri(): string {
    return this.bootstrap.server.serverUri;
  }

  /** True while the current stream has received a response from the management server. */
  get connected(): boolean {
    return this.#stream?.gotResponse === true && !this.#stream.ended;
  }

  /** The last accepted `version_info` of a type, if any. */
  version(kind: XdsResourceKind): string | undefined {
    return this.#versions.get(kind);
  }

  /** The last good value of a resource, if any. */
  current<K extends XdsResourceKind>(kind: K, name: string): XdsUpdate<K> | undefined {
    return this.#cache.get(kind)?.get(name)?.update as XdsUpdate<K> | undefined;
  }

  /**
   * Subscribes to a resource: `watcher` runs with every accepted change (and at once, on a later microtask,
   * with the last good value if there is one). Starts the stream on first use. Returns the function that
   * stops watching.
   */
  watch<K extends XdsResourceKind>(kind: K, name: string, watcher: XdsWatcher<K>): () => void {
    v.oneOf('kind', kind, KINDS);
    v.nonEmptyString('resource name', name);
    if (typeof watcher !== 'function') throw invalidArg('watcher', 'must be a function', watcher);
    if (this.#closed) throw new LbError('ERR_LB_CLOSED', 'the xDS client is closed');
    let byName = this.#watchers.get(kind);
    if (!byName) this.#watchers.set(kind, (byName = new Map()));
    let set = byName.get(name);
    const isNew = set === undefined;
    if (!set) byName.set(name, (set = new Set()));
    const w = watcher as XdsWatcher<XdsResourceKind>;
    set.add(w);
    const cached = this.current(kind, name);
    if (cached) queueMicrotask(() => {
      if (set.has(w)) this.#call(w, cached);
    });
    if (isNew) {
      if (this.#stream) this.#request(this.#stream, kind);
      else if (this.#timer === undefined) this.#connect();
    }
    return () => {
      if (!set.delete(w) || set.size > 0) return;
      byName.delete(name);
      if (this.#stream && !this.#closed) this.#request(this.#stream, kind);
    };
  }

  /** Stops the stream and every timer; watchers get nothing more. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream) {
      stream.ended = true;
      stream.call.cancel();
      stream.client.close();
    }
    this.#emitConnection('closed', { attempt: this.#attempts });
    return Promise.resolve();
  }

  /** Same as {@link XdsClient.close}. */
  destroy(): void {
    void this.close();
  }

  /** Same as {@link XdsClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** gRPC channel credentials for the management server (the load reporter uses them too). */
  channelCredentials(): ReturnType<typeof credentials.createInsecure> {
    return this.bootstrap.server.channelCreds === 'tls' ? credentials.createSsl() : credentials.createInsecure();
  }

  /** The node as a `envoy.config.core.v3.Node` plain object. */
  nodeMessage(): Record<string, unknown> {
    const n = this.node;
    const node: Record<string, unknown> = { id: n.id, user_agent_name: USER_AGENT, user_agent_version: '0', client_features: [] };
    if (n.cluster !== undefined) node['cluster'] = n.cluster;
    if (n.locality !== undefined) node['locality'] = { ...n.locality };
    if (n.metadata !== undefined) node['metadata'] = toProtoStruct(n.metadata);
    return node;
  }

  #connect(): void {
    this.#timer = undefined;
    if (this.#closed || this.#stream) return;
    this.#attempts++;
    const protos = this.protos;
    const client = new Client(this.serverUri, this.channelCredentials(), this.#channelOptions);
    const call = client.makeBidiStreamRequest(
      ADS_METHOD,
      (req: Record<string, unknown>) => Buffer.from(encodeMessage(protos.DiscoveryRequest, req)),
      (bytes: Buffer) => protos.DiscoveryResponse.decode(bytes) as unknown as DecodedResponse,
      new Metadata(),
    );
    const stream: StreamState = { call, client, nonces: new Map(), errors: new Map(), sentNode: false, gotResponse: false, ended: false };
    this.#stream = stream;
    this.#emitConnection('connecting', { attempt: this.#attempts });
    call.on('data', (response: DecodedResponse) => this.#onResponse(stream, response));
    call.on('status', (s: StatusObject) => this.#onEnd(stream, s));
    call.on('error', () => undefined);
    for (const kind of KINDS) if ((this.#watchers.get(kind)?.size ?? 0) > 0) this.#request(stream, kind);
  }

  #onEnd(stream: StreamState, s: StatusObject): void {
    if (stream.ended) return;
    stream.ended = true;
    stream.client.close();
    if (this.#stream === stream) this.#stream = undefined;
    if (this.#closed) return;
    if (stream.gotResponse) this.#failures = 0;
    else this.#failures++;
    const retryInMs = this.#failures === 0 ? 0 : backoffDelay(this.#backoff, this.#failures, this.#random);
    const error = new LbError('ERR_LB_CONNECT_FAILED', `the xDS stream to ${this.serverUri} ended: ${grpcStatus[s.code] ?? s.code} ${s.details}`, {
      details: { serverUri: this.serverUri, grpcCode: s.code, grpcDetails: s.details },
    });
    this.#emitConnection('disconnected', { attempt: this.#attempts, retryInMs, error });
    this.#timer = this.#clock.setTimeout(() => this.#connect(), retryInMs);
  }

  #onResponse(stream: StreamState, response: DecodedResponse): void {
    if (stream.ended) return;
    if (!stream.gotResponse) {
      stream.gotResponse = true;
      this.#failures = 0;
      this.#emitConnection('connected', { attempt: this.#attempts });
    }
    const kind = KIND_OF_URL.get(response.type_url);
    // A type never asked for cannot be ACKed meaningfully; grpc-js-xds ignores it too.
    if (kind === undefined) return;
    stream.nonces.set(kind, response.nonce);
    const subscribed = this.#watchers.get(kind) ?? new Map<string, unknown>();
    const cache = this.#cache.get(kind) ?? new Map<string, Cached>();
    this.#cache.set(kind, cache);
    const errors: string[] = [];
    const accepted: Cached[] = [];
    const seen = new Set<string>();
    let valid = 0;
    response.resources.forEach((any, i) => {
      const r = this.#decode(kind, any, i, response.version_info);
      if ('error' in r) {
        errors.push(r.error);
        if (r.name !== undefined) seen.add(r.name);
        return;
      }
      seen.add(r.cached.update.name);
      if (!subscribed.has(r.cached.update.name)) return;
      valid++;
      const old = cache.get(r.cached.update.name);
      if (old === undefined || !sameBytes(old.bytes, r.cached.bytes)) accepted.push(r.cached);
    });
    if (errors.length === 0 || valid > 0) this.#versions.set(kind, response.version_info);
    for (const c of accepted) cache.set(c.update.name, c);
    if (errors.length > 0) stream.errors.set(kind, errors.join('; '));
    else stream.errors.delete(kind);
    this.#request(stream, kind);
    if (errors.length > 0) this.#emitNack(kind, response, errors);
    for (const c of accepted) this.#notify(c.update);
    if (kind === 'cluster') {
      for (const name of subscribed.keys()) if (!seen.has(name) && cache.has(name)) this.emit('xds:removed', kind, name);
    }
  }

  #decode(kind: XdsResourceKind, any: { type_url: string; value: Uint8Array }, i: number, version: string): { cached: Cached } | { error: string; name?: string } {
    if (any.type_url !== XDS_TYPE_URLS[kind]) return { error: `resources[${i}] has type ${JSON.stringify(any.type_url)}, expected ${XDS_TYPE_URLS[kind]}` };
    let message: unknown;
    try {
      message = (kind === 'cluster' ? this.protos.Cluster : this.protos.ClusterLoadAssignment).decode(any.value);
    } catch (err) {
      return { error: `resources[${i}] could not be decoded: ${(err as Error).message}` };
    }
    const decodedName = kind === 'cluster' ? (message as { name: string }).name : (message as { cluster_name: string }).cluster_name;
    const result = kind === 'cluster' ? validateCluster(this.protos, message) : validateAssignment(this.protos, message, `ClusterLoadAssignment ${JSON.stringify(decodedName)}`);
    if (result.value === undefined) return { error: result.errors.join('; '), name: decodedName };
    const name = kind === 'cluster' ? (result.value as XdsCluster).name : (result.value as XdsEndpointSet).clusterName;
    return { cached: { update: { kind, name, version, resource: result.value }, bytes: any.value } };
  }

  #request(stream: StreamState, kind: XdsResourceKind): void {
    if (stream.ended) return;
    const names = [...(this.#watchers.get(kind)?.keys() ?? [])];
    // SotW: an empty name list asks CDS for every cluster (a wildcard); nothing is asked instead.
    if (names.length === 0 && kind === 'cluster') return;
    const request: Record<string, unknown> = {
      type_url: XDS_TYPE_URLS[kind],
      version_info: this.#versions.get(kind) ?? '',
      response_nonce: stream.nonces.get(kind) ?? '',
      resource_names: names,
    };
    const error = stream.errors.get(kind);
    if (error !== undefined) request['error_detail'] = { code: NACK_CODE, message: error };
    if (!stream.sentNode) {
      request['node'] = this.nodeMessage();
      stream.sentNode = true;
    }
    stream.call.write(request);
  }

  #notify(update: XdsUpdate): void {
    publishXdsUpdate(() => ({ serverUri: this.serverUri, kind: update.kind, name: update.name, version: update.version }));
    for (const w of [...(this.#watchers.get(update.kind)?.get(update.name) ?? [])]) this.#call(w, update);
    this.emit('xds:update', update);
  }

  #call(w: XdsWatcher<XdsResourceKind>, update: XdsUpdate): void {
    try {
      w(update);
    } catch {
      // A watcher's bug must not stop the stream; the follower reports its own failures.
    }
  }

  #emitNack(kind: XdsResourceKind, response: DecodedResponse, errors: readonly string[]): void {
    const error = new LbError('ERR_LB_INVALID_ARG', `xDS ${kind} response version ${JSON.stringify(response.version_info)} rejected: ${errors.join('; ')}`, {
      details: { field: kind, received: response.version_info, nonce: response.nonce, errors },
    });
    publishXdsNack(() => ({ serverUri: this.serverUri, kind, version: response.version_info, nonce: response.nonce, errors }));
    this.emit('xds:nack', { kind, version: response.version_info, nonce: response.nonce, errors, error });
  }

  #emitConnection(state: XdsConnectionState, detail: XdsConnectionDetail): void {
    publishXdsConnection(() => ({ serverUri: this.serverUri, state, attempt: detail.attempt, retryInMs: detail.retryInMs, error: detail.error }));
    this.emit('xds:connection', state, detail);
  }
}

/** Byte equality of two resources, compared in place (`Buffer.from(uint8Array)` would copy each). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function isParsed(b: unknown): b is XdsBootstrap {
  return typeof b === 'object' && b !== null && 'server' in b && 'node' in b && typeof (b as { server: unknown }).server === 'object';
}
