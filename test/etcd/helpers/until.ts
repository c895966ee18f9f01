import { preferredProber } from '../../../src/etcd/prober-preference.js';
import type { FleetChild } from './fleet-child.js';

/** Polls `condition` every 25 ms until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function until<T>(condition: () => T | undefined | false, timeoutMs: number, what: string | (() => string)): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The instance's latest role for `server` ('prober' | 'follower' | 'local'), or undefined. */
export function roleOf(child: FleetChild, server: string): string | undefined {
  const roles = child.events('role', server);
  return roles.length === 0 ? undefined : (roles[roles.length - 1]!['role'] as string);
}

/**
 * Waits until exactly one of `children` (alive) probes `server` and the others follow it; returns the prober.
 * When they all spread the probing, the prober must also be the server's preferred one among them (the
 * hand-over after the first claims is over).
 */
export function oneProber(children: readonly FleetChild[], server: string, timeoutMs: number): Promise<FleetChild> {
  const alive = (): FleetChild[] => children.filter((c) => !c.exited);
  return until(
    () => {
      const live = alive();
      const roles = live.map((c) => roleOf(c, server));
      const probers = live.filter((c) => roleOf(c, server) === 'prober');
      if (probers.length !== 1 || !roles.every((r) => r === 'prober' || r === 'follower')) return undefined;
      const settled = !live.every((c) => c.spreads) || probers[0]!.identity === preferredProber(server, live.map((c) => c.identity));
      return settled ? probers[0] : undefined;
    },
    timeoutMs,
    () => `one prober of ${server}: ${alive().map((c) => `${c.identity}=${roleOf(c, server)}`).join(' ')}`,
  );
}

/** The arguments of the next `event` of an eventemitter3 emitter (node:events' `once` is typed for Node's emitters). */
export function nextEvent<A extends unknown[]>(emitter: { once(event: string, fn: (...args: A) => void): unknown }, event: string): Promise<A> {
  return new Promise((resolve) => emitter.once(event, (...args: A) => resolve(args)));
}
