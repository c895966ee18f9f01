import { invalidArg } from '../errors.js';
import type { Server } from '../server.js';
import { BoundedLoad, validateBalanceFactor, validateHashKey } from './internal/bounded-load.js';
import { GroupRings } from './internal/chash-ring.js';
import { addressKey, fullHash, sdbmHash } from './internal/hash.js';
import { MapState } from './internal/map-table.js';
import type { HashKeyKind } from './internal/server-hash-key.js';
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
  /**
   * Bounded-load consistent hashing (HAProxy `hash-balance-factor`): no server takes more than this percentage of
   * the average load, the connection being placed included; a key whose server is at its bound walks the ring to
   * the next server below its own. 0 turns it off; otherwise an integer above 100 (125–200 are HAProxy's
   * reasonable values). Needs `hashType: 'consistent'`. @defaultValue 0
   */
  readonly hashBalanceFactor?: number;
  /**
   * What the ring points of each server derive from (HAProxy 3.0's `hash-key`): `'id'` its numeric id, `'addr'`
   * its IP address, `'addr-port'` its address and port, or a function of the server returning one of these.
   * With `'addr'`/`'addr-port'`, separate balancers (other processes, other machines) that list the same servers
   * in any order place every key on the same server. Needs `hashType: 'consistent'`. @defaultValue 'id'
   */
  readonly hashKey?: HashKeyKind | ((server: Server) => HashKeyKind);
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
 * Beyond 2.6, with `hashType: 'consistent'`: bounded loads (`hashBalanceFactor`, HAProxy 1.9+'s
 * `hash-balance-factor`: a key walks past servers at their bound; the bound counts this strategy's own leases, so
 * several balancers over one pool each bound their own) and placement by address (`hashKey`, HAProxy 3.0's
 * `hash-key`). HAProxy 2.6 computes the weight prefix of the bound once at start-up; switchyard keeps it current.
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
  /** The options this strategy was built with (validated), to build another like it. */
  readonly options: SourceHashOptions;

  readonly #map = new MapState();
  readonly #rings: GroupRings;
  readonly #bounded: BoundedLoad | undefined;
  readonly #scratch = new Uint16Array(8);
  readonly #hasRoom = (s: Server): boolean => !s.full;

  constructor(options: SourceHashOptions = { hashType: 'map-based' }) {
    const hashType: unknown = options?.hashType;
    if (hashType !== 'map-based' && hashType !== 'consistent') {
      throw invalidArg('hashType', "must be 'map-based' or 'consistent'", hashType);
    }
    this.hashType = hashType;
    const factor = validateBalanceFactor(options.hashBalanceFactor);
    const hashKey = validateHashKey(options.hashKey);
    if (hashType !== 'consistent' && (factor > 0 || hashKey !== undefined)) {
      throw invalidArg(factor > 0 ? 'hashBalanceFactor' : 'hashKey', "needs hashType 'consistent' (HAProxy applies it to consistent hashing only)", hashType);
    }
    this.options = Object.freeze({ ...options });
    this.#rings = new GroupRings(hashKey);
    this.#bounded = factor > 0 ? new BoundedLoad(factor) : undefined;
  }

  /** The bounded-load factor in percent (HAProxy `hash-balance-factor`), 0 when off. */
  get hashBalanceFactor(): number {
    return this.#bounded?.factor ?? 0;
  }

  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    if (candidates.length === 0) return undefined;
    const raw = this.#rawKey(ctx);
    if (this.hashType === 'consistent') {
      const ring = this.#rings.ring(ctx.group);
      if (raw === undefined) return ring.next(this.#hasRoom, ctx);
      // HAProxy skips hashing when one server is left (`tot_used == 1`).
      const hash = candidates.length === 1 ? 0 : fullHash(raw);
      return ring.lookup(hash, this.#bounded === undefined ? ctx : this.#bounded.prepare(candidates, ctx));
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
    this.#bounded?.reset(active, backup);
  }

  serverUsable(server: Server): void {
    if (this.hashType === 'consistent') this.#rings.update(server);
    else this.#map.serverUsable(server);
    this.#bounded?.changed();
  }

  serverUnusable(server: Server): void {
    if (this.hashType === 'consistent') this.#rings.remove(server);
    else this.#map.serverUnusable(server);
    this.#bounded?.changed();
  }

  weightChanged(server: Server): void {
    if (this.hashType === 'consistent') this.#rings.update(server);
    else this.#map.weightChanged(server);
    this.#bounded?.changed();
  }

  acquired(): void {
    this.#bounded?.acquired();
  }

  released(): void {
    this.#bounded?.released();
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
