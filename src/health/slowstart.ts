import type { Clock, TimerHandle } from '../clock.js';
import type { Server } from '../server.js';
import type { StateCause } from './check-result.js';
import { FULL_WEIGHT_FACTOR, slowstartFactor, slowstartStepMs } from './hysteresis.js';

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
export class SlowStartRamps {
  readonly #clock: Clock;
  readonly #step: (server: Server, factor: number, cause: StateCause) => void;
  readonly #ramps = new Map<Server, Ramp>();

  constructor(clock: Clock, step: (server: Server, factor: number, cause: StateCause) => void) {
    this.#clock = clock;
    this.#step = step;
  }

  /** Starts a ramp for a server that just came back; returns the factor to apply now (1 of 16). */
  begin(server: Server, cause: StateCause): number {
    this.end(server);
    this.#ramps.set(server, { startMs: this.#clock.now(), cause, timer: this.#schedule(server) });
    return slowstartFactor(0, server.slowstartMs);
  }

  /** Ends a ramp early (the server went down, stopped, or left); returns whether one was running. */
  end(server: Server): boolean {
    const ramp = this.#ramps.get(server);
    if (ramp === undefined) return false;
    ramp.timer.cancel();
    this.#ramps.delete(server);
    return true;
  }

  #schedule(server: Server): TimerHandle {
    return this.#clock.setTimeout(() => this.#tick(server), slowstartStepMs(server.slowstartMs));
  }

  #tick(server: Server): void {
    const ramp = this.#ramps.get(server);
    if (ramp === undefined) return;
    const factor = slowstartFactor(this.#clock.now() - ramp.startMs, server.slowstartMs);
    if (factor >= FULL_WEIGHT_FACTOR) this.#ramps.delete(server);
    this.#step(server, factor, ramp.cause);
    if (this.#ramps.get(server) === ramp) ramp.timer = this.#schedule(server);
  }
}
