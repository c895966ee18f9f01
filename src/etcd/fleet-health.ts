import os from 'node:os';
import { EventEmitter } from 'eventemitter3';
import type { Clock } from '../clock.js';
import type { CheckCause, CheckResult, OnErrorAction, StateCause } from '../health/check-result.js';
import { ActiveChecker, type ActiveCheckerOptions } from '../health/active-checker.js';
import type { Probe } from '../health/probe.js';
import { tcpConnectProbe } from '../health/probes/tcp-connect.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { Pool } from '../pool.js';
import type { Server } from '../server.js';
import { backoffMs, isLeaseNotFound, pause } from './etcd-call.js';
import { type EtcdClient, checkClient } from './etcd-client.js';
import { FleetKeys, type PublishedCheck, parseClaim, parsePublishedCheck } from './fleet-record.js';
import { LeaseKeeper } from './lease-keeper.js';
import { type EtcdEntry, followPrefix } from './prefix-watch.js';
import { type ClaimHolder, ProberClaims } from './prober-claims.js';
import { formatAddr } from './server-entry.js';

/** The checker settings the prober runs with: {@link ActiveCheckerOptions} but the clock and start, which the fleet owns. */
export type FleetCheckerOptions = Omit<ActiveCheckerOptions, 'autoStart' | 'clock'>;

/** Options of {@link FleetHealth}. */
export interface FleetHealthOptions {
  /** The etcd3 client (or a namespace of one). Yours to close, after the fleet health. */
  readonly client: EtcdClient;
  /** This instance's name in the fleet: shown as `by` in every result it publishes. @defaultValue `<hostname>:<pid>` */
  readonly identity?: string;
  /** Key prefix of the shared state; the pool's keys are under `<prefix><pool name>/`. @defaultValue 'switchyard/health/' */
  readonly prefix?: string;
  /** TTL of this instance's lease, whole seconds: a dead prober is replaced within this + `interMs`. @defaultValue 10 */
  readonly leaseTtlSeconds?: number;
  /** How the prober checks (probe, `interMs`, `fastinterMs`, per-server settings…), as for {@link ActiveChecker}. @defaultValue {} */
  readonly checker?: FleetCheckerOptions;
  /** Start each server from the fleet's published state instead of `UP 1/fall`. @defaultValue true */
  readonly restoreState?: boolean;
  /** Publish passive observation's error-limit reports so the prober checks at once. @defaultValue false */
  readonly publishPassive?: boolean;
  /** Longest wait for one etcd request, ms. @defaultValue 5000 */
  readonly timeoutMs?: number;
  /** First delay before trying etcd again after a failure, ms; doubles up to `maxRetryMs`. @defaultValue 500 */
  readonly retryMs?: number;
  /** @defaultValue 10000 */
  readonly maxRetryMs?: number;
  /** Source of time. @defaultValue the pool's clock */
  readonly clock?: Clock;
}

/** Default values of {@link FleetHealthOptions}. */
export const FLEET_HEALTH_DEFAULTS = Object.freeze({
  prefix: 'switchyard/health/', leaseTtlSeconds: 10, restoreState: true, publishPassive: false, timeoutMs: 5000, retryMs: 500, maxRetryMs: 10_000,
});

/**
 * How this instance takes part: `starting` until etcd first answers; `shared` while it holds a lease (it probes
 * the servers it was elected for and applies the published results of the others); `local` while etcd cannot
 * be reached (it probes every server itself, as a lone HAProxy would, and publishes nothing).
 */
export type FleetMode = 'starting' | 'shared' | 'local';

/** This instance's part for one server: `prober` (elected), `follower` (applies another's results), `local` (fallback). */
export type FleetRole = 'prober' | 'follower' | 'local';

/** Events of a {@link FleetHealth}. */
export interface FleetHealthEvents {
  'fleet:mode': [mode: FleetMode, previous: FleetMode];
  /** This instance's role for a server changed; `holder` is the prober's identity when known. */
  'prober:change': [server: string, role: FleetRole, holder: string | undefined];
  /** A result of this instance's prober was written at `revision`. */
  'result:published': [server: string, record: PublishedCheck, revision: number];
  /** A result was applied to the pool (`revision` undefined for a local check in `local` mode). */
  'result:applied': [server: Server, result: CheckResult, revision: number | undefined];
  /** This instance's result was refused by etcd: it no longer held the claim (stale prober). Never applied anywhere. */
  'result:fenced': [server: string, record: PublishedCheck];
  /** A published result was not applied: `address` (the server here has another address) or `invalid`. */
  'result:ignored': [server: string, reason: 'address' | 'invalid', detail: unknown];
  /** A server started from the fleet's published state (`restoreState`). */
  'state:restored': [server: Server, record: PublishedCheck];
  /** Something failed against etcd; the fleet retries by itself (and probes locally meanwhile if it must). */
  'fleet:error': [error: unknown];
}

/** Counters of a {@link FleetHealth}. */
export interface FleetHealthStats {
  readonly mode: FleetMode;
  /** Servers this instance probes now (as prober, or locally). */
  readonly probing: number;
  readonly published: number;
  readonly applied: number;
  readonly fenced: number;
  readonly restored: number;
  readonly leaseId: string | undefined;
}

