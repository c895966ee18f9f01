/**
 * The 32-bit hash functions and keys of HAProxy's hash-based algorithms, bit for bit.
 * All arithmetic is modulo 2^32: `Math.imul` for products, `>>> 0` to come back to an unsigned value.
 */

/**
 * HAProxy's `full_hash()` (`include/haproxy/intops.h`): Bob Jenkins' 32-bit integer avalanche in six
 * add/xor/shift rounds, then a product by 3221225473 (a prime near 3/4 of 2^32) to spread the values
 * over the whole ring. Used for consistent-hash ring points and, with `hash-type consistent`, for keys.
 */
export function fullHash(value: number): number {
  let a = value >>> 0;
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  return Math.imul(a, 3221225473) >>> 0;
}

/**
 * HAProxy's default hash function for strings, `hash_sdbm()` (`src/hash.c`), over the UTF-8 bytes of
 * `text`: `h = byte + (h << 6) + (h << 16) − h` for each byte. Lone surrogates count as U+FFFD, like
 * `TextEncoder`. Nothing is allocated.
 */
export function sdbmHash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    if (cp < 0x80) {
      h = sdbmStep(h, cp);
    } else if (cp < 0x800) {
      h = sdbmStep(h, 0xc0 | (cp >> 6));
      h = sdbmStep(h, 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      h = sdbmStep(h, 0xe0 | (cp >> 12));
      h = sdbmStep(h, 0x80 | ((cp >> 6) & 0x3f));
      h = sdbmStep(h, 0x80 | (cp & 0x3f));
    } else {
      h = sdbmStep(h, 0xf0 | (cp >> 18));
      h = sdbmStep(h, 0x80 | ((cp >> 12) & 0x3f));
      h = sdbmStep(h, 0x80 | ((cp >> 6) & 0x3f));
      h = sdbmStep(h, 0x80 | (cp & 0x3f));
    }
  }
  return h;
}

function sdbmStep(h: number, byte: number): number {
  return (byte + (h << 6) + (h << 16) - h) >>> 0;
}

/**
 * The unhashed key `balance source` derives from a client address (HAProxy `get_server_sh()`):
 * an IPv4 address as a big-endian 32-bit integer; an IPv6 address as the XOR of its four big-endian
 * 32-bit words. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack Node server reports for
 * IPv4 clients) counts as the IPv4 address, so a client hashes the same whichever socket family accepted
 * it. A zone suffix (`%eth0`) is ignored. Returns `undefined` for anything that is not an IP address.
 *
 * `scratch` (8 entries) lets a hot path parse without allocating.
 */
export function addressKey(address: string, scratch: Uint16Array = new Uint16Array(8)): number | undefined {
  const v4 = parseIpv4(address, 0, address.length);
  if (v4 !== undefined) return v4;
  if (!parseIpv6(address, scratch)) return undefined;
  const g = scratch;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return ((g[6]! << 16) | g[7]!) >>> 0;
  }
  let key = 0;
  for (let w = 0; w < 8; w += 2) key ^= (g[w]! << 16) | g[w + 1]!;
  return key >>> 0;
}

/**
 * The bytes of an IP address literal in network order, written to `out` (16 bytes): returns 4 for IPv4, 16 for
 * IPv6 (an IPv4-mapped IPv6 address stays IPv6, as a socket address of that family would), 0 for anything else
 * (a host name). A zone suffix is ignored.
 */
export function addressBytes(address: string, out: Uint8Array, scratch: Uint16Array = new Uint16Array(8)): 0 | 4 | 16 {
  const v4 = parseIpv4(address, 0, address.length);
  if (v4 !== undefined) {
    out[0] = v4 >>> 24;
    out[1] = (v4 >>> 16) & 0xff;
    out[2] = (v4 >>> 8) & 0xff;
    out[3] = v4 & 0xff;
    return 4;
  }
  if (!parseIpv6(address, scratch)) return 0;
  for (let g = 0; g < 8; g++) {
    out[2 * g] = scratch[g]! >>> 8;
    out[2 * g + 1] = scratch[g]! & 0xff;
  }
  return 16;
}

const DOT = 0x2e;
const COLON = 0x3a;

/** Dotted-quad IPv4 in `s[from, to)`, decimal octets without leading zeros; `undefined` if malformed. */
function parseIpv4(s: string, from: number, to: number): number | undefined {
  let value = 0;
  let octets = 0;
  let i = from;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < to) {
      const c = s.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      octet = octet * 10 + c;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && s.charCodeAt(start) === 0x30)) return undefined;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= to || s.charCodeAt(i) !== DOT) return undefined;
      i++;
    }
  }
  return i === to ? value : undefined;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Textual IPv6 (RFC 4291 §2.2, with `::` and an IPv4 tail) into eight 16-bit groups. */
function parseIpv6(s: string, groups: Uint16Array): boolean {
  const zone = s.indexOf('%');
  const end = zone < 0 ? s.length : zone;
  let n = 0;
  let gapAt = -1;
  let i = 0;
  if (end >= 2 && s.charCodeAt(0) === COLON && s.charCodeAt(1) === COLON) {
    gapAt = 0;
    i = 2;
  } else if (end === 0 || s.charCodeAt(0) === COLON) {
    return false;
  }
  while (i < end) {
    let j = i;
    let value = 0;
    while (j < end) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
      j++;
    }
    if (j < end && s.charCodeAt(j) === DOT) {
      // An IPv4 tail ends the address and fills two groups.
      const v4 = parseIpv4(s, i, end);
      if (v4 === undefined || n > 6) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (j === i || j - i > 4 || n === 8) return false;
    groups[n++] = value;
    if (j === end) {
      i = j;
      break;
    }
    if (s.charCodeAt(j) !== COLON) return false;
    j++;
    if (j < end && s.charCodeAt(j) === COLON) {
      if (gapAt >= 0) return false;
      gapAt = n;
      j++;
    } else if (j === end) {
      return false;
    }
    i = j;
  }
  if (gapAt < 0) return n === 8;
  if (n > 7) return false;
  const tail = n - gapAt;
  for (let k = tail - 1; k >= 0; k--) groups[8 - tail + k] = groups[gapAt + k]!;
  for (let k = gapAt; k < 8 - tail; k++) groups[k] = 0;
  return true;
}
