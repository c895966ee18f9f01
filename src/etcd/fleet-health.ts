import { EventEmitter } from 'eventemitter3';
import type { Clock } from '../clock.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import type { CheckResult, OnErrorAction } from '../state/check-result.js';
import { backoffMs, isLeaseNotFound, pause } from './etcd-call.js';
import type { EtcdClient } from './etcd-client.js';
import { FleetKeys, type PublishedCheck } from './fleet-record.js';
import { restoreFromRecord } from './fleet-restore.js';
import { FleetView } from './fleet-view.js';
import { LeaseKeeper } from './lease-keeper.js';
import { type EtcdEntry, followPrefix } from './prefix-watch.js';
import { ProberChecks } from './prober-checks.js';
import { type HeldClaim, ProberClaims } from './prober-claims.js';
import { ProberElection } from './prober-election.js';
import { ResultPublisher } from './result-publisher.js';
import { formatAddr } from './server-entry.js';
import {
  type FleetHealthEvents, type FleetHealthOptions, type FleetHealthStats, type FleetMode, type FleetRole, type ResolvedFleetOptions, resolveFleetOptions,
} from './fleet-health-options.js';

export { FLEET_HEALTH_DEFAULTS } from './fleet-health-options.js';
export type { FleetCheckerOptions, FleetHealthEvents, FleetHealthOptions, FleetHealthStats, FleetMode, FleetRole } from './fleet-health-options.js';

/**
 * Shared health for the instances of a fleet that balance the same backend: through etcd they elect one prober
 * per server (a claim key created with the prober's lease only if absent); the prober runs the usual
 * `ActiveChecker` and publishes each result, fenced by a transaction on its claim; every instance — the
 * prober included — applies the published results in etcd revision order through `pool.reportCheck`, so all
 * share one health counter sequence, the same rise/fall, events and log lines, with the prober's identity in
 * `result.by`. The probing is spread over the live instances (`spreadProbers`). A dead prober's lease expires
 * and another instance claims its servers. Without etcd, each instance checks on its own until etcd answers
 * again. Do not run another ActiveChecker on the same pool.
 *
 * @example
 * ```ts
 * const fleet = new FleetHealth(pool, { client: etcd, identity: 'web-3', checker: { interMs: 2000, probe: tcpConnectProbe() } })
 * await fleet.ready()          // started from the fleet's state: no traffic to a server it knows is down
 * proxy.listen(8080)
 * // on shutdown
 * await fleet.close()          // hands its servers over at once (the lease is revoked)
 * ```
 */
export class FleetHealth extends EventEmitter<FleetHealthEvents> {
  readonly pool: Pool;
  readonly identity: string;
  readonly keys: FleetKeys;
  readonly leaseTtlSeconds: number;
  readonly #client: EtcdClient;
  readonly #clock: Clock;
  readonly #o: ResolvedFleetOptions;
  readonly #checks: ProberChecks<HeldClaim>;
  readonly #keeper: LeaseKeeper;
  readonly #claimsTx: ProberClaims;
  readonly #publisher: ResultPublisher;
  readonly #view: FleetView;
  readonly #election: ProberElection;
  /** The claims this instance holds, by server (the election's). */
  readonly #mine: Map<string, HeldClaim>;
  #mode: FleetMode = 'starting';
  #epoch: AbortController | undefined;
  #snapshots = 0;
  /** Sequence of published results: increasing for the life of the process, so within any term too. */
  #seq = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #readyResolve!: () => void;
  readonly #ready: Promise<void>;
  #stats = { published: 0, applied: 0, fenced: 0, lost: 0, restored: 0 };
  readonly #unlisten: (() => void)[] = [];

