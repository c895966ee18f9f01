import type { Server } from '../../server.js';
import { addressBytes, fullHash } from './hash.js';
import { xxh32 } from './xxh32.js';

/**
 * How the consistent-hash ring points of a server are derived (HAProxy 3.0's `hash-key` server keyword):
 * - `'id'`: from the server's numeric `id` (HAProxy's default, and 2.6's only way): servers listed in another
 *   order get other points unless their ids are set;
 * - `'addr'`: from its IP address; `'addr-port'`: from its address and port. Separate balancers that list the
 *   same servers in any order, with any ids, put them at the same places on the ring.
 */
export type HashKeyKind = 'id' | 'addr' | 'addr-port';

/** The accepted {@link HashKeyKind} values. */
export const HASH_KEY_KINDS: readonly HashKeyKind[] = Object.freeze(['id', 'addr', 'addr-port']);

/** HAProxy's `SRV_EWGHT_RANGE`: with `hash-key id`, the points of server `id` are hashed from `id × 4096 + j`. */
const POINTS_PER_ID = 4096;

/**
 * The base key of a server's ring points (HAProxy `chash_compute_server_key()`); point `j` sits at
 * `fullHash(base + j)`. `'id'`: `id × 4096` (HAProxy 2.6 and 3.x since the fix of October 2025; 3.0.0 to that
 * fix hashed the id instead). `'addr'`: IPv4 `fullHash(s_addr)` with `s_addr` read as a little-endian 32-bit
 * word (what HAProxy computes on x86 and ARM), IPv6 `XXH32(address, 16 bytes, seed 0)`. `'addr-port'`: the same
 * with `fullHash(port)` added before hashing (IPv4) or as the seed (IPv6). A host that is not an IP literal
 * falls back to `'id'`, as HAProxy does for a server without a known address.
 */
export function serverRingKey(server: Server, kind: HashKeyKind, bytes: Uint8Array = new Uint8Array(16)): number {
  if (kind !== 'id') {
    const n = addressBytes(server.host, bytes);
    if (n !== 0) {
      const seed = kind === 'addr-port' ? fullHash(server.port) : 0;
      if (n === 4) {
        const sAddr = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
        return fullHash((seed + sAddr) >>> 0);
      }
      return xxh32(bytes, seed, 16);
    }
  }
  return Math.imul(server.id, POINTS_PER_ID) >>> 0;
}
