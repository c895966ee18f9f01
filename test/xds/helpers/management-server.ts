import { EventEmitter } from 'node:events';
import { Server, ServerCredentials, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { type XdsProtos, encodeMessage, loadXdsProtos } from '../../../src/xds/protos.js';

/** Type URLs the test server serves. */
export const TYPE = Object.freeze({
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
});
export type TypeName = keyof typeof TYPE;
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const LRS_PATH = '/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats';

/** One DiscoveryRequest as the server received it. */
export interface RecordedRequest {
  readonly stream: number;
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly names: readonly string[];
  readonly errorDetail: { readonly code: number; readonly message: string } | undefined;
  readonly node: { readonly id: string; readonly cluster: string; readonly user_agent_name: string; readonly locality: { zone: string } | null } | undefined;
  /** Whether the request answers the last response of its type on its stream (an ACK or a NACK). */
  readonly answersLast: boolean;
}

/** One LoadStatsRequest as the server received it. */
export interface RecordedLoadReport {
  readonly clusterStats: readonly Record<string, unknown>[];
  readonly node: unknown;
}

interface Resource {
  readonly type_url: string;
  readonly value: Uint8Array;
}

interface StreamState {
  readonly id: number;
  readonly call: ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>;
  readonly names: Map<string, readonly string[]>;
  readonly lastNonce: Map<string, string>;
}

/** The extra files a management server needs to encode LDS/RDS for the grpc-js-xds oracle. */
export const SERVER_PROTO_FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
];

/**
 * An xDS management server for tests: ADS (state of the world) on 127.0.0.1, serving versioned resources
 * per type, recording every request (ACKs, NACKs with their `error_detail`), pushing changes to every
 * stream subscribed to a type. It can be stopped and started again on the same port. LRS is served too:
 * load reports are recorded and the report interval is the one given.
 */
export class ManagementServer extends EventEmitter {
  readonly protos: XdsProtos;
  readonly requests: RecordedRequest[] = [];
  readonly loadReports: RecordedLoadReport[] = [];
  port = 0;
  lrsIntervalMs = 1000;
  #server: Server | undefined;
  #resources = new Map<string, Map<string, Resource>>();
  #versions = new Map<string, number>();
  #streams = new Set<StreamState>();
  #nextStream = 0;
  #nonce = 0;

  constructor(protos?: XdsProtos) {
    super();
    this.protos = protos ?? loadXdsProtos(undefined, SERVER_PROTO_FILES);
  }

  static async start(): Promise<ManagementServer> {
    const server = new ManagementServer();
    await server.listen();
    return server;
  }

  /** Starts serving (again), on the previous port if there was one. */
  async listen(): Promise<void> {
    const server = new Server();
    const p = this.protos;
    const ser = (type: 'DiscoveryResponse' | 'LoadStatsResponse') => (value: Record<string, unknown>) => Buffer.from(encodeMessage(p[type], value));
    const de = (type: 'DiscoveryRequest' | 'LoadStatsRequest') => (bytes: Buffer) => p[type].decode(bytes) as unknown as Record<string, unknown>;
    const ads: ServiceDefinition = {
      StreamAggregatedResources: {
        path: ADS_PATH, requestStream: true, responseStream: true,
        requestSerialize: (v: unknown) => Buffer.from(encodeMessage(p.DiscoveryRequest, v as Record<string, unknown>)), requestDeserialize: de('DiscoveryRequest'),
        responseSerialize: ser('DiscoveryResponse'), responseDeserialize: (b: Buffer) => p.DiscoveryResponse.decode(b),
      },
    };
    const lrs: ServiceDefinition = {
      StreamLoadStats: {
        path: LRS_PATH, requestStream: true, responseStream: true,
        requestSerialize: (v: unknown) => Buffer.from(encodeMessage(p.LoadStatsRequest, v as Record<string, unknown>)), requestDeserialize: de('LoadStatsRequest'),
        responseSerialize: ser('LoadStatsResponse'), responseDeserialize: (b: Buffer) => p.LoadStatsResponse.decode(b),
      },
    };
    server.addService(ads, { StreamAggregatedResources: (call: ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>) => this.#onStream(call) });
    server.addService(lrs, { StreamLoadStats: (call: ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>) => this.#onLrs(call) });
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${this.port}`, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
    this.#server = server;
  }

  /** Kills every stream and stops listening (a control-plane crash). Resources and versions are kept. */
  stop(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
    this.#streams.clear();
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Current version of a type (a counter bumped by every change). */
  version(type: TypeName): string {
    return String(this.#versions.get(TYPE[type]) ?? 0);
  }

  /** Sets resources of a type from plain objects (snake_case, enums by name), then pushes them. */
  set(type: TypeName, resources: readonly Record<string, unknown>[]): void {
    const message = { listener: 'envoy.config.listener.v3.Listener', route: 'envoy.config.route.v3.RouteConfiguration', cluster: 'envoy.config.cluster.v3.Cluster', endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment' }[type];
    const t = this.protos.root.lookupType(message);
    this.setRaw(type, resources.map((r) => ({ name: String(r['name'] ?? r['cluster_name']), value: encodeMessage(t, r) })));
  }

  /** Sets already-encoded resources of a type (to serve what a real control plane would never validate), then pushes. */
  setRaw(type: TypeName, resources: readonly { readonly name: string; readonly value: Uint8Array; readonly typeUrl?: string }[]): void {
    const url = TYPE[type];
    const map = this.#resources.get(url) ?? new Map<string, Resource>();
    for (const r of resources) map.set(r.name, { type_url: r.typeUrl ?? url, value: r.value });
    this.#resources.set(url, map);
    this.#versions.set(url, (this.#versions.get(url) ?? 0) + 1);
    for (const s of this.#streams) if (s.names.has(url)) this.#respond(s, url);
  }

  /** Removes resources of a type, then pushes (for CDS a removal is a deletion). */
  remove(type: TypeName, names: readonly string[]): void {
    const url = TYPE[type];
    for (const n of names) this.#resources.get(url)?.delete(n);
    this.#versions.set(url, (this.#versions.get(url) ?? 0) + 1);
    for (const s of this.#streams) if (s.names.has(url)) this.#respond(s, url);
  }

  /** A listener for `xds:///name` clients (gRPC) routing everything to `cluster`. */
  setGrpcListener(name: string, cluster: string): void {
    const hcm = this.protos.root.lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
    const value = encodeMessage(hcm, {
      route_config: { name: `${name}-route`, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster } }] }] },
    });
    this.set('listener', [{ name, api_listener: { api_listener: { type_url: HCM_TYPE, value } } }]);
  }

