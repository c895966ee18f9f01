import { invalidArg } from '../errors.js';

/** Validation helpers shared by every constructor. Each throws `ERR_LB_INVALID_ARG` naming the field. */

export function integerInRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArg(field, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidArg(field, 'must be a positive integer', value);
  }
  return value;
}

export function nonNegativeInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArg(field, 'must be a non-negative integer', value);
  }
  return value;
}

/** A duration in milliseconds: a non-negative finite number, or `Infinity` when `allowInfinite`. */
export function durationMs(field: string, value: unknown, { allowInfinite = false, allowZero = true } = {}): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (allowZero ? value >= 0 : value > 0) &&
    (Number.isFinite(value) || (allowInfinite && value === Infinity));
  if (!ok) {
    throw invalidArg(
      field,
      `must be ${allowZero ? 'a non-negative' : 'a positive'} number of milliseconds${allowInfinite ? ' or Infinity' : ''}`,
      value,
    );
  }
  return value;
}

export function boolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArg(field, 'must be a boolean', value);
  return value;
}

export function nonEmptyString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArg(field, 'must be a non-empty string', value);
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArg(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

export function plainObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArg(field, 'must be an object', value);
  }
  return value as Record<string, unknown>;
}

/** Rejects keys an options object should not have: a misspelt option must not pass silently. */
export function knownKeys(field: string, value: Record<string, unknown>, known: readonly string[]): void {
  // A Set per list of keys, made once: discovery checks the keys of 10 000 entries against the same list.
  let set = KNOWN_SETS.get(known);
  if (set === undefined) KNOWN_SETS.set(known, (set = new Set(known)));
  for (const key in value) {
    if (!set.has(key) && Object.hasOwn(value, key)) throw invalidArg(`${field}.${key}`, `is not a known option (known: ${known.join(', ')})`, value[key]);
  }
}

const KNOWN_SETS = new WeakMap<readonly string[], ReadonlySet<string>>();

/** True for what the hash strategies take as an affinity key: a string, a finite number, or `undefined` (none). */
export function isAffinityKey(key: unknown): key is string | number | undefined {
  return key === undefined || typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key));
}

/** The affinity part of acquire/connect options: `clientAddress`, `key` and `signal`, each optional. */
export function affinity(o: Record<string, unknown>): {
  clientAddress: string | undefined;
  key: string | number | undefined;
  signal: AbortSignal | undefined;
} {
  const clientAddress = o['clientAddress'];
  if (clientAddress !== undefined && typeof clientAddress !== 'string') throw invalidArg('clientAddress', 'must be a string', clientAddress);
  const key = o['key'];
  if (!isAffinityKey(key)) throw invalidArg('key', 'must be a string or a finite number', key);
  const signal = o['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArg('signal', 'must be an AbortSignal', signal);
  return { clientAddress, key, signal };
}