interface Mine {
  readonly lease: string;
  readonly term: number;
  chain: Promise<void>;
}

const OPTION_KEYS = [
  'client', 'identity', 'prefix', 'leaseTtlSeconds', 'checker', 'restoreState', 'publishPassive', 'timeoutMs', 'retryMs', 'maxRetryMs', 'clock',
] as const;

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
  readonly #o: { restore: boolean; publishPassive: boolean; timeoutMs: number; retryMs: number; maxRetryMs: number };
  readonly #shadow: Pool;
  readonly #checker: ActiveChecker;
  readonly #keeper: LeaseKeeper;
  readonly #claimsTx: ProberClaims;
  readonly #claims = new Map<string, ClaimHolder>();
  readonly #records = new Map<string, { record: PublishedCheck; modRevision: number }>();
  readonly #applied = new Map<string, { modRevision: number; term: number; seq: number }>();
  readonly #mine = new Map<string, Mine>();
  readonly #roles = new Map<string, FleetRole>();
  readonly #claiming = new Set<string>();
  readonly #probeClaims = new Map<string, Mine | undefined>();
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
    if (!(pool instanceof Pool)) throw new LbError('ERR_LB_INVALID_ARG', 'pool must be a Pool', { details: { field: 'pool' } });
    const o = v.plainObject('fleet health options', options);
    v.knownKeys('fleet health options', o, OPTION_KEYS);
    this.pool = pool;
    this.#client = checkClient(o['client']);
    this.identity = v.nonEmptyString('identity', o['identity'] ?? `${os.hostname()}:${process.pid}`);
    const prefix = v.nonEmptyString('prefix', o['prefix'] ?? FLEET_HEALTH_DEFAULTS.prefix);
    this.keys = new FleetKeys(prefix, pool.name);
    this.leaseTtlSeconds = v.positiveInteger('leaseTtlSeconds', o['leaseTtlSeconds'] ?? FLEET_HEALTH_DEFAULTS.leaseTtlSeconds);
    this.#clock = (o['clock'] as Clock | undefined) ?? pool.clock;
    this.#o = {
      restore: v.boolean('restoreState', o['restoreState'] ?? FLEET_HEALTH_DEFAULTS.restoreState),
      publishPassive: v.boolean('publishPassive', o['publishPassive'] ?? FLEET_HEALTH_DEFAULTS.publishPassive),
      timeoutMs: v.durationMs('timeoutMs', o['timeoutMs'] ?? FLEET_HEALTH_DEFAULTS.timeoutMs, { allowZero: false }),
      retryMs: v.durationMs('retryMs', o['retryMs'] ?? FLEET_HEALTH_DEFAULTS.retryMs, { allowZero: false }),
      maxRetryMs: v.durationMs('maxRetryMs', o['maxRetryMs'] ?? FLEET_HEALTH_DEFAULTS.maxRetryMs, { allowZero: false }),
    };
    const checker = v.plainObject('checker', o['checker'] ?? {});
    if ('autoStart' in checker || 'clock' in checker) throw invalidKey(checker);
    const userProbe = checker['probe'] ?? tcpConnectProbe();
    if (typeof userProbe !== 'function') throw invalidArg('checker.probe', 'must be an async function (server, signal, context)', userProbe);
    // Each probe remembers the claim it started under: its result is offered to etcd under that claim even if
    // this instance has meanwhile judged its lease lost, and etcd's compare decides (a stale one is fenced).
    const probe: Probe = (server, signal, context) => {
      this.#probeClaims.set(server.name, this.#mine.get(server.name));
      return (userProbe as Probe)(server, signal, context);
    };
    // The prober's own pool: the servers this instance probes now, each with its own counter driving the schedule.
    this.#shadow = new Pool(pool.name, { clock: this.#clock });
    this.#checker = new ActiveChecker(this.#shadow, { ...(checker as FleetCheckerOptions), probe, clock: this.#clock, autoStart: true });
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
    return this.#claims.get(server)?.by;
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
          else if (ev.kind === 'changes') for (const change of ev.changes) this.#onChange(change, change.type);
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
    this.#claims.clear();
    for (const entry of entries.values()) this.#onChange(entry, 'snapshot');
    for (const [name, { record, modRevision }] of this.#records) {
      const server = this.pool.find(name);
      if (first && this.#o.restore && server !== undefined) this.#restore(server, record);
      else if (!first && this.#mode === 'shared' && server !== undefined && modRevision > (this.#applied.get(name)?.modRevision ?? 0)) {
        // A resync after missed history (compaction): jump to the fleet's verdict rather than replay.
        this.#restore(server, record);
      }
      this.#applied.set(name, { modRevision, term: record.term, seq: record.seq });
    }
    if (leaseId !== this.#keeper.leaseId) return;
    if (this.#mode !== 'shared') this.#setMode('shared');
    else for (const server of this.pool.servers) this.#reconcile(server.name);
    this.#readyResolve();
  }

  #onChange(entry: EtcdEntry, type: 'put' | 'delete' | 'snapshot'): void {
    const what = this.keys.parse(entry.key);
    if (what === undefined) return;
    const name = what.server;
    if (what.kind === 'claims') {
      if (type === 'delete') this.#claims.delete(name);
      else {
        let value;
        try {
          value = parseClaim(entry.key, entry.value);
        } catch {
          value = { by: '?', addr: '?' };
        }
        this.#claims.set(name, { ...value, lease: entry.lease, createRevision: entry.createRevision });
      }
      if (type !== 'snapshot') this.#reconcile(name);
    } else if (what.kind === 'results') {
      if (type === 'delete') {
        this.#records.delete(name);
        return;
      }
      let record: PublishedCheck;
      try {
        record = parsePublishedCheck(entry.key, entry.value);
      } catch (err) {
        this.emit('result:ignored', name, 'invalid', err);
        return;
      }
      this.#records.set(name, { record, modRevision: entry.modRevision });
      if (type === 'put') this.#applyPublished(name, record, entry.modRevision);
    } else if (type === 'put' && this.#roles.get(name) === 'prober') {
      // Another instance saw connection errors: check now rather than at the next interval.
      this.#checkNow(name);
    }
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
    const claim = this.#claims.get(name);
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
      if (outcome.won) {
        const known = this.#claims.get(name);
        if (known === undefined || known.createRevision <= outcome.term) {
          this.#claims.set(name, { by: this.identity, addr: formatAddr(server.host, server.port), lease: leaseId, createRevision: outcome.term });
        }
      } else if (outcome.holder !== undefined && (this.#claims.get(name)?.createRevision ?? 0) <= outcome.holder.createRevision) {
        this.#claims.set(name, outcome.holder);
      }
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
    if (probes && shadow === undefined) this.#shadow.add(shadowOptions(this.pool.get(name)));
    else if (!probes && shadow !== undefined) this.#shadow.remove(name);
    if (role !== undefined && role !== previous) this.emit('prober:change', name, role, holder);
  }

  // ---- Results: own checks (publish or apply locally) and published ones (apply). ----

  #onOwnResult(shadow: Server, result: CheckResult): void {
    const name = shadow.name;
    const role = this.#roles.get(name);
    const startedUnder = this.#probeClaims.get(name);
    this.#probeClaims.delete(name);
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
      this.#claims.delete(name);
      this.#reconcile(name);
    }
  }

  #applyPublished(name: string, record: PublishedCheck, modRevision: number): void {
    const previous = this.#applied.get(name);
    if (previous !== undefined && modRevision <= previous.modRevision) return;
    this.#applied.set(name, { modRevision, term: record.term, seq: record.seq });
    // The same result written twice (a retried request) has the same term and seq: apply it once.
    if (previous !== undefined && previous.term === record.term && record.seq <= previous.seq) return;
    if (this.#mode !== 'shared') return;
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

  /** Starts a server from the fleet's verdict: down as the fleet saw it, or fully up; the counter then follows. */
  #restore(server: Server, record: PublishedCheck): void {
    if (!server.check || server.adminState === 'maint' || record.addr !== formatAddr(server.host, server.port)) return;
    const cause: StateCause = { source: 'check', result: { ...record.result, by: record.by } };
    const fullyUp = record.up && record.health >= record.rise + record.fall - 1;
    if (!record.up && server.operationalState !== 'down') this.pool.setHealth(server.name, 'down', cause);
    else if (fullyUp && server.health < server.rise + server.fall - 1) this.pool.setHealth(server.name, 'up', cause);
    else return;
    this.#stats.restored++;
    this.emit('state:restored', server, record);
  }

  // ---- The pool's own events. ----

  #onAdded(server: Server): void {
    const known = this.#records.get(server.name);
    // Synchronously inside pool.add(): the server never takes a connection before the fleet's verdict applies.
    if (this.#o.restore && known !== undefined) this.#restore(server, known.record);
    this.#reconcile(server.name);
  }

  #onRemoved(server: Server): void {
    const name = server.name;
    const mine = this.#mine.get(name);
    this.#mine.delete(name);
    this.#applied.delete(name);
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

/** The prober's copy of a server, starting where the pool's server stands. */
function shadowOptions(server: Server): { name: string; host: string; port: number; check: true; rise: number; fall: number; initState: 'up' | 'fully-up' | 'down' | 'fully-down' } {
  const full = server.rise + server.fall - 1;
  const down = server.operationalState === 'down';
  const initState = down ? (server.health === 0 ? 'fully-down' : 'down') : server.health >= full ? 'fully-up' : 'up';
  return { name: server.name, host: server.host, port: server.port, check: true, rise: server.rise, fall: server.fall, initState };
}

function invalidKey(checker: Record<string, unknown>): LbError {
  const key = 'autoStart' in checker ? 'autoStart' : 'clock';
  return new LbError('ERR_LB_INVALID_ARG', `checker.${key} is set by the fleet (use the fleet's clock option), got ${JSON.stringify(String(checker[key]))}`, {
    details: { field: `checker.${key}` },
  });
}
