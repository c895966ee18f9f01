import type { Clock, TimerHandle } from '../clock.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import { isLeaseNotFound } from './etcd-call.js';
import type { FleetMode, FleetRole, ResolvedFleetOptions } from './fleet-health-options.js';
import type { FleetView } from './fleet-view.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { ProberChecks } from './prober-checks.js';
import type { HeldClaim, ProberClaims } from './prober-claims.js';
import { preferredProber } from './prober-preference.js';
import { formatAddr } from './server-entry.js';

/** What a {@link ProberElection} works with: the fleet health's parts and its callbacks. */
export interface ElectionContext {
  readonly pool: Pool;
  readonly identity: string;
  readonly view: FleetView;
  readonly keeper: LeaseKeeper;
  readonly claims: ProberClaims;
  readonly checks: ProberChecks<HeldClaim>;
  readonly clock: Clock;
  readonly options: Pick<ResolvedFleetOptions, 'spread' | 'claimDelayMs' | 'retryMs'>;
  /** The fleet's mode now; `undefined` once it is closed. */
  mode(): FleetMode | undefined;
  roleChanged(server: string, role: FleetRole, holder: string | undefined): void;
  error(error: unknown): void;
}

/**
 * Who probes which server, from what etcd says: this instance probes a server whose claim carries its lease,
 * follows one claimed by another, claims an unclaimed one (at once when it is the server's preferred prober
 * among the live instances, otherwise after giving the preferred one `claimDelayMs`), and probes everything
 * itself in `local` mode. It starts and stops the instance's own checks to match.
 * @internal Used by {@link FleetHealth}.
 */
export class ProberElection {
  /** The claims this instance holds, by server. */
  readonly mine = new Map<string, HeldClaim>();
  readonly #c: ElectionContext;
  readonly #roles = new Map<string, FleetRole>();
  readonly #claiming = new Set<string>();
  /** Unclaimed servers another instance is preferred for: since when (clock) and the timer to claim them anyway. */
  readonly #waiting = new Map<string, { since: number; timer: TimerHandle | undefined }>();
  /** Servers being handed over to their preferred prober, and to whom each was handed until that one claims it. */
  readonly #handingOver = new Set<string>();
  readonly #handedTo = new Map<string, string>();

  constructor(context: ElectionContext) {
    this.#c = context;
  }

  role(server: string): FleetRole | undefined {
    return this.#roles.get(server);
  }