  constructor(pool: Pool, options: FleetHealthOptions) {
    super();
    const o = resolveFleetOptions(pool, options);
    this.pool = pool;
    this.#client = o.client;
    this.identity = o.identity;
    this.keys = new FleetKeys(o.prefix, pool.name);
    this.leaseTtlSeconds = o.leaseTtlSeconds;
    this.#clock = o.clock;
    this.#o = o;
    this.#checks = new ProberChecks(pool, this.#clock, o.checker, o.probe, (name) => this.#mine.get(name), (copy, result, startedUnder) =>
      this.#onOwnResult(copy, result, startedUnder),
    );
    this.#view = new FleetView(this.keys);
    this.#claimsTx = new ProberClaims(this.#client, this.keys, this.#clock, o.timeoutMs);
    this.#publisher = new ResultPublisher(this.#claimsTx, this.#clock, { retries: o.publishRetries, retryMs: o.retryMs, maxRetryMs: o.maxRetryMs }, {
      holds: (name, held) => this.#mine.get(name) === held,
      published: (name, record, revision) => {
        this.#stats.published++;
        this.emit('result:published', name, record, revision);
        this.#election.handOverIfNotPreferred(name);
      },
      fenced: (name, record, held) => this.#onFenced(name, record, held),
      failed: (_name, _record, error) => this.emit('fleet:error', error),
      lost: (name, record, error) => {
        this.#stats.lost++;
        this.emit('result:lost', name, record, error);
      },
    });
    this.#keeper = new LeaseKeeper(this.#client, {
      ttlSeconds: this.leaseTtlSeconds, timeoutMs: o.timeoutMs, retryMs: o.retryMs, maxRetryMs: o.maxRetryMs, clock: this.#clock,
    });
    this.#election = new ProberElection({
      pool, identity: this.identity, view: this.#view, keeper: this.#keeper, claims: this.#claimsTx, checks: this.#checks, clock: this.#clock, options: o,
      mode: () => (this.#closed ? undefined : this.#mode),
      roleChanged: (server, role, holder) => this.emit('prober:change', server, role, holder),
      error: (error) => this.emit('fleet:error', error),
    });
    this.#mine = this.#election.mine;
    this.#ready = new Promise((resolve) => (this.#readyResolve = resolve));
    const onAdded = (server: Server): void => this.#onAdded(server);
    const onRemoved = (server: Server): void => this.#onRemoved(server);
    const onObserveLimit = (server: Server, onError: OnErrorAction, result: CheckResult): void => this.#onObserveLimit(server, onError, result);
    pool.on('server:added', onAdded);
    pool.on('server:removed', onRemoved);
    pool.on('observe:limit', onObserveLimit);
    this.#unlisten.push(() => {
      pool.off('server:added', onAdded);
      pool.off('server:removed', onRemoved);
      pool.off('observe:limit', onObserveLimit);
    });
    this.#keeper.on('lease:granted', (leaseId) => this.#beginEpoch(leaseId));
    this.#keeper.on('lease:lost', (_id, error) => {
      this.emit('fleet:error', error);
      this.#endEpoch();
      this.#setMode('local');
    });
    this.#keeper.on('lease:error', (error) => {
      this.emit('fleet:error', error);
      if (this.#mode !== 'local') this.#setMode('local');
    });
    this.#keeper.start();
  }

  /**
   * Resolves once this instance has read the fleet's state and applied it to the pool (start serving after
   * this), or has fallen back to local checks because etcd did not answer within `timeoutMs`.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  get mode(): FleetMode {
    return this.#mode;
  }

  /** This instance's role for a server, or `undefined` for a server it does not check. */
  role(server: string): FleetRole | undefined {
    return this.#election.role(server);
  }

  /** The prober's identity for a server as etcd last said, or `undefined`. */
  prober(server: string): string | undefined {
    return this.#view.claim(server)?.by;
  }

  /** The identities of the fleet's live instances, as etcd last said (empty until the first read). */
  members(): string[] {
    return [...this.#view.members()].sort();
  }

  stats(): FleetHealthStats {
    return { mode: this.#mode, probing: this.#checks.size, ...this.#stats, leaseId: this.#keeper.leaseId };
  }

  /**
   * Stops: checks end, the lease is revoked so other instances take over this one's servers at once. The pool
   * keeps its state. Idempotent: returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      for (const off of this.#unlisten.splice(0)) off();
      this.#endEpoch();
      this.#publisher.close();
      await this.#checks.close();
      await this.#publisher.settled();
      await this.#keeper.close(true);
      this.#readyResolve();
    })();
    return this.#closing;
  }

  /** Same as {@link FleetHealth.close}, without waiting. */
  destroy(): void {
    void this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #setMode(mode: FleetMode): void {
    if (this.#closed || mode === this.#mode) return;
    const previous = this.#mode;
    this.#mode = mode;
    if (mode === 'local') {
      this.#election.dropClaims();
      this.#readyResolve();
    }
    this.emit('fleet:mode', mode, previous);
    for (const server of this.pool.servers) this.#election.reconcile(server.name);
  }

  // ---- The epoch: one lease, one revision-consistent watch of the pool's keys. ----

  #beginEpoch(leaseId: string): void {
    if (this.#closed) return;
    this.#epoch?.abort();
    const epoch = new AbortController();
    this.#epoch = epoch;
    void this.#follow(leaseId, epoch.signal);
  }

  #endEpoch(): void {
    this.#epoch?.abort();
    this.#epoch = undefined;
    this.#election.dropClaims();
  }

  async #follow(leaseId: string, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        // Listed among the live instances before reading, so this instance's first snapshot includes itself.
        if (this.#o.spread) await this.#claimsTx.join(this.identity, leaseId);
        const events = followPrefix(this.#client, this.keys.base, signal, {
          clock: this.#clock, timeoutMs: this.#o.timeoutMs, retryMs: this.#o.retryMs, maxRetryMs: this.#o.maxRetryMs,
        });
        for await (const ev of events) {
          if (signal.aborted) return;
          failures = 0;
          if (ev.kind === 'snapshot') this.#onSnapshot(ev.entries, leaseId);
          else if (ev.kind === 'changes') for (const change of ev.changes) this.#onChange(change, change.type === 'delete');
          else this.emit('fleet:error', ev.error);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (isLeaseNotFound(err)) this.#keeper.invalidate(leaseId, err);
        failures++;
        this.emit('fleet:error', err);
        this.#setMode('local');
        await pause(this.#clock, backoffMs(failures, this.#o.retryMs, this.#o.maxRetryMs), signal);
      }
    }
  }

  #onSnapshot(entries: ReadonlyMap<string, EtcdEntry>, leaseId: string): void {
    const first = this.#snapshots++ === 0;
    this.#view.reset();
    for (const entry of entries.values()) {
      const change = this.#view.ingest(entry, false);
      if (change.kind === 'invalid') this.emit('result:ignored', change.server, 'invalid', change.error);
    }
    for (const [name, { record, modRevision }] of [...this.#view.records()]) {
      const server = this.pool.find(name);
      // First read: start from the fleet's state. A later one in shared mode is a resync after missed history
      // (compaction): jump to the fleet's verdict rather than replay. After local checks, the local state stays.
      // (A server already checked here, e.g. locally while etcd was unreachable at start, keeps its own state.)
      const jump = first ? this.#o.restore && server?.checkStatus === 'INI' : this.#mode === 'shared' && modRevision > this.#view.appliedRevision(name);
      if (jump && server !== undefined) this.#restore(server, record);
      this.#view.markApplied(name, record, modRevision);
    }
    if (leaseId !== this.#keeper.leaseId) return;
    if (this.#mode !== 'shared') this.#setMode('shared');
    else for (const server of this.pool.servers) this.#election.reconcile(server.name);
    this.#readyResolve();
  }

  #onChange(entry: EtcdEntry, deleted: boolean): void {
    const change = this.#view.ingest(entry, deleted);
    if (change.kind === 'claim') this.#election.reconcile(change.server);
    else if (change.kind === 'result') this.#applyPublished(change.server, change.record, change.modRevision);
    else if (change.kind === 'invalid') this.emit('result:ignored', change.server, 'invalid', change.error);
    // An instance came or went: the preferred prober of unclaimed servers may have changed.
    else if (change.kind === 'members') for (const name of this.#election.waitingFor()) this.#election.reconcile(name);
    // Another instance saw connection errors: check now rather than at the next interval.
    else if (change.kind === 'report' && this.#election.role(change.server) === 'prober') this.#checks.checkNow(change.server);
  }

  // ---- Results: own checks (publish or apply locally) and published ones (apply). ----

  #onOwnResult(copy: Server, result: CheckResult, startedUnder: HeldClaim | undefined): void {
    const name = copy.name;
    const role = this.#election.role(name);
    if (role === 'local') {
      const server = this.pool.find(name);
      const local = { ...result, by: this.identity };
      if (server !== undefined && this.pool.reportCheck(server, local)) {
        this.#stats.applied++;
        this.emit('result:applied', server, local, undefined);
      }
    }
    const held = startedUnder ?? (role === 'prober' ? this.#mine.get(name) : undefined);
    if (held === undefined) return;
    this.#publisher.offer(name, held, {
      v: 1, by: this.identity, addr: formatAddr(copy.host, copy.port), term: held.term, seq: ++this.#seq, result,
      health: copy.health, rise: copy.rise, fall: copy.fall, up: copy.operationalState !== 'down',
    });
  }

  #onFenced(name: string, record: PublishedCheck, held: HeldClaim): void {
    this.#stats.fenced++;
    this.emit('result:fenced', name, record);
    if (this.#mine.get(name) === held) {
      this.#mine.delete(name);
      this.#view.forgetClaim(name);
      this.#election.reconcile(name);
    }
  }

  #applyPublished(name: string, record: PublishedCheck, modRevision: number): void {
    if (!this.#view.accept(name, record, modRevision) || this.#mode !== 'shared') return;
    const server = this.pool.find(name);
    if (server === undefined) return;
    if (record.addr !== formatAddr(server.host, server.port)) {
      this.emit('result:ignored', name, 'address', record.addr);
      return;
    }
    const result = { ...record.result, by: record.by };
    if (this.pool.reportCheck(server, result)) {
      this.#stats.applied++;
      this.emit('result:applied', server, result, modRevision);
    }
  }

  #restore(server: Server, record: PublishedCheck): void {
    if (!restoreFromRecord(this.pool, server, record)) return;
    this.#stats.restored++;
    this.emit('state:restored', server, record);
  }

  // ---- The pool's own events. ----

  #onAdded(server: Server): void {
    const known = this.#view.record(server.name);
    // Synchronously inside pool.add(): the server never takes a connection before the fleet's verdict applies.
    if (this.#o.restore && known !== undefined) this.#restore(server, known.record);
    this.#election.reconcile(server.name);
  }

  #onRemoved(server: Server): void {
    this.#view.forgetApplied(server.name);
    this.#election.removed(server.name);
  }

  #onObserveLimit(server: Server, onError: OnErrorAction, result: CheckResult): void {
    const role = this.#election.role(server.name);
    if (role === 'prober' || role === 'local') {
      this.#checks.checkNow(server.name);
      return;
    }
    const leaseId = this.#keeper.leaseId;
    if (!this.#o.publishPassive || role !== 'follower' || leaseId === undefined) return;
    this.#claimsTx.report(server.name, this.identity, leaseId, { by: this.identity, onError, result }).catch((err: unknown) => this.emit('fleet:error', err));
  }
}
