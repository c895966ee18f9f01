import type { Server } from '../../server.js';
import { fullHash } from './hash.js';
import { type HashKeyKind, serverRingKey } from './server-hash-key.js';

/** Which {@link HashKeyKind} a server's ring points derive from. */
export type HashKeyOf = (server: Server) => HashKeyKind;

/** What a ring lookup needs to know about servers to avoid. */
export interface RingAvoidance {
  isExcluded(server: Server): boolean;
}

/**
 * HAProxy's consistent-hash ring (`src/lb_chash.c`) for one server group.
 *
 * A server with effective weight `w` (user weight × 16) owns `w` points at `fullHash(base + j)`, j = 0…w−1,
 * `base` being `id × 4096` by default or what `hashKey` says (HAProxy 3.0's `hash-key`, see
 * {@link serverRingKey}). Points live in two parallel arrays sorted by position; points at the same position keep
 * the order in which they were added, as duplicates do in HAProxy's tree. Changing a server's weight adds or
 * removes only its highest-numbered points, so other clients never move.
 *
 * Lookup is a binary search (O(log points)); adding or removing `p` points costs O(p log p + points).
 */
export class ChashRing {
  #positions = new Uint32Array(0);
  #owners: Server[] = [];
  /** Point number `j` of each point, to remove a server's highest points on a weight decrease. */
  #ordinals = new Uint16Array(0);
  #counts = new Map<Server, number>();
  /** Position of the last point returned by {@link ChashRing.next}; -1 before the first call. */
  #cursor = -1;
  readonly #hashKey: HashKeyOf | undefined;
  /** The base key of each server on the ring, computed when its first point was added. */
  readonly #bases = new Map<Server, number>();
  readonly #bytes = new Uint8Array(16);

  /** `hashKey`: how each server's points are placed; by its `id` when absent. */
  constructor(hashKey?: HashKeyOf) {
    this.#hashKey = hashKey;
  }

  /** Number of points on the ring. */
  get size(): number {
    return this.#owners.length;
  }

  /** Number of points `server` has on the ring (0 when absent). */
  pointsOf(server: Server): number {
    return this.#counts.get(server) ?? 0;
  }

  /** Removes every point. */
  clear(): void {
    this.#positions = new Uint32Array(0);
    this.#ordinals = new Uint16Array(0);
    this.#owners = [];
    this.#counts.clear();
    this.#bases.clear();
  }

  /**
   * Replaces the ring with `entries` (server, point count) added in that order: the same ring as calling
   * {@link ChashRing.setPoints} for each in turn, built in O(points log points) instead of O(points²).
   */
  load(entries: Iterable<readonly [Server, number]>): void {
    this.#counts.clear();
    this.#bases.clear();
    let n = 0;
    for (const [server, count] of entries) {
      if (count <= 0) continue;
      this.#counts.set(server, count);
      n += count;
    }
    const owners = new Array<Server>(n);
    const ordinals = new Uint16Array(n);
    const positions = new Uint32Array(n);
    let k = 0;
    for (const [server, count] of this.#counts) {
      const base = this.#baseOf(server);
      for (let j = 0; j < count; j++, k++) {
        owners[k] = server;
        ordinals[k] = j;
        positions[k] = fullHash(base + j);
      }
    }
    // Stable sort by position (ties keep insertion order, as successive setPoints calls would): an LSD radix
    // sort on two 16-bit digits, O(points).
    const order = radixOrder(positions);
    const sortedPositions = new Uint32Array(n);
    const sortedOrdinals = new Uint16Array(n);
    const sortedOwners = new Array<Server>(n);
    for (let i = 0; i < n; i++) {
      const from = order[i]!;
      sortedPositions[i] = positions[from]!;
      sortedOrdinals[i] = ordinals[from]!;
      sortedOwners[i] = owners[from]!;
    }
    this.#positions = sortedPositions;
    this.#ordinals = sortedOrdinals;
    this.#owners = sortedOwners;
  }

  /**
   * Gives `server` exactly `count` points (HAProxy `chash_queue_dequeue_srv()`): removes points
   * j ≥ count, or adds points j = current…count−1. 0 takes the server off the ring.
   */
  setPoints(server: Server, count: number): void {
    const now = this.#counts.get(server) ?? 0;
    if (count === now) return;
    if (count < now) this.#removeFrom(server, count);
    else this.#add(server, now, count);
    if (count === 0) {
      this.#counts.delete(server);
      this.#bases.delete(server);
    } else {
      this.#counts.set(server, count);
    }
  }

