import type { ManualClock } from '../../src/clock.js';
import type { CheckResult } from '../../src/state/check-result.js';
import type { Probe } from '../../src/health/probe.js';
import type { Pool } from '../../src/pool.js';
import type { Server } from '../../src/server.js';

/** Lets every pending promise callback run (p-limit and probes resolve through microtasks). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves a manual clock forward one millisecond at a time, letting checks run and settle at each instant, so a
 * check started at t that resolves at once completes at t (never at the end of a bigger jump).
 */
export async function run(clock: ManualClock, ms: number): Promise<void> {
  await settleNow(clock);
  for (let i = 0; i < ms; i++) {
    clock.advance(1);
    await flush();
    await settleNow(clock);
  }
}

/** Runs what is due now, including zero-delay timers scheduled by callbacks (a bounded number of rounds). */
async function settleNow(clock: ManualClock): Promise<void> {
  for (let round = 0; round < 3; round++) {
    clock.advance(0);
    await flush();
  }
}

export const REFUSED: CheckResult = Object.freeze({ status: 'L4CON', info: 'Connection refused' });
export const PASSED: CheckResult = Object.freeze({ status: 'L4OK' });

/**
 * A stand-in for loopback servers whose ports can be opened and closed: its probe answers like the plain TCP
 * check against them (`L4OK` when open, `L4CON Connection refused` when closed) and records each check's start.
 */
export class FakeNetwork {
  readonly #open = new Set<string>();
  readonly checks: { readonly at: number; readonly server: string }[] = [];
  readonly #now: () => number;

  constructor(clock: { now(): number }, open: readonly string[] = []) {
    this.#now = () => clock.now();
    for (const name of open) this.#open.add(name);
  }

  open(name: string): void {
    this.#open.add(name);
  }

  close(name: string): void {
    this.#open.delete(name);
  }

  /** Check times of one server. */
  checkTimes(name: string): number[] {
    return this.checks.filter((c) => c.server === name).map((c) => c.at);
  }

  readonly probe: Probe = async (server: Server) => {
    this.checks.push({ at: this.#now(), server: server.name });
    return this.#open.has(server.name) ? PASSED : REFUSED;
  };
}

/** Records every displayed-status change with the clock time: `[t, 'UP 2/3']`. */
export function statusTimeline(pool: Pool, clock: { now(): number }, name: string): [number, string][] {
  const timeline: [number, string][] = [];
  pool.on('server:state', (server) => {
    if (server.name === name) timeline.push([clock.now(), server.status]);
  });
  return timeline;
}
