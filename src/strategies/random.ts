import { invalidArg } from '../errors.js';
import type { Server } from '../server.js';
import { BoundedLoad, validateBalanceFactor, validateHashKey } from './internal/bounded-load.js';
import { GroupRings } from './internal/chash-ring.js';
import type { HashKeyKind } from './internal/server-hash-key.js';
import type { PickContext, Strategy } from './strategy.js';

/** Options of {@link RandomStrategy}. */
export interface RandomStrategyOptions {
  /** Random draws per pick (HAProxy `random(N)`), 1–100; the least loaded drawn server wins. @defaultValue 2 */
  readonly draws?: number;
  /**
   * Bounded loads on the ring lookups (HAProxy's `hash-balance-factor` applies to `balance random` too): see
   * `SourceHashOptions.hashBalanceFactor`. @defaultValue 0 (off)
   */
  readonly hashBalanceFactor?: number;
  /** Where each server's ring points come from (HAProxy 3.0's `hash-key`): see `SourceHashOptions.hashKey`. @defaultValue 'id' */
  readonly hashKey?: HashKeyKind | ((server: Server) => HashKeyKind);
}

/** Default values of {@link RandomStrategyOptions}. */
export const RANDOM_DEFAULTS = Object.freeze({ draws: 2 });

const TWO_POW_32 = 4294967296;

/**
 * Weighted random choice, exactly as HAProxy 2.6's `balance random(N)` (`src/backend.c get_server_rnd()`).
 *
 * Each draw takes a random 32-bit number (from the balancer's `random` source) and looks it up on the same
 * consistent-hash ring as `source` with `hashType: 'consistent'` (16 points per weight unit), so the
 * chance of a server is its share of the ring — proportional to its weight, lumpy with few servers.
 * With N draws, a later draw replaces the best so far unless it has strictly more connections per weight
 * (`served × eweight` cross products; ties go to the later draw). The server to avoid (a retry) is skipped
 * on the ring. If the winner is full, the pick returns nothing and the caller waits in the balancer's
 * queue, like HAProxy's backend queue. O(N log points) per pick.
 *
 * @example
 * ```ts
 * const balancer = new Balancer(pool, { strategy: new RandomStrategy({ draws: 2 }) })
 * // or strategy: { name: 'random', draws: 2 }; pass `random` to the Balancer for reproducible picks
 * ```
 */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  readonly usesClientAddress = false;
  /** HAProxy's leastconn and random still pick while others wait in the backend queue. */
  readonly queueBehindWaiters = false;
  /** Draws per pick. */
  readonly draws: number;
  /** The options this strategy was built with (validated), to build another like it. */
  readonly options: RandomStrategyOptions;
  readonly #rings: GroupRings;
  readonly #bounded: BoundedLoad | undefined;

  constructor(options: RandomStrategyOptions = {}) {
    const draws = options?.draws ?? RANDOM_DEFAULTS.draws;
    if (typeof draws !== 'number' || !Number.isInteger(draws) || draws < 1 || draws > 100) {
      throw invalidArg('draws', 'must be an integer from 1 to 100', draws);
    }
    this.draws = draws;
    const factor = validateBalanceFactor(options.hashBalanceFactor);
    this.#rings = new GroupRings(validateHashKey(options.hashKey));
    this.#bounded = factor > 0 ? new BoundedLoad(factor) : undefined;
    this.options = Object.freeze({ ...options, draws });
  }

  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    const ring = this.#rings.ring(ctx.group);
    const avoid = this.#bounded === undefined ? ctx : this.#bounded.prepare(candidates, ctx);
    let best: Server | undefined;
    for (let n = 0; n < this.draws; n++) {
      const drawn = ring.lookup(Math.floor(ctx.random() * TWO_POW_32) >>> 0, avoid);
      if (drawn === undefined) return undefined;
      if (best !== undefined && best !== drawn && drawn.currentConnections * best.effectiveWeight > best.currentConnections * drawn.effectiveWeight) {
        continue;
      }
      best = drawn;
    }
    return best !== undefined && ctx.isFull(best) ? undefined : best;
  }

  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#rings.reset(active, backup);
    this.#bounded?.reset(active, backup);
  }

  serverUsable(server: Server): void {
    this.#rings.update(server);
    this.#bounded?.changed();
  }

  serverUnusable(server: Server): void {
    this.#rings.remove(server);
    this.#bounded?.changed();
  }

  weightChanged(server: Server): void {
    this.#rings.update(server);
    this.#bounded?.changed();
  }

  acquired(): void {
    this.#bounded?.acquired();
  }

  released(): void {
    this.#bounded?.released();
  }

}
