import type { Server } from '../server.js';
import type { PickContext, Strategy } from './strategy.js';

/**
 * Draws tried before falling back to a scan. With half the candidates full, 8 draws all miss with
 * probability 1/256; the scan keeps the draw exactly uniform, it only costs O(n).
 */
const DRAW_ATTEMPTS = 8;

/**
 * Power of two choices, in the style of Envoy's least-request balancer: two distinct candidates drawn
 * uniformly at random (with `ctx.random`) among those that can take a connection, and the one with fewer
 * connections per unit of weight (`currentConnections / effectiveWeight`) wins; on a tie, the first draw.
 * With equal weights this is plain P2C on connection counts.
 *
 * Weights act on load, not on rate: idle servers tie whatever their weight (like HAProxy's `random(2)` and
 * `leastconn`), so short sequential connections spread uniformly, while held connections settle in
 * proportion to the weights as far as the uniform draws allow.
 *
 * O(1) per pick: draws are rejection-sampled (full, excluded and weight-0 servers are redrawn), with a
 * scan only after `DRAW_ATTEMPTS` (8) misses in a row, e.g. when almost every server is full. Excluded
 * servers are drawn only when no other candidate can take the connection.
 *
 * @example
 * ```ts
 * const balancer = new Balancer(pool, { strategy: new PowerOfTwoChoices() }) // or strategy: 'p2c'
 * // pass `random` to the Balancer for reproducible draws
 * ```
 */
export class PowerOfTwoChoices implements Strategy {
  readonly name = 'p2c';
  readonly usesClientAddress = false;
  /** Like HAProxy's `random`, it still picks while others wait in the balancer's queue. */
  readonly queueBehindWaiters = false;

  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const random = ctx.random;
    let i = -1;
    for (let t = 0; t < DRAW_ATTEMPTS; t++) {
      const d = draw(random, n);
      if (eligible(candidates[d]!, ctx, false)) {
        i = d;
        break;
      }
    }
    if (i < 0) return scanPick(candidates, ctx);
    const first = candidates[i]!;
    if (n === 1) return first;
    let second: Server | undefined;
    for (let t = 0; t < DRAW_ATTEMPTS; t++) {
      let d = draw(random, n - 1);
      if (d >= i) d++;
      if (eligible(candidates[d]!, ctx, false)) {
        second = candidates[d]!;
        break;
      }
    }
    second ??= scanOther(candidates, ctx, i);
    if (second === undefined) return first;
    return lighter(second, first) ? second : first;
  }
}

/** A uniform integer in [0, n), robust to a `random` that returns 1. */
function draw(random: () => number, n: number): number {
  const d = Math.floor(random() * n);
  return d < n ? d : n - 1;
}

function eligible(s: Server, ctx: PickContext, allowExcluded: boolean): boolean {
  return s.effectiveWeight > 0 && !ctx.isFull(s) && (allowExcluded || !ctx.isExcluded(s));
}

/** True when `a` holds fewer connections per unit of weight than `b`. */
function lighter(a: Server, b: Server): boolean {
  return a.currentConnections * b.effectiveWeight < b.currentConnections * a.effectiveWeight;
}

/** The `u`-th eligible candidate, skipping index `skip`. */
function nth(candidates: readonly Server[], ctx: PickContext, allowExcluded: boolean, skip: number, u: number): Server {
  for (let j = 0; ; j++) {
    if (j === skip || !eligible(candidates[j]!, ctx, allowExcluded)) continue;
    if (u-- === 0) return candidates[j]!;
  }
}

function countEligible(candidates: readonly Server[], ctx: PickContext, allowExcluded: boolean, skip: number): number {
  let count = 0;
  for (let j = 0; j < candidates.length; j++) if (j !== skip && eligible(candidates[j]!, ctx, allowExcluded)) count++;
  return count;
}

/** O(n) fallback: two distinct uniform draws among the eligible candidates, excluded ones only as a last resort. */
function scanPick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
  let allowExcluded = false;
  let count = countEligible(candidates, ctx, false, -1);
  if (count === 0) {
    allowExcluded = true;
    count = countEligible(candidates, ctx, true, -1);
    if (count === 0) return undefined;
  }
  const u = draw(ctx.random, count);
  const first = nth(candidates, ctx, allowExcluded, -1, u);
  if (count === 1) return first;
  let v = draw(ctx.random, count - 1);
  if (v >= u) v++;
  const second = nth(candidates, ctx, allowExcluded, -1, v);
  return lighter(second, first) ? second : first;
}

/** O(n) fallback for the second draw: uniform among the other eligible, non-excluded candidates. */
function scanOther(candidates: readonly Server[], ctx: PickContext, skip: number): Server | undefined {
  const count = countEligible(candidates, ctx, false, skip);
  if (count === 0) return undefined;
  return nth(candidates, ctx, false, skip, draw(ctx.random, count));
}