  /** Unclaimed servers this instance waits on (their preferred prober may change when an instance comes or goes). */
  waitingFor(): string[] {
    return [...this.#waiting.keys()];
  }

  /** The lease is gone (or the fleet closes): no claim is held any more, no claim is pending. */
  dropClaims(): void {
    this.mine.clear();
    for (const name of [...this.#waiting.keys()]) this.#stopWaiting(name);
  }

  /** A server left the pool: its claim (if held) is released, its role ends. */
  removed(name: string): void {
    const held = this.mine.get(name);
    this.mine.delete(name);
    this.#handedTo.delete(name);
    if (held !== undefined) this.#c.claims.release(name, held.lease).catch((err: unknown) => this.#c.error(err));
    this.reconcile(name);
  }

  /** Brings this instance's role for `name` in line with the mode, the pool and the claim etcd last showed. */
  reconcile(name: string): void {
    const mode = this.#c.mode();
    if (mode === undefined) return;
    const server = this.#c.pool.find(name);
    if (server === undefined || !server.check) {
      this.#stopWaiting(name);
      this.#setRole(name, undefined, undefined);
      return;
    }
    if (mode === 'local') {
      this.#setRole(name, 'local', this.#c.identity);
      return;
    }
    if (mode !== 'shared') return;
    const leaseId = this.#c.keeper.leaseId;
    const claim = this.#c.view.claim(name);
    if (claim !== undefined) this.#stopWaiting(name);
    // The instance it was handed to took it: it may be handed to that one again another time.
    if (claim !== undefined && claim.by === this.#handedTo.get(name)) this.#handedTo.delete(name);
    if (claim !== undefined && leaseId !== undefined && claim.lease === leaseId) {
      // Our own claim, seen by the watch before (or instead of) the claim transaction's answer.
      if (!this.mine.has(name)) this.mine.set(name, { lease: leaseId, term: claim.createRevision });
      this.#setRole(name, 'prober', this.#c.identity);
    } else if (claim !== undefined) {
      this.mine.delete(name);
      this.#setRole(name, 'follower', claim.by);
    } else {
      this.mine.delete(name);
      this.#setRole(name, 'follower', undefined);
      if (leaseId !== undefined && this.#claimIsDue(name)) void this.#tryClaim(name, server, leaseId);
    }
  }

  /**
   * Spreading: after a published result, a prober that holds a server another live instance is preferred for
   * releases its claim, so that instance claims it at once. Not again to an instance that did not take it the
   * last time (spreading off there, or unable to claim), which would hand the server back and forth.
   */
  handOverIfNotPreferred(name: string): void {
    const held = this.mine.get(name);
    const preferred = this.#preferred(name);
    if (held === undefined || preferred === this.#c.identity || this.#handedTo.get(name) === preferred || this.#handingOver.has(name)) return;
    this.#handingOver.add(name);
    this.#handedTo.set(name, preferred);
    this.#c.claims
      .release(name, held.lease)
      .catch((err: unknown) => this.#c.error(err))
      .finally(() => this.#handingOver.delete(name));
  }

  /** The live instance preferred to probe `name` (this one counted in), or this instance when not spreading. */
  #preferred(name: string): string {
    if (!this.#c.options.spread) return this.#c.identity;
    return preferredProber(name, new Set([...this.#c.view.members(), this.#c.identity]))!;
  }

  /**
   * Whether to claim an unclaimed server now: at once when this instance is its preferred prober; otherwise
   * once the preferred one has had `claimDelayMs` to claim it (a timer comes back then).
   */
  #claimIsDue(name: string): boolean {
    if (this.#preferred(name) === this.#c.identity) {
      this.#stopWaiting(name);
      return true;
    }
    const clock = this.#c.clock;
    const now = clock.now();
    let wait = this.#waiting.get(name);
    if (wait === undefined) {
      wait = { since: now, timer: undefined };
      this.#waiting.set(name, wait);
    }
    const dueInMs = wait.since + this.#c.options.claimDelayMs - now;
    if (dueInMs <= 0) return true;
    const pending = wait;
    pending.timer ??= clock.setTimeout(() => {
      if (pending.timer === undefined) return;
      pending.timer = undefined;
      this.reconcile(name);
    }, dueInMs);
    return false;
  }

  #stopWaiting(name: string): void {
    const wait = this.#waiting.get(name);
    if (wait === undefined) return;
    wait.timer?.cancel();
    wait.timer = undefined;
    this.#waiting.delete(name);
  }

  async #tryClaim(name: string, server: Server, leaseId: string): Promise<void> {
    if (this.#claiming.has(name)) return;
    this.#claiming.add(name);
    const c = this.#c;
    const value = { by: c.identity, addr: formatAddr(server.host, server.port) };
    try {
      const outcome = await c.claims.claim(name, value, leaseId);
      if (c.mode() === undefined || leaseId !== c.keeper.leaseId || c.pool.find(name) !== server) return;
      if (outcome.won) c.view.learnClaim(name, { ...value, lease: leaseId, createRevision: outcome.term });
      else if (outcome.holder !== undefined) c.view.learnClaim(name, outcome.holder);
    } catch (err) {
      c.error(err);
      if (isLeaseNotFound(err)) c.keeper.invalidate(leaseId, err);
      if (c.mode() !== undefined) c.clock.setTimeout(() => this.reconcile(name), c.options.retryMs);
      return;
    } finally {
      this.#claiming.delete(name);
    }
    this.reconcile(name);
  }

  #setRole(name: string, role: FleetRole | undefined, holder: string | undefined): void {
    const previous = this.#roles.get(name);
    if (role === undefined) this.#roles.delete(name);
    else this.#roles.set(name, role);
    if (role === 'prober' || role === 'local') this.#c.checks.start(this.#c.pool.get(name));
    // A prober that learns another holds its server lets the probe in flight finish (none is started after it):
    // its result goes to etcd under the old claim and the compare refuses it, whatever order events came in.
    else this.#c.checks.stop(name, role === 'follower');
    if (role !== undefined && role !== previous) this.#c.roleChanged(name, role, holder);
  }
}
