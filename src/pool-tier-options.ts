import { invalidArg } from './errors.js';
import * as v from './internal/validate.js';
import type { TierOptions } from './pool-events.js';

/** Default values of {@link TierOptions}. */
export const TIER_DEFAULTS = Object.freeze({
  panicThresholdPercent: 0,
  overprovisioningFactor: 1.4,
});

/** @internal The keys of {@link TierOptions}. */
export const TIER_KEYS = ['panicThresholdPercent', 'overprovisioningFactor', 'localityWeights'] as const;

/** @internal Validated tier options. */
export interface ResolvedTierOptions {
  readonly panicThresholdPercent: number;
  readonly overprovisioningFactor: number;
  readonly localityWeights: ReadonlyMap<string, number> | undefined;
}

/** @internal Validates tier options over `base` (the current ones). */
export function resolveTierOptions(o: Record<string, unknown>, base: ResolvedTierOptions, keys: readonly string[] = TIER_KEYS): ResolvedTierOptions {
  v.knownKeys('tier options', o, keys);
  const panic = o['panicThresholdPercent'] === undefined ? base.panicThresholdPercent : o['panicThresholdPercent'];
  if (typeof panic !== 'number' || !(panic >= 0 && panic <= 100)) throw invalidArg('panicThresholdPercent', 'must be a number from 0 to 100', panic);
  const factor = o['overprovisioningFactor'] === undefined ? base.overprovisioningFactor : o['overprovisioningFactor'];
  if (typeof factor !== 'number' || !(factor > 0 && factor <= 100)) throw invalidArg('overprovisioningFactor', 'must be a number above 0 and at most 100', factor);
  let weights = base.localityWeights;
  if ('localityWeights' in o) {
    const w = o['localityWeights'];
    if (w === undefined) weights = undefined;
    else {
      const m = new Map<string, number>();
      for (const [name, weight] of Object.entries(v.plainObject('localityWeights', w))) {
        if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw invalidArg(`localityWeights.${name}`, 'must be a finite number ≥ 0', weight);
        m.set(name, weight);
      }
      weights = m;
    }
  }
  return { panicThresholdPercent: panic, overprovisioningFactor: factor, localityWeights: weights };
}

/** @internal The tier options a pool starts from. */
export const DEFAULT_TIER_OPTIONS: ResolvedTierOptions = Object.freeze({ ...TIER_DEFAULTS, localityWeights: undefined });
