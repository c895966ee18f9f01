import * as v from '../internal/validate.js';
import { invalidArg } from '../errors.js';

/** Reconnection delays of the ADS stream: gRPC's connection backoff (A6), on the injected clock. */
export interface XdsBackoffOptions {
  /** Delay after the first failed attempt, ms. @defaultValue 1000 */
  readonly initialMs?: number;
  /** Longest delay, ms. @defaultValue 30000 */
  readonly maxMs?: number;
  /** Growth per failed attempt in a row. @defaultValue 1.6 */
  readonly multiplier?: number;
  /** Random spread, as a fraction of the delay (0.2 = ±20 %). @defaultValue 0.2 */
  readonly jitter?: number;
}

/** Default values of {@link XdsBackoffOptions}. */
export const XDS_BACKOFF_DEFAULTS = Object.freeze({ initialMs: 1000, maxMs: 30_000, multiplier: 1.6, jitter: 0.2 });

/** Validated backoff settings. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: number;
}

export function resolveBackoff(value: unknown): Backoff {
  const o = v.plainObject('backoff', value ?? {});
  v.knownKeys('backoff', o, ['initialMs', 'maxMs', 'multiplier', 'jitter']);
  const initialMs = v.durationMs('backoff.initialMs', o['initialMs'] ?? XDS_BACKOFF_DEFAULTS.initialMs, { allowZero: false });
  const maxMs = v.durationMs('backoff.maxMs', o['maxMs'] ?? XDS_BACKOFF_DEFAULTS.maxMs, { allowZero: false });
  if (maxMs < initialMs) throw invalidArg('backoff.maxMs', `must be at least backoff.initialMs (${initialMs})`, maxMs);
  const multiplier = o['multiplier'] ?? XDS_BACKOFF_DEFAULTS.multiplier;
  if (typeof multiplier !== 'number' || !(multiplier >= 1) || !Number.isFinite(multiplier)) throw invalidArg('backoff.multiplier', 'must be a number of at least 1', multiplier);
  const jitter = o['jitter'] ?? XDS_BACKOFF_DEFAULTS.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) throw invalidArg('backoff.jitter', 'must be a number from 0 to less than 1', jitter);
  return { initialMs, maxMs, multiplier, jitter };
}

/** The delay before attempt number `failures + 1`, after `failures` (≥ 1) failed attempts in a row. */
export function backoffDelay(b: Backoff, failures: number, random: () => number): number {
  const base = Math.min(b.maxMs, b.initialMs * b.multiplier ** Math.min(failures - 1, 64));
  return Math.round(base * (1 + b.jitter * (2 * random() - 1)));
}
