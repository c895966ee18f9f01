import { Client, type ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import { type Clock, type TimerHandle } from '../clock.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { ConnectOutcome, OutcomeSink } from '../outcome.js';
import type { Server } from '../server.js';
import { XDS_BACKOFF_DEFAULTS, backoffDelay } from './backoff.js';
import type { XdsClusterFollower } from './cluster-follower.js';
import { durationToMs, encodeMessage, msToDuration } from './protos.js';
import type { XdsClient } from './xds-client.js';

/** Options of {@link LoadReporter}. */
export interface LoadReporterOptions {
  /** Source of time for the report interval and reconnections. @defaultValue the pool's clock */
  readonly clock?: Clock;
  /** Another sink that gets every outcome too (a `PassiveObserver`), so one `observer` option serves both. */
  readonly next?: OutcomeSink;
}

const LRS_METHOD = '/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats';

interface LocalityCounters {
  region: string;
  zone: string;
  subZone: string;
  succeeded: number;
  failed: number;
}

interface LrsResponse {
  readonly clusters: readonly string[];
  readonly send_all_clusters: boolean;
  readonly load_reporting_interval: { readonly seconds: unknown; readonly nanos: number } | null;
}

/**
 * LRS (load reporting) for one followed cluster: per-locality connection counts sent to the management
 * server on the interval it asks for, so a control plane that balances by load (Traffic Director,
 * Istio's locality failover) sees this process. For TCP a "request" is a connection: `issued` = connection
 * attempts in the interval, `successful` / `error` = attempts that connected / failed, `in progress` = open
 * connections (leases) now. Pass the reporter as the `observer` of `balancer.connect()` or `TcpProxy`
 * (with `next` for a `PassiveObserver`).
 *
 * @example
 * ```ts
 * const reporter = new LoadReporter(xds, follower, { next: observer })
 * const socket = await balancer.connect({ observer: reporter })
 * ```
 */
export class LoadReporter implements OutcomeSink {
  readonly #client: XdsClient;
  readonly #follower: XdsClusterFollower;
  readonly #clock: Clock;
  readonly #next: OutcomeSink | undefined;
  readonly #counters = new Map<string, LocalityCounters>();
  #call: ClientDuplexStream<Record<string, unknown>, LrsResponse> | undefined;
  #grpc: Client | undefined;
  #timer: TimerHandle | undefined;
  #lastReportAt = 0;
  #failures = 0;
  #closed = false;

  constructor(client: XdsClient, follower: XdsClusterFollower, options: LoadReporterOptions = {}) {
    const o = v.plainObject('load reporter options', options);
    v.knownKeys('load reporter options', o, ['clock', 'next']);
    const next = o['next'];
    if (next !== undefined && typeof (next as Partial<OutcomeSink>).reportOutcome !== 'function') throw invalidArg('next', 'must have reportOutcome(server, outcome)', next);
    this.#client = client;
    this.#follower = follower;
    this.#clock = (o['clock'] as Clock | undefined) ?? follower.pool.clock;
    this.#next = next as OutcomeSink | undefined;
    this.#open();
  }

  /** Counts one connection attempt for its server's locality, then passes it on to `next`. */
  reportOutcome(server: Server, outcome: ConnectOutcome): void {
    const origin = this.#follower.origin(server.name);
    if (origin !== undefined) {
      let c = this.#counters.get(origin.locality);
      if (!c) this.#counters.set(origin.locality, (c = { region: origin.region, zone: origin.zone, subZone: origin.subZone, succeeded: 0, failed: 0 }));
      if (outcome.kind === 'success') c.succeeded++;
      else c.failed++;
    }
    this.#next?.reportOutcome(server, outcome);
  }

  /** Stops reporting. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#timer?.cancel();
      this.#call?.cancel();
      this.#grpc?.close();
    }
    return Promise.resolve();
  }

  /** Same as {@link LoadReporter.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #open(): void {
    if (this.#closed) return;
    const protos = this.#client.protos;
    const grpc = new Client(this.#client.serverUri, this.#client.channelCredentials());
    const call = grpc.makeBidiStreamRequest(
      LRS_METHOD,
      (req: Record<string, unknown>) => Buffer.from(encodeMessage(protos.LoadStatsRequest, req)),
      (bytes: Buffer) => protos.LoadStatsResponse.decode(bytes) as unknown as LrsResponse,
      new Metadata(),
    );
    this.#grpc = grpc;
    this.#call = call;
    let answered = false;
    call.on('data', (r: LrsResponse) => {
      answered = true;
      this.#failures = 0;
      this.#schedule(r);
    });
    call.on('error', () => undefined);
    call.on('status', () => {
      if (this.#call !== call) return;
      grpc.close();
      this.#call = undefined;
      this.#timer?.cancel();
      if (this.#closed) return;
      this.#failures = answered ? 0 : this.#failures + 1;
      const delay = this.#failures === 0 ? 0 : backoffDelay(XDS_BACKOFF_DEFAULTS, this.#failures, Math.random);
      this.#timer = this.#clock.setTimeout(() => this.#open(), delay);
    });
    call.write({ node: this.#client.nodeMessage(), cluster_stats: [] });
  }

  #schedule(r: LrsResponse): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const name = this.#follower.clusterName;
    if (!r.send_all_clusters && !r.clusters.includes(name)) return;
    const intervalMs = durationToMs(r.load_reporting_interval);
    if (intervalMs === undefined || !(intervalMs > 0)) return;
    this.#lastReportAt = this.#clock.now();
    const tick = (): void => {
      this.#send();
      this.#timer = this.#clock.setTimeout(tick, intervalMs);
    };
    this.#timer = this.#clock.setTimeout(tick, intervalMs);
  }

  #send(): void {
    const call = this.#call;
    if (call === undefined) return;
    const now = this.#clock.now();
    const inProgress = new Map<string, number>();
    for (const s of this.#follower.pool.servers) {
      const origin = this.#follower.origin(s.name);
      if (origin === undefined) continue;
      inProgress.set(origin.locality, (inProgress.get(origin.locality) ?? 0) + s.currentConnections);
      if (!this.#counters.has(origin.locality)) this.#counters.set(origin.locality, { region: origin.region, zone: origin.zone, subZone: origin.subZone, succeeded: 0, failed: 0 });
    }
    const localities = [...this.#counters].map(([key, c]) => ({
      locality: { region: c.region, zone: c.zone, sub_zone: c.subZone },
      total_successful_requests: c.succeeded,
      total_error_requests: c.failed,
      total_issued_requests: c.succeeded + c.failed,
      total_requests_in_progress: inProgress.get(key) ?? 0,
    }));
    for (const c of this.#counters.values()) c.succeeded = c.failed = 0;
    call.write({
      cluster_stats: [{
        cluster_name: this.#follower.clusterName,
        cluster_service_name: this.#follower.cluster?.edsServiceName ?? this.#follower.clusterName,
        upstream_locality_stats: localities,
        total_dropped_requests: 0,
        load_report_interval: msToDuration(now - this.#lastReportAt),
      }],
    });
    this.#lastReportAt = now;
  }
}