  /**
   * The server closest to `hash` (HAProxy `chash_get_server_hash()`): the first point at or after `hash`
   * and the one before it (both wrapping around); the earlier one wins when it is at least as close.
   * From there, walks forward past servers `avoid` excludes; if every point is excluded, returns the
   * closest server anyway. `undefined` only when the ring is empty.
   */
  lookup(hash: number, avoid?: RingAvoidance): Server | undefined {
    const n = this.#owners.length;
    if (n === 0) return undefined;
    const positions = this.#positions;
    const h = hash >>> 0;
    let next = this.#lowerBound(h);
    if (next === n) next = 0;
    const prev = next === 0 ? n - 1 : next - 1;
    const behind = (h - positions[prev]!) >>> 0;
    const ahead = (positions[next]! - h) >>> 0;
    let i = behind <= ahead ? prev : next;
    const closest = this.#owners[i]!;
    if (avoid === undefined) return closest;
    for (let steps = 0; steps < n; steps++) {
      const s = this.#owners[i]!;
      if (!avoid.isExcluded(s)) return s;
      i = i + 1 === n ? 0 : i + 1;
    }
    return closest;
  }

  /**
   * Round robin over the ring's points (HAProxy `chash_get_next_server()`, the hash algorithms' fallback
   * when a request has no key): the next point after the previous answer whose server `accept` takes;
   * a server `avoid` excludes is used only when nothing else is accepted. `undefined` when none is.
   */
  next(accept: (server: Server) => boolean, avoid?: RingAvoidance): Server | undefined {
    const n = this.#owners.length;
    if (n === 0) return undefined;
    let i = this.#cursor < 0 ? 0 : this.#upperBound(this.#cursor);
    let avoided = -1;
    for (let steps = 0; steps < n; steps++, i++) {
      if (i >= n) i = 0;
      const s = this.#owners[i]!;
      if (!accept(s)) continue;
      if (avoid?.isExcluded(s)) {
        avoided = i;
        continue;
      }
      this.#cursor = this.#positions[i]!;
      return s;
    }
    if (avoided < 0) return undefined;
    this.#cursor = this.#positions[avoided]!;
    return this.#owners[avoided];
  }

  /** The base key of `server`'s points, kept while it is on the ring so that its points stay where they are. */
  #baseOf(server: Server): number {
    let base = this.#bases.get(server);
    if (base === undefined) {
      const kind = this.#hashKey?.(server) ?? 'id';
      base = kind === 'id' ? Math.imul(server.id, 4096) >>> 0 : serverRingKey(server, kind, this.#bytes);
      this.#bases.set(server, base);
    }
    return base;
  }

  /** Index of the first point at or after `position`. */
  #lowerBound(position: number): number {
    const a = this.#positions;
    let lo = 0;
    let hi = this.#owners.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first point strictly after `position`. */
  #upperBound(position: number): number {
    const a = this.#positions;
    let lo = 0;
    let hi = this.#owners.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #removeFrom(server: Server, keep: number): void {
    const n = this.#owners.length;
    const removed = (this.#counts.get(server) ?? 0) - keep;
    const positions = new Uint32Array(n - removed);
    const ordinals = new Uint16Array(n - removed);
    const owners = new Array<Server>(n - removed);
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (this.#owners[i] === server && this.#ordinals[i]! >= keep) continue;
      positions[k] = this.#positions[i]!;
      ordinals[k] = this.#ordinals[i]!;
      owners[k] = this.#owners[i]!;
      k++;
    }
    this.#positions = positions;
    this.#ordinals = ordinals;
    this.#owners = owners;
  }

  #add(server: Server, from: number, to: number): void {
    const count = to - from;
    const base = this.#baseOf(server);
    const fresh: { position: number; ordinal: number }[] = [];
    for (let j = from; j < to; j++) fresh.push({ position: fullHash(base + j), ordinal: j });
    // Stable sort: new points sharing a position stay in ordinal order, as HAProxy inserts them.
    fresh.sort((a, b) => a.position - b.position);