  /** Resolves with the first recorded request (past or future) that `match` accepts. */
  waitFor(match: (r: RecordedRequest) => boolean): Promise<RecordedRequest> {
    const found = this.requests.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const on = (r: RecordedRequest): void => {
        if (!match(r)) return;
        this.off('request', on);
        resolve(r);
      };
      this.on('request', on);
    });
  }

  /** ADS streams open now. */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** Resolves once no ADS stream is open (clients have ended theirs). */
  drained(): Promise<void> {
    if (this.#streams.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const on = (): void => {
        if (this.#streams.size > 0) return;
        this.off('stream:end', on);
        resolve();
      };
      this.on('stream:end', on);
    });
  }

  #onStream(call: ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>): void {
    const state: StreamState = { id: ++this.#nextStream, call, names: new Map(), lastNonce: new Map() };
    this.#streams.add(state);
    const gone = (): void => {
      if (this.#streams.delete(state)) this.emit('stream:end', state.id);
    };
    call.on('data', (req: Record<string, unknown>) => this.#onRequest(state, req));
    call.on('error', gone);
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('cancelled', gone);
  }

  #onRequest(state: StreamState, req: Record<string, unknown>): void {
    const url = req['type_url'] as string;
    const names = [...(req['resource_names'] as string[])];
    const nonce = req['response_nonce'] as string;
    const error = req['error_detail'] as { code: number; message: string } | null;
    const node = req['node'] as RecordedRequest['node'] | null;
    const answersLast = nonce !== '' && state.lastNonce.get(url) === nonce;
    const recorded: RecordedRequest = {
      stream: state.id, typeUrl: url, version: req['version_info'] as string, nonce, names,
      errorDetail: error ? { code: error.code, message: error.message } : undefined, node: node ?? undefined, answersLast,
    };
    this.requests.push(recorded);
    this.emit('request', recorded);
    // A request with a stale nonce is ignored, its names too (the client sends them again with its ACK of the
    // response in flight); an ACK/NACK of the last response needs no answer unless the names changed.
    if (nonce !== '' && !answersLast) return;
    const previous = state.names.get(url);
    state.names.set(url, names);
    const changed = previous === undefined || previous.length !== names.length || previous.some((n, i) => n !== names[i]);
    if (changed) this.#respond(state, url);
  }

  #respond(state: StreamState, url: string): void {
    const names = state.names.get(url) ?? [];
    const all = this.#resources.get(url) ?? new Map<string, Resource>();
    const wildcard = names.length === 0 && (url === TYPE.listener || url === TYPE.cluster);
    const resources = wildcard ? [...all.values()] : names.flatMap((n) => (all.has(n) ? [all.get(n)!] : []));
    if (resources.length === 0 && url !== TYPE.cluster && url !== TYPE.listener) return;
    const nonce = String(++this.#nonce);
    state.lastNonce.set(url, nonce);
    state.call.write({ version_info: String(this.#versions.get(url) ?? 0), resources, type_url: url, nonce });
  }

  #onLrs(call: ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>): void {
    let first = true;
    call.on('data', (req: Record<string, unknown>) => {
      this.loadReports.push({ clusterStats: req['cluster_stats'] as Record<string, unknown>[], node: req['node'] });
      this.emit('load-report', this.loadReports.at(-1));
      if (first) {
        first = false;
        const ms = this.lrsIntervalMs;
        call.write({ send_all_clusters: true, load_reporting_interval: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } });
      }
    });
    call.on('error', () => undefined);
    call.on('end', () => call.end());
  }
}
