import type { Server } from '../server.js';
import { intervalKind } from '../state/health-counter.js';
import type { CheckSettings } from './active-checker-options.js';

/*
 * When a server is checked next, as HAProxy schedules it. Pure functions of the server's health and the
 * checker's settings; the checker owns the timers.
 */

/** HAProxy `SRV_CHK_INTER_THRES`: shorter intervals do not dictate how the first checks are spread. */
const SPREAD_THRESHOLD_MS = 1000;

/** @internal HAProxy `srv_getinter()`: the interval for the server's current health. */
export function checkInterval(server: Server, s: CheckSettings): number {
  const kind = intervalKind(server.health, server.rise, server.fall, server.operationalState === 'down');
  if (kind === 'down') return s.downinterMs ?? s.interMs;
  if (kind === 'fast') return s.fastinterMs ?? s.interMs;
  return s.interMs;
}

/**
 * @internal HAProxy `start_checks()`: the delay of each server's first check, in order. Server `i` of `n` is
 * first checked after `m × i / n`, where `m` is the larger of the smallest interval of at least one second and
 * the server's own current interval, capped by `maxSpreadChecksMs` when that is set.
 */
export function firstCheckDelays(
  servers: readonly Server[],
  settingsOf: (server: Server) => CheckSettings,
  maxSpreadChecksMs: number,
): number[] {
  let minInter = 0;
  for (const server of servers) {
    const interval = checkInterval(server, settingsOf(server));
    if (interval >= SPREAD_THRESHOLD_MS && (minInter === 0 || interval < minInter)) minInter = interval;
  }
  return servers.map((server, position) => {
    let spread = Math.max(minInter, checkInterval(server, settingsOf(server)));
    if (maxSpreadChecksMs > 0) spread = Math.min(spread, maxSpreadChecksMs);
    return Math.floor((spread * position) / servers.length);
  });
}

/** @internal `base` with HAProxy's `spread-checks` jitter of ± `spreadChecks` percent, never negative. */
export function spreadInterval(base: number, spreadChecks: number, random: () => number): number {
  if (spreadChecks <= 0) return base;
  const range = Math.floor((base * spreadChecks) / 100);
  return Math.max(0, base + range - Math.floor(2 * range * random()));
}
