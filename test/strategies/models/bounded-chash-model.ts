import { fullHash, sdbmHash } from '../../../src/strategies/internal/hash.js';

/**
 * A naive model of HAProxy's consistent hashing with bounded loads (`src/lb_chash.c`: `chash_get_server_hash()`
 * and `chash_server_is_eligible()`), written from the C source, independent of switchyard's ring: a sorted list of
 * points, a linear search, and the slot arithmetic on plain numbers. O(points) per lookup: for tests only.
 */
export interface ModelServer {
  readonly name: string;
  /** Ring base key (`id × 4096` for `hash-key id`). */
  readonly base: number;
  /** Effective weight (user weight × 16). */
  readonly eweight: number;
  served: number;
}

export class BoundedChashModel {
  readonly #points: { key: number; server: ModelServer; order: number }[] = [];
  readonly servers: ModelServer[];
  readonly #factor: number;
  served = 0;

  constructor(servers: ModelServer[], factor: number) {
    this.servers = servers;
    this.#factor = factor;
    let order = 0;
    for (const s of servers) for (let j = 0; j < s.eweight; j++) this.#points.push({ key: fullHash((s.base + j) >>> 0), server: s, order: order++ });
    // eb32 trees keep duplicates in insertion order.
    this.#points.sort((a, b) => a.key - b.key || a.order - b.order);
  }

  #eligible(s: ModelServer): boolean {
    const totWeight = this.servers.reduce((n, x) => n + x.eweight, 0);
    const cumulative = this.servers.slice(0, this.servers.indexOf(s)).reduce((n, x) => n + x.eweight, 0);
    const totSlots = Math.floor(((this.served + 1) * this.#factor + 99) / 100);
    const perWeight = Math.floor(totSlots / totWeight);
    const remainder = totSlots % totWeight;
    let slots = s.eweight * perWeight;
    slots += Math.floor(((cumulative + s.eweight) * remainder) / totWeight) - Math.floor((cumulative * remainder) / totWeight);
    if (slots === 0) slots = 1;
    return s.served < slots;
  }

  /** The server for a string key (sdbm, then avalanche), placed and counted. */
  place(key: string): ModelServer {
    const hash = this.servers.length === 1 ? 0 : fullHash(sdbmHash(key));
    const pts = this.#points;
    let next = pts.findIndex((p) => p.key >= hash);
    if (next < 0) next = 0;
    const prev = next === 0 ? pts.length - 1 : next - 1;
    const dp = (hash - pts[prev]!.key) >>> 0;
    const dn = (pts[next]!.key - hash) >>> 0;
    let i = dp <= dn ? prev : next;
    for (let steps = 0; steps < pts.length && this.#factor > 0 && !this.#eligible(pts[i]!.server); steps++) i = (i + 1) % pts.length;
    const s = pts[i]!.server;
    s.served++;
    this.served++;
    return s;
  }

  release(s: ModelServer): void {
    s.served--;
    this.served--;
  }
}
