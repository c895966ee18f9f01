/**
 * XXH32 (Yann Collet's xxHash, 32-bit variant) of `bytes[0, length)` with `seed`: what HAProxy 3.0+ hashes an IPv6
 * server address with for `hash-key addr|addr-port` (`src/lb_chash.c chash_compute_server_key()`). Little-endian
 * lanes, as the reference implementation reads them. All arithmetic modulo 2^32.
 */
export function xxh32(bytes: Uint8Array, seed: number, length: number = bytes.length): number {
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) >>> 0;
    let v2 = (seed + PRIME2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - PRIME1) >>> 0;
    const limit = length - 16;
    while (i <= limit) {
      v1 = round(v1, readLe32(bytes, i));
      v2 = round(v2, readLe32(bytes, i + 4));
      v3 = round(v3, readLe32(bytes, i + 8));
      v4 = round(v4, readLe32(bytes, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + PRIME5) >>> 0;
  }
  h = (h + length) >>> 0;
  while (i + 4 <= length) {
    h = (h + Math.imul(readLe32(bytes, i), PRIME3)) >>> 0;
    h = Math.imul(rotl(h, 17), PRIME4) >>> 0;
    i += 4;
  }
  while (i < length) {
    h = (h + Math.imul(bytes[i]!, PRIME5)) >>> 0;
    h = Math.imul(rotl(h, 11), PRIME1) >>> 0;
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function round(acc: number, lane: number): number {
  acc = (acc + Math.imul(lane, PRIME2)) >>> 0;
  return Math.imul(rotl(acc, 13), PRIME1) >>> 0;
}

function readLe32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}
