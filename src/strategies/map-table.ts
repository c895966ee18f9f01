import type { Server } from '../server.js';

/**
 * HAProxy's map used by `static-rr` and the map-based hashes (`src/lb_map.c recalc_server_map()`):
 * weights divided by their GCD, then a table of `T = Σ weight` slots in which every server appears
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

  /** Rebuilds the table from usable `servers` in declaration order, with their user weights. */
  rebuild(servers: readonly Server[]): void {
    const weights = mapWeights(servers);
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
        const value = Math.floor((score[i]! + total) / total);
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

/** Map weights: user weights divided by their greatest common divisor, rounded up (HAProxy `init_server_map()`). */
export function mapWeights(servers: readonly Server[]): number[] {
  let divisor = 0;
  for (const s of servers) divisor = gcd(divisor, s.weight);
  if (divisor === 0) return servers.map(() => 0);
  return servers.map((s) => Math.ceil(s.weight / divisor));
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
