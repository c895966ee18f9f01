import type { Clock, TimerHandle } from '../clock.js';
import * as v from '../internal/validate.js';
import { type Behaviour, type BehaviourSpec, resolveBehaviour } from './behaviour.js';

/** Options of {@link FaultBackend.flap}. */
export interface FlapOptions {
  /** Time spent up in each cycle, ms of the backend's clock. */
  readonly upMs: number;
  /** Time spent down in each cycle, ms. */
  readonly downMs: number;
  /** The behaviour while down. @defaultValue 'refuse' */
  readonly down?: BehaviourSpec;
  /** The behaviour while up. @defaultValue 'serve' */
  readonly up?: BehaviourSpec;
  /** Going down also resets every open connection (a crash rather than a stopped listener). @defaultValue false */
  readonly resetOnDown?: boolean;
  /** Number of up→down→up cycles; it then stays up. @defaultValue Infinity */
  readonly cycles?: number;
  /** Start with the down phase instead of the up phase. @defaultValue false */
  readonly startDown?: boolean;
}

/** A flapping schedule started by {@link FaultBackend.flap}. */
export interface Flapping {
  /** Completed down phases so far. */
  readonly downs: number;
  /** Stops the schedule and resolves once the backend is in its `up` behaviour again. Idempotent. */
  stop(): Promise<void>;
}

/** @internal Validated {@link FlapOptions}. */
export interface FlapPlan {
  readonly upMs: number;
  readonly downMs: number;
  readonly down: Behaviour;
  readonly up: Behaviour;
  readonly resetOnDown: boolean;
  readonly cycles: number;
  readonly startDown: boolean;
}

/** @internal What a schedule drives: the backend's own `set` and `kill`, and what it tells its owner. */
export interface FlapTarget {
  set(behaviour: BehaviourSpec): Promise<void>;
  kill(behaviour: BehaviourSpec): Promise<void>;
  /** True once the backend is closed: stopping then leaves its behaviour alone. */
  isStopped(): boolean;
  /** The schedule is over (its cycles done, or stopped). */
  flapEnded(flapping: Flapping): void;
}

const FLAP_KEYS = ['upMs', 'downMs', 'down', 'up', 'resetOnDown', 'cycles', 'startDown'] as const;

/** @internal */
export function resolveFlapOptions(options: FlapOptions): FlapPlan {
  const o = v.plainObject('flap options', options);
  v.knownKeys('flap options', o, FLAP_KEYS);
  return {
    upMs: v.durationMs('upMs', o['upMs']),
    downMs: v.durationMs('downMs', o['downMs']),
    down: resolveBehaviour(o['down'] ?? 'refuse'),
    up: resolveBehaviour(o['up'] ?? 'serve'),
    resetOnDown: v.boolean('resetOnDown', o['resetOnDown'] ?? false),
    cycles: o['cycles'] === undefined || o['cycles'] === Infinity ? Infinity : v.positiveInteger('cycles', o['cycles']),
    startDown: v.boolean('startDown', o['startDown'] ?? false),
  };
}

/**
 * @internal Starts going down and up on `clock`: each phase's time counts from the moment the previous
 * transition took effect.
 */
export function startFlapping(target: FlapTarget, clock: Clock, plan: FlapPlan): Flapping {
  const { upMs, downMs, down, up, resetOnDown, cycles } = plan;
  let timer: TimerHandle | undefined;
  let stopped = false;
  let downs = 0;
  let stopping: Promise<void> | undefined;
  const phase = (goingDown: boolean): void => {
    if (stopped) return;
    const change = goingDown ? (resetOnDown ? target.kill(down) : target.set(down)) : target.set(up);
    void change.then(
      () => {
        if (stopped) return;
        if (goingDown) {
          timer = clock.setTimeout(() => phase(false), downMs);
        } else if (++downs < cycles) {
          timer = clock.setTimeout(() => phase(true), upMs);
        } else {
          target.flapEnded(handle);
        }
      },
      () => {},
    );
  };
  const handle: Flapping = {
    get downs() {
      return downs;
    },
    stop: (): Promise<void> => {
      stopping ??= (async () => {
        stopped = true;
        timer?.cancel();
        target.flapEnded(handle);
        if (!target.isStopped()) await target.set(up).catch(() => {});
      })();
      return stopping;
    },
  };
  if (plan.startDown) phase(true);
  else timer = clock.setTimeout(() => phase(true), upMs);
  return handle;
}
