/**
 * HAProxy time values (`doc/configuration.txt` §2.5): an integer in milliseconds unless suffixed with
 * `us`, `ms`, `s`, `m`, `h` or `d`. `inter 4` is 4 ms, not 4 s. Values are rounded up to whole
 * milliseconds (`1us` is 1 ms) and capped at 2147483647 ms (~24.8 days), like HAProxy's `parse_time_err()`.
 */

/** The largest time value HAProxy accepts, in milliseconds (2^31 − 1, ~24.8 days). */
export const MAX_TIME_MS = 2_147_483_647;

/** The suffixes HAProxy accepts, with their length in microseconds. */
const UNIT_US: Readonly<Record<string, number>> = Object.freeze({
  us: 1,
  ms: 1_000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
  d: 86_400_000_000,
});

/** The result of {@link parseTime}: milliseconds, or why the text is not a time value. */
export type TimeParse =
  | { readonly ok: true; readonly ms: number }
  /** Nothing to parse (an empty argument). */
  | { readonly ok: false; readonly reason: 'empty' }
  /** The text does not start with a digit, or the unit is not one of HAProxy's. */
  | { readonly ok: false; readonly reason: 'unexpected-char'; readonly char: string }
  /** A valid unit followed by more text (`1m30s`, `5sx`): HAProxy 2.6 warns and ignores the rest; switchyard refuses it. */
  | { readonly ok: false; readonly reason: 'trailing'; readonly char: string }
  /** More than {@link MAX_TIME_MS}. */
  | { readonly ok: false; readonly reason: 'overflow' };

/** Parses an HAProxy time value into milliseconds. Never throws. */
export function parseTime(text: string): TimeParse {
  if (text.length === 0) return { ok: false, reason: 'empty' };
  let i = 0;
  let value = 0;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) {
    // Past 2^53 the arithmetic is inexact, but anything that large overflows anyway.
    if (value < 1e16) value = value * 10 + (text.charCodeAt(i) - 48);
    i++;
  }
  if (i === 0) return { ok: false, reason: 'unexpected-char', char: text.charAt(0) };
  const rest = text.slice(i);
  let unit = '';
  if (rest.length > 0) {
    unit = rest.startsWith('us') || rest.startsWith('ms') ? rest.slice(0, 2) : rest.charAt(0);
    if (UNIT_US[unit] === undefined) return { ok: false, reason: 'unexpected-char', char: rest.charAt(0) };
    if (rest.length > unit.length) return { ok: false, reason: 'trailing', char: rest.charAt(unit.length) };
  }
  const us = value * (UNIT_US[unit === '' ? 'ms' : unit] ?? 1_000);
  const ms = Math.ceil(us / 1_000);
  if (!Number.isFinite(ms) || ms > MAX_TIME_MS) return { ok: false, reason: 'overflow' };
  return { ok: true, ms };
}

/**
 * Renders milliseconds the way an HAProxy user would write them, with the largest unit that divides
 * the value exactly: `4000` → `4s`, `90000` → `90s`, `120000` → `2m`, `250` → `250ms`.
 */
export function formatTime(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
