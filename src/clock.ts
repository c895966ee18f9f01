/** A cancellable timer handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Stops the timer; calling it again, or after the timer fired, does nothing. */
  cancel(): void;
}

/** Options of {@link Clock.setTimeout}. */
export interface TimerOptions {
  /**
   * Keep the process alive while the timer is pending. Set for timers a caller is awaiting (a queue wait, a
   * retry's turn-around delay): without it, a process with nothing else to do would exit with the caller's
   * promise never settled. Background timers (checks, refreshes, sweeps) leave it unset so a host can exit.
   * @defaultValue false
   */
  readonly keepAlive?: boolean;
}

/**
 * The source of time for everything switchyard schedules. The default uses the process clock;
 * tests pass a {@link ManualClock} and move time themselves.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /**
   * Runs `callback` after `delayMs`. Timers do not keep the process alive (the system clock unrefs them)
   * unless `options.keepAlive` is set.
   */
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle;
}

/** The process clock: `performance.now()`, and timers unref'd unless `keepAlive` is asked for. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    if (options?.keepAlive !== true) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
});

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. Timers fire in due order (ties in creation order)
 * during {@link ManualClock.advance}.
 *
 * @example
 * ```ts
 * const clock = new ManualClock()
 * const checker = new ActiveChecker(pool, { clock })
 * clock.advance(2000) // runs every check due in the next two seconds
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: ManualTimer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Moves time to `target` (never backwards), firing every timer that falls due, in order. */
  advanceTo(target: number): void {
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      next.cancelled = true;
      next.callback();
    }
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    this.#now = Math.max(this.#now, target);
  }

  #nextDue(target: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers) {
      if (t.cancelled || t.at > target) continue;
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
