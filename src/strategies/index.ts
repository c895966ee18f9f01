import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { First } from './first.js';
import { LeastConn } from './leastconn.js';
import { PowerOfTwoChoices } from './p2c.js';
import { RandomStrategy, type RandomStrategyOptions } from './random.js';
import { RoundRobin } from './roundrobin.js';
import { SmoothWeightedRoundRobin } from './smooth-weighted-rr.js';
import { SourceHash, type SourceHashOptions } from './source.js';
import { StaticRoundRobin } from './static-rr.js';
import type { Strategy } from './strategy.js';

/** Names of the built-in strategies. The first six are HAProxy's `balance` algorithms. */
export type StrategyName = 'roundrobin' | 'static-rr' | 'leastconn' | 'first' | 'source' | 'random' | 'swrr' | 'p2c';

/** The names accepted by {@link createStrategy}, in documentation order. */
export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze([
  'roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'random', 'swrr', 'p2c',
]);

/** A built-in strategy by name, or by name with options. */
export type StrategySpec =
  | StrategyName
  | {
      readonly name: 'source';
      readonly hashType?: 'map-based' | 'consistent';
      readonly hashBalanceFactor?: number;
      readonly hashKey?: SourceHashOptions['hashKey'];
    }
  | { readonly name: 'random'; readonly draws?: number; readonly hashBalanceFactor?: number; readonly hashKey?: RandomStrategyOptions['hashKey'] }
  | { readonly name: Exclude<StrategyName, 'source' | 'random'> };

/**
 * Builds a fresh built-in strategy. Each {@link Balancer} needs its own instance (strategies keep state).
 * Throws `ERR_LB_INVALID_ARG` for an unknown name or bad options.
 */
export function createStrategy(spec: StrategySpec): Strategy {
  const o: Record<string, unknown> = typeof spec === 'string' ? { name: spec } : v.plainObject('strategy', spec);
  const name = o['name'];
  switch (name) {
    case 'roundrobin':
      v.knownKeys('strategy', o, ['name']);
      return new RoundRobin();
    case 'static-rr':
      v.knownKeys('strategy', o, ['name']);
      return new StaticRoundRobin();
    case 'leastconn':
      v.knownKeys('strategy', o, ['name']);
      return new LeastConn();
    case 'first':
      v.knownKeys('strategy', o, ['name']);
      return new First();
    case 'source':
      v.knownKeys('strategy', o, ['name', 'hashType', 'hashBalanceFactor', 'hashKey']);
      return new SourceHash({
        hashType: v.oneOf('strategy.hashType', o['hashType'] ?? 'map-based', ['map-based', 'consistent']),
        ...bounded(o),
      });
    case 'random':
      v.knownKeys('strategy', o, ['name', 'draws', 'hashBalanceFactor', 'hashKey']);
      return new RandomStrategy({ draws: v.integerInRange('strategy.draws', o['draws'] ?? 2, 1, 100), ...bounded(o) });
    case 'swrr':
      v.knownKeys('strategy', o, ['name']);
      return new SmoothWeightedRoundRobin();
    case 'p2c':
      v.knownKeys('strategy', o, ['name']);
      return new PowerOfTwoChoices();
    default:
      throw invalidArg('strategy', `must be one of ${STRATEGY_NAMES.map((n) => `'${n}'`).join(', ')} or a Strategy object`, name ?? spec);
  }
}

/** The bounded-load and hash-key options of a spec, only those given (validated by the strategy). */
function bounded(o: Record<string, unknown>): { hashBalanceFactor?: number; hashKey?: NonNullable<SourceHashOptions['hashKey']> } {
  const out: { hashBalanceFactor?: number; hashKey?: NonNullable<SourceHashOptions['hashKey']> } = {};
  if (o['hashBalanceFactor'] !== undefined) out.hashBalanceFactor = o['hashBalanceFactor'] as number;
  if (o['hashKey'] !== undefined) out.hashKey = o['hashKey'] as NonNullable<SourceHashOptions['hashKey']>;
  return out;
}
