import { invalidArg } from '../errors.js';
import type { Server } from '../server.js';
import { GroupRings } from './internal/chash-ring.js';
import { addressKey, fullHash, sdbmHash } from './internal/hash.js';
import { MapState } from './internal/map-table.js';
import type { PickContext, Strategy } from './strategy.js';

/** Options of {@link SourceHash}. */
export interface SourceHashOptions {
  /**
   * `'map-based'`: HAProxy's default `hash-type map-based` — a table of Σ weight slots, `key mod size`;
   * any membership change remaps most clients. `'consistent'`: `hash-type consistent` — a ring of
   * 16 points per weight unit; only the clients of a server that leaves move.
   * @defaultValue 'map-based' (when no options are given)
   */
  readonly hashType: 'map-based' | 'consistent';
}

/**
 * Client affinity by hash, exactly as HAProxy 2.6's `balance source` (`src/backend.c get_server_sh()`,
 * `src/lb_map.c`, `src/lb_chash.c`).
 *
 * The key is the pick's `key` when given — a string hashed with HAProxy's default `sdbm` over its UTF-8
 * bytes, a number taken as an unsigned 32-bit integer — else the client address: IPv4 as a big-endian
 * 32-bit integer, IPv6 as the XOR of its four 32-bit words (an IPv4-mapped `::ffff:a.b.c.d` counts as
 * IPv4). With one usable server the key is 0. Map-based: `table[key mod size]` over the static-rr table,
 * rebuilt after any change; the key is not hashed again, and the lookup cannot avoid a failed server (a
 * retry lands on the same server, as in HAProxy). Consistent: the ring lookup of `fullHash(key)`, walking
 * past the server to avoid.
 *
 * A hash picks its server even when that server is full: the connection then waits in the server's own
 * queue, bounded by `maxqueue` (`usesServerQueues`).
 *
 * Differences from HAProxy: a pick with neither `key` nor a parsable `clientAddress` is placed round robin
 * over the table or ring, skipping full servers (HAProxy's fallback for hash algorithms whose input is
 * missing; for `source` itself HAProxy refuses the connection). IPv4-mapped IPv6 addresses hash as IPv4
 * (HAProxy hashes what its listening socket reports: it sees `127.0.0.2` on an IPv4 socket). The map's
 * weights are divided by the GCD of the weights of every server known so far (usable now or before), as
 * HAProxy divides by the GCD over every configured server; a server never usable yet joins it when it
 * first becomes usable.
 *
 * @example
 * ```ts
 * const balancer = new Balancer(pool, { strategy: new SourceHash({ hashType: 'consistent' }) })
 * // or strategy: { name: 'source', hashType: 'consistent' }
 * const lease = await balancer.acquire({ clientAddress: socket.remoteAddress })
 * const byTenant = await balancer.acquire({ key: 'tenant-42' }) // same tenant, same server
 * ```
 */
export class SourceHash implements Strategy {
  readonly name = 'source';
  readonly usesServerQueues = true;
  readonly hashType: 'map-based' | 'consistent';

  readonly #map = new MapState();
  readonly #rings = new GroupRings();
  readonly #scratch = new Uint16Array(8);
  readonly #hasRoom = (s: Server): boolean => !s.full;

  constructor(options: SourceHashOptions = { hashType: 'map-based' }) {
    const hashType: unknown = options?.hashType;
    if (hashType !== 'map-based' && hashType !== 'consistent') {
      throw invalidArg('hashType', "must be 'map-based' or 'consistent'", hashType);
    }
    this.hashType = hashType;
  }

  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    if (candidates.length === 0) return undefined;
    const raw = this.#rawKey(ctx);
    if (this.hashType === 'consistent') {
      const ring = this.#rings.ring(ctx.group);
      if (raw === undefined) return ring.next(this.#hasRoom, ctx);
      // HAProxy skips hashing when one server is left (`tot_used == 1`).
      return ring.lookup(candidates.length === 1 ? 0 : fullHash(raw), ctx);
    }
    const map = this.#map;
    map.prepare(candidates, ctx.group);
    if (map.size === 0) return undefined;
    if (raw === undefined) return map.nextRoundRobin(ctx);
    return map.at(candidates.length === 1 ? 0 : raw % map.size);
  }

  reset(active: readonly Server[], backup: readonly Server[]): void {
    // Only the structure of the configured hash type is kept.
    if (this.hashType === 'consistent') this.#rings.reset(active, backup);
    else this.#map.reset(active, backup);
  }

  serverUsable(server: Server): void {
    if (this.hashType === 'consistent') this.#rings.update(server);
    else this.#map.serverUsable(server);
  }

  serverUnusable(server: Server): void {
    if (this.hashType === 'consistent') this.#rings.remove(server);
    else this.#map.serverUnusable(server);
  }

  weightChanged(server: Server): void {
    if (this.hashType === 'consistent') this.#rings.update(server);
    else this.#map.weightChanged(server);
  }

  /** The unhashed 32-bit key, or `undefined` when the pick has nothing to hash. */
  #rawKey(ctx: PickContext): number | undefined {
    const key = ctx.key;
    if (typeof key === 'string') return sdbmHash(key);
    if (typeof key === 'number') return key >>> 0;
    const address = ctx.clientAddress;
    return address === undefined ? undefined : addressKey(address, this.#scratch);
  }

}
