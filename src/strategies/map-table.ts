import type { Server } from '../server.js';

/**
 * HAProxy's map used by `static-rr` and the map-based hashes (`src/lb_map.c recalc_server_map()`):
 * weights divided by a common divisor, then a table of `T = Σ weight` slots in which every server appears
 * `weight` times, spread out, the first declared server in the first slot.
 *
 * Rebuilt on membership or weight change only (O(T·n) then), looked up in O(1).
 */
export class ServerMap {
  #table: Server[] = [];

  /** Number of slots. 0 when no server has a weight. */
  get size(): number {
    return this.#table.length;
  }

  /** The server in slot `i` (0 ≤ i < size). */
  at(i: number): Server | undefined {
    return this.#table[i];
  }

  /**
   * Rebuilds the table from usable `servers` in declaration order, with their user weights divided by
   * `divisor` and rounded up. HAProxy's divisor is the GCD of the weights of *every* server of the backend,
   * usable or not (`init_server_map()`), which fixes the table size, so pass it when more servers than the
   * usable ones are known. @defaultValue the GCD of the weights of `servers`
   */
  rebuild(servers: readonly Server[], divisor?: number): void {
    const weights = mapWeights(servers, divisor);
    let total = 0;
    for (const w of weights) total += w;
    const table: Server[] = new Array<Server>(total);
    if (total === 1) {
      // HAProxy special-cases a single slot (the score arithmetic would overflow its divide).
      table[0] = servers[weights.findIndex((w) => w > 0)]!;
      this.#table = table;
      return;
    }
    const score = new Array<number>(servers.length).fill(0);
    for (let slot = 0; slot < total; slot++) {
      let best = -1;
      let max = 0;
      for (let i = 0; i < servers.length; i++) {
        const w = weights[i]!;
        if (w === 0) continue;
        score[i]! += w;
        // C integer division (truncates toward zero); only the sign of small negative scores differs from
        // floor, and those never win a slot, but keep HAProxy's arithmetic anyway.
        const value = Math.trunc((score[i]! + total) / total);
        if (best < 0 || value > max) {
          max = value;
          best = i;
        }
      }
      table[slot] = servers[best]!;
      score[best]! -= total;
    }
    this.#table = table;
  }
}

/**
 * Map weights: user weights divided by `divisor`, rounded up (HAProxy `init_server_map()`).
 * @defaultValue divisor: the GCD of the weights of `servers`
 */
export function mapWeights(servers: readonly Server[], divisor?: number): number[] {
  const d = divisor ?? weightDivisor(servers.map((s) => s.weight));
  if (d === 0) return servers.map(() => 0);
  return servers.map((s) => Math.ceil(s.weight / d));
}

/** The greatest common divisor of `weights`, zeros ignored; 0 when every weight is 0. */
export function weightDivisor(weights: Iterable<number>): number {
  let divisor = 0;
  for (const w of weights) divisor = gcd(divisor, w);
  return divisor;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
