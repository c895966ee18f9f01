import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey, fullHash, sdbmHash } from '../../../src/strategies/internal/hash.js';

/**
 * HAProxy's `__full_hash()` written over BigInt with an explicit `mod 2^32` after every step, as an
 * independent transcription of `include/haproxy/intops.h` (the implementation uses int32 tricks instead).
 */
function fullHashModel(value: number): number {
  const M = 0xffffffffn;
  let a = BigInt(value) & M;
  a = (a + 0x7ed55d16n + (a << 12n)) & M;
  a = (a ^ 0xc761c23cn ^ (a >> 19n)) & M;
  a = (a + 0x165667b1n + (a << 5n)) & M;
  a = ((a + 0xd3a2646cn) ^ (a << 9n)) & M;
  a = (a + 0xfd7046c5n + (a << 3n)) & M;
  a = (a ^ 0xb55a4f09n ^ (a >> 16n)) & M;
  return Number((a * 3221225473n) & M);
}

function sdbmModel(bytes: Uint8Array): number {
  let h = 0n;
  for (const c of bytes) h = (BigInt(c) + (h << 6n) + (h << 16n) - h) & 0xffffffffn;
  return Number(h);
}

describe('hash helpers', () => {
  it('fullHash matches values printed by HAProxy’s own C function', () => {
    // Obtained by compiling HAProxy 2.6's __full_hash() body verbatim with gcc and printing these inputs.
    const vectors: [number, number][] = [
      [0x00000000, 0xab4ed927],
      [0x00000001, 0x348681b6],
      [0x00000002, 0xe267b84c],
      [0x00001000, 0x49c2008b],
      [0x00001001, 0xa4972c87],
      [0x00001fff, 0x6b8a9c2c],
      [0x7f000002, 0x1becf8a7],
      [0x7fffffff, 0xab5744b1],
      [0x80000000, 0xfe7b3c12],
      [0xffffffff, 0x7e64c182],
    ];
    for (const [input, output] of vectors) assert.equal(fullHash(input), output, `fullHash(0x${input.toString(16)})`);
  });

  it('fullHash agrees with a BigInt transcription on 10000 inputs', () => {
    for (let i = 0; i < 10_000; i++) {
      const x = Math.floor((i * 2654435761) % 2 ** 32);
      assert.equal(fullHash(x), fullHashModel(x));
    }
  });

  it('sdbmHash matches HAProxy’s hash_sdbm() over UTF-8 bytes', () => {
    // Values printed by HAProxy's hash_sdbm() body compiled with gcc, for the UTF-8 bytes of each string.
    assert.equal(sdbmHash(''), 0);
    assert.equal(sdbmHash('a'), 0x61);
    assert.equal(sdbmHash('user-1'), 0x38f76d4f);
    assert.equal(sdbmHash('tenant/42'), 0xc6e8dbc3);
    assert.equal(sdbmHash('é'), 0x00c330a6);
    assert.equal(sdbmHash('😀'), 0xed477a17);
    for (const s of ['naïve café', '日本語', 'x'.repeat(300), 'lone \ud800 surrogate', 'end \udc00']) {
      assert.equal(sdbmHash(s), sdbmModel(new TextEncoder().encode(s)), JSON.stringify(s));
    }
  });

  it('addressKey reads IPv4 big-endian, IPv4-mapped IPv6 as IPv4, and IPv6 as the XOR of its four words', () => {
    assert.equal(addressKey('127.0.0.2'), 0x7f000002);
    assert.equal(addressKey('255.255.255.255'), 0xffffffff);
    assert.equal(addressKey('::ffff:127.0.0.2'), 0x7f000002);
    assert.equal(addressKey('::FFFF:7f00:2'), 0x7f000002);
    assert.equal(addressKey('::1'), 1);
    assert.equal(addressKey('::'), 0);
    assert.equal(addressKey('2001:db8::1'), 0x20010db9);
    assert.equal(addressKey('1:2:3:4:5:6:7:8'), 0x00000008);
    assert.equal(addressKey('fe80::1%eth0'), 0xfe800001);
    assert.equal(addressKey('64:ff9b::1.2.3.4'), (0x0064ff9b ^ 0x01020304) >>> 0);
  });

  it('addressKey returns undefined for anything that is not an IP address', () => {
    for (const bad of ['', 'localhost', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1::2::3', ':1:2', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:']) {
      assert.equal(addressKey(bad), undefined, JSON.stringify(bad));
    }
  });
});
