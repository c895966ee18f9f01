import type { Clock, TimerHandle } from '../clock.js';
import type { StateCause } from './check-result.js';
import { FULL_WEIGHT_FACTOR, slowstartFactor, slowstartStepMs } from './health-counter.js';

/** What a ramp needs of a server. */
export interface RampedServer {
  readonly slowstartMs: number;
}

interface Ramp {
  readonly startMs: number;
  readonly cause: StateCause;
  timer: TimerHandle;
}

/**
 * @internal The slow-start ramps in progress in one pool (HAProxy's per-server warmup task): when each began,
 * and a timer for its next step every `max(1 s, slowstart / 20)`. Each step hands the new weight factor to
 * `step`, which applies it through the pool (the single writer of server state); a factor of 16 ends the ramp.
 */
export class SlowStartRamps<S extends RampedServer> {
  readonly #clock: Clock;
  readonly #step: (server: S, factor: number, cause: StateCause) => void;
  readonly #ramps = new Map<S, Ramp>();

  constructor(clock: Clock, step: (server: S, factor: number, cause: StateCause) => void) {
    this.#clock = clock;
    this.#step = step;
  }

  /** Starts a ramp for a server that just came back; returns the factor to apply now (1 of 16). */
  begin(server: S, cause: StateCause): number {
    this.end(server);
    this.#ramps.set(server, { startMs: this.#clock.now(), cause, timer: this.#schedule(server) });
    return slowstartFactor(0, server.slowstartMs);
  }

  /** Ends a ramp early (the server went down, stopped, or left); returns whether one was running. */
  end(server: S): boolean {
    const ramp = this.#ramps.get(server);
    if (ramp === undefined) return false;
    ramp.timer.cancel();
    this.#ramps.delete(server);
    return true;
  }

  #schedule(server: S): TimerHandle {
    return this.#clock.setTimeout(() => this.#tick(server), slowstartStepMs(server.slowstartMs));
  }

  #tick(server: S): void {
    const ramp = this.#ramps.get(server);
    if (ramp === undefined) return;
    const factor = slowstartFactor(this.#clock.now() - ramp.startMs, server.slowstartMs);
    if (factor >= FULL_WEIGHT_FACTOR) this.#ramps.delete(server);
    this.#step(server, factor, ramp.cause);
    if (this.#ramps.get(server) === ramp) ramp.timer = this.#schedule(server);
  }
}
