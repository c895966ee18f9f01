import type { Clock } from '../clock.js';
import { ActiveChecker } from '../health/active-checker.js';
import type { Probe } from '../health/probe.js';
import { Pool } from '../pool.js';
import type { InitState, Server } from '../server.js';
import type { CheckCause, CheckResult } from '../state/check-result.js';
import type { FleetCheckerOptions } from './fleet-health-options.js';

/**
 * The checks one instance runs itself: a private pool with a copy of each server it probes (as the elected
 * prober, or for itself while etcd cannot be reached), driven by the usual `ActiveChecker`, so each copy's
 * own counter drives the schedule (`fastinter`, `downinter`) exactly as for a lone checker. The copies' results
 * are handed to `onResult`; they never touch the user's pool directly.
 *
 * Each probe remembers the claim it started under (`currentClaim` at its start): its result is offered to etcd
 * under that claim even if the instance has since judged the claim lost, so etcd's compare decides (a stale one
 * is fenced) whatever order events arrive in.
 * @internal Used by {@link FleetHealth}.
 */
export class ProberChecks<C> {
  readonly #copies: Pool;
  readonly #checker: ActiveChecker;
  /** Servers with a probe in flight, and the claim each started under. */
  readonly #inFlight = new Map<string, C | undefined>();
  /** Servers to drop from the copies once their probe in flight has reported. */
  readonly #retiring = new Set<string>();

  constructor(
    pool: Pool,
    clock: Clock,
    checker: FleetCheckerOptions,
    probe: Probe,
    currentClaim: (server: string) => C | undefined,
    onResult: (copy: Server, result: CheckResult, startedUnder: C | undefined) => void,
  ) {
    const tracked: Probe = (server, signal, context) => {
      this.#inFlight.set(server.name, currentClaim(server.name));
      return probe(server, signal, context);
    };
    // The checker accepts per-server settings (`checker.servers`) only for servers its pool has, checked: it starts
    // with a copy of each server they name (or without it, and refuses the setting as it would for the user's pool),
    // then probes nothing until this instance is given servers to probe.
    const named = Object.keys(checker.servers ?? {}).flatMap((name) => {
      const server = pool.find(name);
      return server === undefined ? [] : [{ ...copyOf(server), check: server.check }];
    });
    this.#copies = new Pool(pool.name, { clock, servers: named });
    this.#checker = new ActiveChecker(this.#copies, { ...checker, probe: tracked, clock, autoStart: true });
    for (const seed of named) this.#copies.remove(seed.name);
    const reported = (copy: Server, cause: CheckCause): void => {
      if (cause.source !== 'check') return;
      const name = copy.name;
      const startedUnder = this.#inFlight.get(name);
      this.#inFlight.delete(name);
      // Out of the copies once this event is over, before the checker schedules another check.
      if (this.#retiring.has(name)) queueMicrotask(() => this.#retiring.has(name) && this.#drop(name));
      onResult(copy, cause.result, startedUnder);
    };
    this.#copies.on('check:pass', reported);
    this.#copies.on('check:fail', reported);
  }

  /** How many servers this instance probes now. */
  get size(): number {
    return this.#copies.size;
  }

  has(server: string): boolean {
    return this.#copies.find(server) !== undefined;
  }

  /** Starts probing `server` (a user pool's server), its copy starting where that server stands. */
  start(server: Server): void {
    this.#retiring.delete(server.name);
    if (this.#copies.find(server.name) === undefined) this.#copies.add(copyOf(server));
  }

  /**
   * Stops probing `server`. With `letFinish`, a probe in flight reports first (no other is started after it):
   * a prober that learns another instance holds its server offers that result under its old claim.
   */
  stop(server: string, letFinish: boolean): void {
    if (this.#copies.find(server) === undefined) return;
    if (letFinish && this.#inFlight.has(server)) this.#retiring.add(server);
    else this.#drop(server);
  }

  /** Checks `server` now rather than at its next interval (passive observation saw errors). */
  checkNow(server: string): void {
    const copy = this.#copies.find(server);
    if (copy !== undefined && this.#checker.running) this.#checker.checkNow(copy);
  }

  /** Stops every check; a probe in flight is aborted. */
  close(): Promise<void> {
    return this.#checker.close();
  }

  #drop(server: string): void {
    this.#retiring.delete(server);
    this.#inFlight.delete(server);
    if (this.#copies.find(server) !== undefined) this.#copies.remove(server);
  }
}

/** The prober's private copy of a pool server, starting where that server stands. */
export function copyOf(server: Server): { name: string; host: string; port: number; check: true; rise: number; fall: number; initState: InitState } {
  const full = server.rise + server.fall - 1;
  const down = server.operationalState === 'down';
  const initState: InitState = down ? (server.health === 0 ? 'fully-down' : 'down') : server.health >= full ? 'fully-up' : 'up';
  return { name: server.name, host: server.host, port: server.port, check: true, rise: server.rise, fall: server.fall, initState };
}