    const n = this.#owners.length;
    const positions = new Uint32Array(n + count);
    const ordinals = new Uint16Array(n + count);
    const owners = new Array<Server>(n + count);
    let i = 0;
    let f = 0;
    for (let k = 0; k < n + count; k++) {
      // An existing point goes first on equal positions: a new duplicate lands after the old ones.
      if (f >= count || (i < n && this.#positions[i]! <= fresh[f]!.position)) {
        positions[k] = this.#positions[i]!;
        ordinals[k] = this.#ordinals[i]!;
        owners[k] = this.#owners[i]!;
        i++;
      } else {
        positions[k] = fresh[f]!.position;
        ordinals[k] = fresh[f]!.ordinal;
        owners[k] = server;
        f++;
      }
    }
    this.#positions = positions;
    this.#ordinals = ordinals;
    this.#owners = owners;
  }
}

/** Indices of `keys` in ascending key order, equal keys in index order (a stable LSD radix sort). */
function radixOrder(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  let from = new Uint32Array(n);
  let to = new Uint32Array(n);
  for (let i = 0; i < n; i++) from[i] = i;
  const counts = new Uint32Array(65537);
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((keys[i]! >>> shift) & 0xffff) + 1]!++;
    for (let d = 0; d < 65536; d++) counts[d + 1]! += counts[d]!;
    for (let i = 0; i < n; i++) {
      const idx = from[i]!;
      to[counts[(keys[idx]! >>> shift) & 0xffff]!++] = idx;
    }
    [from, to] = [to, from];
  }
  return from;
}

/** Changes at most this many servers one by one; more pending changes rebuild the ring in one go. */
const INCREMENTAL_LIMIT = 8;

/**
 * The two rings of a consistent-hash strategy (active and backup servers), kept in step with the
 * strategy hooks. Changes are applied lazily at the next lookup: a few one by one (other clients never
 * move), many at once by a bulk rebuild (a pool filled after the balancer was built costs
 * O(points log points), not O(points²)).
 */
export class GroupRings {
  readonly #active: GroupRing;
  readonly #backup: GroupRing;

  /** `hashKey`: how each server's points are placed (see {@link ChashRing}); by its `id` when absent. */
  constructor(hashKey?: HashKeyOf) {
    this.#active = new GroupRing(hashKey);
    this.#backup = new GroupRing(hashKey);
  }

  /** The ring of `group`, up to date. */
  ring(group: 'active' | 'backup'): ChashRing {
    return (group === 'backup' ? this.#backup : this.#active).current();
  }

  /** Starts over with the usable servers of each group, at their effective weights. */
  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#active.reset(active);
    this.#backup.reset(backup);
  }

  /** A server became usable or changed weight: its point count becomes its effective weight. */
  update(server: Server): void {
    this.#of(server).want(server, server.effectiveWeight);
  }

  /** A server stopped being usable: its points leave the ring. */
  remove(server: Server): void {
    this.#of(server).want(server, 0);
  }

  #of(server: Server): GroupRing {
    return server.backup ? this.#backup : this.#active;
  }
}

class GroupRing {
  readonly #ring: ChashRing;
  /** Desired point counts, in the order servers (re)joined the ring. */
  readonly #desired = new Map<Server, number>();
  readonly #pending = new Set<Server>();

  constructor(hashKey: HashKeyOf | undefined) {
    this.#ring = new ChashRing(hashKey);
  }

  reset(servers: readonly Server[]): void {
    this.#desired.clear();
    this.#pending.clear();
    for (const s of servers) if (s.effectiveWeight > 0) this.#desired.set(s, s.effectiveWeight);
    this.#ring.load(this.#desired);
  }

  want(server: Server, count: number): void {
    // A returning server goes to the end of the order (Map insertion order), as it would in HAProxy's tree.
    if (count > 0) this.#desired.set(server, count);
    else this.#desired.delete(server);
    this.#pending.add(server);
  }

  current(): ChashRing {
    const pending = this.#pending;
    if (pending.size === 0) return this.#ring;
    if (pending.size <= INCREMENTAL_LIMIT) {
      for (const s of pending) this.#ring.setPoints(s, this.#desired.get(s) ?? 0);
    } else {
      this.#ring.load(this.#desired);
    }
    pending.clear();
    return this.#ring;
  }
}
