import { EventEmitter } from 'eventemitter3';
import type { Clock } from '../clock.js';
import type { CheckCause, CheckResult, OnErrorAction } from '../state/check-result.js';
import { ActiveChecker } from '../health/active-checker.js';
import type { Probe } from '../health/probe.js';
import { Pool } from '../pool.js';
import type { Server } from '../server.js';
import { backoffMs, isLeaseNotFound, pause } from './etcd-call.js';
import type { EtcdClient } from './etcd-client.js';
import { FleetKeys, type PublishedCheck } from './fleet-record.js';
import { proberCopy, restoreFromRecord } from './fleet-restore.js';
import { FleetView } from './fleet-view.js';
import { LeaseKeeper } from './lease-keeper.js';
import { type EtcdEntry, followPrefix } from './prefix-watch.js';
import { ProberClaims } from './prober-claims.js';
import { formatAddr } from './server-entry.js';
import {
  type FleetHealthEvents, type FleetHealthOptions, type FleetHealthStats, type FleetMode, type FleetRole, type ResolvedFleetOptions, resolveFleetOptions,
} from './fleet-health-options.js';

export { FLEET_HEALTH_DEFAULTS } from './fleet-health-options.js';
export type { FleetCheckerOptions, FleetHealthEvents, FleetHealthOptions, FleetHealthStats, FleetMode, FleetRole } from './fleet-health-options.js';

interface Mine {
  readonly lease: string;
  readonly term: number;
  chain: Promise<void>;
}

/**
 * Shared health for the instances of a fleet that balance the same backend: through etcd they elect one prober
 * per server (a claim key created with the prober's lease only if absent); the prober runs the usual
 * {@link ActiveChecker} and publishes each result, fenced by a transaction on its claim; every instance — the
 * prober included — applies the published results in etcd revision order through `pool.reportCheck`, so all
 * share one health counter sequence, the same rise/fall, events and log lines, with the prober's identity in
 * `result.by`. A dead prober's lease expires and another instance claims its servers. Without etcd, each instance
 * checks on its own until etcd answers again. Do not run another ActiveChecker on the same pool.
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
  readonly #shadow: Pool;
  readonly #checker: ActiveChecker;
  readonly #keeper: LeaseKeeper;
  readonly #claimsTx: ProberClaims;
  readonly #view: FleetView;
  readonly #mine = new Map<string, Mine>();
  readonly #roles = new Map<string, FleetRole>();
  readonly #claiming = new Set<string>();
  readonly #probeClaims = new Map<string, Mine | undefined>();
  readonly #retiring = new Set<string>();
  #mode: FleetMode = 'starting';
  #epoch: AbortController | undefined;
  #snapshots = 0;
  /** Sequence of published results: increasing for the life of the process, so within any term too. */
  #seq = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #readyResolve!: () => void;
  readonly #ready: Promise<void>;
  #stats = { published: 0, applied: 0, fenced: 0, restored: 0 };
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
    const userProbe = o.probe;
    // Each probe remembers the claim it started under: its result is offered to etcd under that claim even if
    // this instance has meanwhile judged its lease lost, and etcd's compare decides (a stale one is fenced).
    const probe: Probe = (server, signal, context) => {
      this.#probeClaims.set(server.name, this.#mine.get(server.name));
      return userProbe(server, signal, context);
    };
    // The prober's own pool: the servers this instance probes now, each with its own counter driving the schedule.
    this.#shadow = new Pool(pool.name, { clock: this.#clock });
    this.#checker = new ActiveChecker(this.#shadow, { ...o.checker, probe, clock: this.#clock, autoStart: true });
    this.#view = new FleetView(this.keys);
    this.#claimsTx = new ProberClaims(this.#client, this.keys, this.#clock, this.#o.timeoutMs);
    this.#keeper = new LeaseKeeper(this.#client, {
      ttlSeconds: this.leaseTtlSeconds, timeoutMs: this.#o.timeoutMs, retryMs: this.#o.retryMs, maxRetryMs: this.#o.maxRetryMs, clock: this.#clock,
    });
    this.#ready = new Promise((resolve) => (this.#readyResolve = resolve));
    const onResult = (server: Server, cause: CheckCause): void => {
      if (cause.source === 'check') this.#onOwnResult(server, cause.result);
    };
    this.#shadow.on('check:pass', onResult);
    this.#shadow.on('check:fail', onResult);
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
    return this.#roles.get(server);
  }

  /** The prober's identity for a server as etcd last said, or `undefined`. */
  prober(server: string): string | undefined {
    return this.#view.claim(server)?.by;
  }

  stats(): FleetHealthStats {
    return { mode: this.#mode, probing: this.#shadow.size, ...this.#stats, leaseId: this.#keeper.leaseId };
  }

  /**
   * Stops: checks end, the lease is revoked so other instances take over this one's servers at once. The pool
   * keeps its state. Idempotent: returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      for (const off of this.#unlisten.splice(0)) off();
      const writes = [...this.#mine.values()].map((m) => m.chain);
      this.#endEpoch();
      await this.#checker.close();
      await Promise.allSettled(writes);
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
      this.#mine.clear();
      this.#readyResolve();
    }
    this.emit('fleet:mode', mode, previous);
    for (const server of this.pool.servers) this.#reconcile(server.name);
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
    this.#mine.clear();
  }

  async #follow(leaseId: string, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
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
    else for (const server of this.pool.servers) this.#reconcile(server.name);
    this.#readyResolve();
  }

  #onChange(entry: EtcdEntry, deleted: boolean): void {
    const change = this.#view.ingest(entry, deleted);
    if (change.kind === 'claim') this.#reconcile(change.server);
    else if (change.kind === 'result') this.#applyPublished(change.server, change.record, change.modRevision);
    else if (change.kind === 'invalid') this.emit('result:ignored', change.server, 'invalid', change.error);
    // Another instance saw connection errors: check now rather than at the next interval.
    else if (change.kind === 'report' && this.#roles.get(change.server) === 'prober') this.#checkNow(change.server);
  }

  // ---- Roles: who probes which server. ----

  #reconcile(name: string): void {
    if (this.#closed) return;
    const server = this.pool.find(name);
    if (server === undefined || !server.check) {
      this.#setRole(name, undefined, undefined);
      return;
    }
    if (this.#mode === 'local') {
      this.#setRole(name, 'local', this.identity);
      return;
    }
    if (this.#mode !== 'shared') return;
    const leaseId = this.#keeper.leaseId;
    const claim = this.#view.claim(name);
    if (claim !== undefined && leaseId !== undefined && claim.lease === leaseId) {
      // Our own claim, seen by the watch before (or instead of) the claim transaction's answer.
      if (!this.#mine.has(name)) this.#mine.set(name, { lease: leaseId, term: claim.createRevision, chain: Promise.resolve() });
      this.#setRole(name, 'prober', this.identity);
    } else if (claim !== undefined) {
      this.#mine.delete(name);
      this.#setRole(name, 'follower', claim.by);
    } else {
      this.#mine.delete(name);
      this.#setRole(name, 'follower', undefined);
      if (leaseId !== undefined) void this.#tryClaim(name, server, leaseId);
    }
  }

  async #tryClaim(name: string, server: Server, leaseId: string): Promise<void> {
    if (this.#claiming.has(name)) return;
    this.#claiming.add(name);
    try {
      const outcome = await this.#claimsTx.claim(name, { by: this.identity, addr: formatAddr(server.host, server.port) }, leaseId);
      if (this.#closed || leaseId !== this.#keeper.leaseId || this.pool.find(name) !== server) return;
      if (outcome.won) this.#view.learnClaim(name, { by: this.identity, addr: formatAddr(server.host, server.port), lease: leaseId, createRevision: outcome.term });
      else if (outcome.holder !== undefined) this.#view.learnClaim(name, outcome.holder);
    } catch (err) {
      this.emit('fleet:error', err);
      if (isLeaseNotFound(err)) this.#keeper.invalidate(leaseId, err);
      if (!this.#closed) this.#clock.setTimeout(() => this.#reconcile(name), this.#o.retryMs);
      return;
    } finally {
      this.#claiming.delete(name);
    }
    this.#reconcile(name);
  }

  #setRole(name: string, role: FleetRole | undefined, holder: string | undefined): void {
    const previous = this.#roles.get(name);
    if (role === undefined) this.#roles.delete(name);
    else this.#roles.set(name, role);
    const probes = role === 'prober' || role === 'local';
    const shadow = this.#shadow.find(name);
    if (probes) {
      this.#retiring.delete(name);
      if (shadow === undefined) this.#shadow.add(proberCopy(this.pool.get(name)));
    } else if (shadow !== undefined) {
      // A prober that learns another holds its server lets the probe in flight finish (none is started after it):
      // its result goes to etcd under the old claim and the compare refuses it, whatever order events came in.
      if (role === 'follower' && this.#probeClaims.has(name)) this.#retiring.add(name);
      else this.#retire(name);
    }
    if (role !== undefined && role !== previous) this.emit('prober:change', name, role, holder);
  }

  #retire(name: string): void {
    this.#retiring.delete(name);
    this.#probeClaims.delete(name);
    if (this.#shadow.find(name) !== undefined) this.#shadow.remove(name);
  }

  // ---- Results: own checks (publish or apply locally) and published ones (apply). ----

  #onOwnResult(shadow: Server, result: CheckResult): void {
    const name = shadow.name;
    const role = this.#roles.get(name);
    const startedUnder = this.#probeClaims.get(name);
    this.#probeClaims.delete(name);
    // Out of the prober's pool once this event is over, before the checker schedules another check.
    if (this.#retiring.has(name)) queueMicrotask(() => this.#retiring.has(name) && this.#retire(name));
    if (role === 'local') {
      const server = this.pool.find(name);
      const local = { ...result, by: this.identity };
      if (server !== undefined && this.pool.reportCheck(server, local)) {
        this.#stats.applied++;
        this.emit('result:applied', server, local, undefined);
      }
    }
    const mine = startedUnder ?? (role === 'prober' ? this.#mine.get(name) : undefined);
    if (mine === undefined) return;
    const record: PublishedCheck = {
      v: 1, by: this.identity, addr: formatAddr(shadow.host, shadow.port), term: mine.term, seq: ++this.#seq, result,
      health: shadow.health, rise: shadow.rise, fall: shadow.fall, up: shadow.operationalState !== 'down',
    };
    // One write at a time per server, in check order.
    mine.chain = mine.chain.then(() => this.#publish(name, mine, record));
  }

  async #publish(name: string, mine: Mine, record: PublishedCheck): Promise<void> {
    let revision: number | undefined;
    try {
      revision = await this.#claimsTx.publish(name, mine.lease, mine.term, record);
    } catch (err) {
      this.emit('fleet:error', err);
      return;
    }
    if (revision !== undefined) {
      this.#stats.published++;
      this.emit('result:published', name, record, revision);
      return;
    }
    this.#stats.fenced++;
    this.emit('result:fenced', name, record);
    if (this.#mine.get(name) === mine) {
      this.#mine.delete(name);
      this.#view.forgetClaim(name);
      this.#reconcile(name);
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
    this.#reconcile(server.name);
  }

  #onRemoved(server: Server): void {
    const name = server.name;
    const mine = this.#mine.get(name);
    this.#mine.delete(name);
    this.#view.forgetApplied(name);
    if (mine !== undefined) this.#claimsTx.release(name, mine.lease).catch((err: unknown) => this.emit('fleet:error', err));
    this.#setRole(name, undefined, undefined);
  }

  #onObserveLimit(server: Server, onError: OnErrorAction, result: CheckResult): void {
    const role = this.#roles.get(server.name);
    if (role === 'prober' || role === 'local') {
      this.#checkNow(server.name);
      return;
    }
    const leaseId = this.#keeper.leaseId;
    if (!this.#o.publishPassive || role !== 'follower' || leaseId === undefined) return;
    this.#claimsTx.report(server.name, this.identity, leaseId, { by: this.identity, onError, result }).catch((err: unknown) => this.emit('fleet:error', err));
  }

  #checkNow(name: string): void {
    const shadow = this.#shadow.find(name);
    if (shadow !== undefined && this.#checker.running) this.#checker.checkNow(shadow);
  }
}
