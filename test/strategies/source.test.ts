import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../../src/errors.js';
import type { Pool } from '../../src/pool.js';
import type { Server } from '../../src/server.js';
import { fullHash } from '../../src/strategies/internal/hash.js';
import { SourceHash } from '../../src/strategies/source.js';
import type { Balancer } from '../../src/balancer.js';
import { servers, setup } from '../helpers/picks.js';
import { mulberry32 } from '../helpers/prng.js';


/** The server chosen for each client address 127.0.0.2 … 127.0.0.61, as a string of server numbers. */
function map60(balancer: Balancer): string {
  let out = '';
  for (let i = 2; i <= 61; i++) {
    const lease = balancer.tryAcquire({ clientAddress: `127.0.0.${i}` });
    assert.ok(lease);
    out += lease.server.name.slice(1);
    lease.release();
  }
  return out;
}

function pickFor(balancer: Balancer, options: { clientAddress?: string; key?: string | number; exclude?: Server }): string {
  const lease = balancer.tryAcquire(options);
  assert.ok(lease);
  lease.release();
  return lease.server.name;
}

/**
 * Recorded from HAProxy 2.6.12 (Debian bookworm), `balance source` in a TCP `listen` section with servers
 * s1..s3 on 127.0.0.1:1900N (default ids 1, 2, 3 unless stated): for each client, a Node socket bound to
 * 127.0.0.X (X = 2…61) connected to the frontend and read the name written by the server that accepted it.
 * Changes were made through the admin socket (`disable server fe/sN`, `set weight fe/sN W`).
 * Digit k of each string is the server number chosen for 127.0.0.(k+2).
 */
const RECORDED_SOURCE = {
  consistentEqual: '131213113233311131112211113112113221313213213333113211112113',
  consistentEqualS2Down: '131313113133311131111111113111113331313113113333113111113113',
  consistentS1Weight3: '131113113231311111112211111111113211111213213313113111112111',
  /** weights 1,2,3 with `id 7`, `id 300`, `id 1048577` (the last one's ring inputs wrap past 2^32). */
  consistentIds: '312231322313323323233213223133313123223331332231221312322222',
  consistentIdsS3Down: '212221222212222121222212222112112122221121112211221112222222',
  mapWeights123: '132323132323132323132323132323132323132323132323132323132323',
  mapWeights123S2Down: '331333133313331333133313331333133313331333133313331333133313',
};

/**
 * Recorded from HAProxy 2.6.12 in `mode http` with `balance hdr(X-Key)`, weights 1,2,3: raw requests carrying
 * `X-Key: <UTF-8 bytes of the key>`. HAProxy hashes a header value with the same `gen_hash()` (sdbm) as any
 * other hash key, so these pin the string-key path, UTF-8 included.
 */
const RECORDED_KEYS = [
  ...Array.from({ length: 30 }, (_, i) => `user-${i + 1}`),
  'é', '日本語', '😀', 'tenant/42', 'a', 'Z', 'x'.repeat(100), 'naïve café', '0', '4294967296',
];
const RECORDED_KEYS_CONSISTENT = '3332333132232312221332133133322333231333';
const RECORDED_KEYS_MAP = '3132323133231323231231323231332233312112';

/**
 * A deliberately naive ring, rebuilt from scratch: every point of every usable server, sorted, scanned linearly.
 * Used to check that the strategy's incremental ring stays equal to a freshly built one.
 */
function naiveRingLookup(usable: readonly Server[], hash: number, exclude?: Server): Server | undefined {
  const points: [number, Server][] = [];
  for (const s of usable) for (let j = 0; j < s.effectiveWeight; j++) points.push([fullHash(Math.imul(s.id, 4096) + j), s]);
  points.sort((a, b) => a[0] - b[0]);
  if (points.length === 0) return undefined;
  let next = points.findIndex(([p]) => p >= hash);
  if (next < 0) next = 0;
  const prev = (next + points.length - 1) % points.length;
  let i = (hash - points[prev]![0]) >>> 0 <= (points[next]![0] - hash) >>> 0 ? prev : next;
  for (let n = 0; n < points.length && points[i]![1] === exclude; n++) i = (i + 1) % points.length;
  return points[i]![1] === exclude ? undefined : points[i]![1];
}

describe('SourceHash', () => {
  describe('map-based', () => {
    it('maps 127.0.0.2, .3, .4 to s1, s2, s3 with equal weights (reference §2.7)', () => {
      const { balancer } = setup(servers([1, 1, 1]), { strategy: 'source' });
      assert.deepEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((a) => pickFor(balancer, { clientAddress: a })), ['s1', 's2', 's3']);
    });

    it('reproduces HAProxy 2.6.12 for 60 clients with weights 1,2,3, before and after a server goes down', () => {
      const { pool, balancer } = setup(servers([1, 2, 3]), { strategy: new SourceHash({ hashType: 'map-based' }) });
      assert.equal(map60(balancer), RECORDED_SOURCE.mapWeights123);
      pool.setAdminState('s2', 'maint');
      assert.equal(map60(balancer), RECORDED_SOURCE.mapWeights123S2Down);
    });

    it('reproduces HAProxy 2.6.12 for string keys (sdbm over UTF-8)', () => {
      const { balancer } = setup(servers([1, 2, 3]), { strategy: 'source' });
      assert.equal(RECORDED_KEYS.map((key) => pickFor(balancer, { key }).slice(1)).join(''), RECORDED_KEYS_MAP);
    });

    it('cannot avoid the failed server: a retry lands on the same server', () => {
      const { pool, balancer } = setup(servers([1, 1, 1]), { strategy: 'source' });
      assert.equal(pickFor(balancer, { clientAddress: '127.0.0.3', exclude: pool.get('s2') }), 's2');
    });

    it('remaps most clients when a server leaves', () => {
      const { pool, balancer } = setup(servers([1, 1, 1, 1]), { strategy: 'source' });
      const before = map60(balancer);
      pool.setAdminState('s4', 'maint');
      const after = map60(balancer);
      const movedFromOthers = [...before].filter((s, i) => s !== '4' && after[i] !== s).length;
      assert.ok(movedFromOthers > 20, `only ${movedFromOthers} clients of the staying servers moved`);
    });
  });

  describe('consistent', () => {
    const consistent = { strategy: { name: 'source', hashType: 'consistent' } } as const;

    it('reproduces HAProxy 2.6.12 for 60 clients: equal weights, s2 down, then s1 at weight 3', () => {
      const { pool, balancer } = setup(servers([1, 1, 1]), consistent);
      assert.equal(map60(balancer), RECORDED_SOURCE.consistentEqual);
      pool.setAdminState('s2', 'maint');
      assert.equal(map60(balancer), RECORDED_SOURCE.consistentEqualS2Down);
      pool.setAdminState('s2', 'ready');
      pool.setWeight('s1', 3);
      assert.equal(map60(balancer), RECORDED_SOURCE.consistentS1Weight3);
    });

    it('reproduces HAProxy 2.6.12 with explicit ids (ring points at id × 4096 + j, wrapping to 32 bits)', () => {
      const list = servers([1, 2, 3]).map((s, i) => ({ ...s, id: [7, 300, 1048577][i]! }));
      const { pool, balancer } = setup(list, consistent);
      assert.equal(map60(balancer), RECORDED_SOURCE.consistentIds);
      pool.setAdminState('s3', 'maint');
      assert.equal(map60(balancer), RECORDED_SOURCE.consistentIdsS3Down);
    });

    it('reproduces HAProxy 2.6.12 for string keys (full_hash of sdbm)', () => {
      const { balancer } = setup(servers([1, 2, 3]), consistent);
      assert.equal(RECORDED_KEYS.map((key) => pickFor(balancer, { key }).slice(1)).join(''), RECORDED_KEYS_CONSISTENT);
    });

    it('moves only the departing server’s clients, and brings them back when it returns', () => {
      const { pool, balancer } = setup(servers([1, 1, 1]), consistent);
      const addresses = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.7`);
      const before = addresses.map((clientAddress) => pickFor(balancer, { clientAddress }));
      pool.setAdminState('s2', 'maint');
      const during = addresses.map((clientAddress) => pickFor(balancer, { clientAddress }));
      const moved = addresses.filter((_, i) => during[i] !== before[i]).length;
      assert.ok(moved > 200, `expected s2's share of clients to move, ${moved} moved`);
      for (let i = 0; i < addresses.length; i++) {
        if (before[i] !== 's2') assert.equal(during[i], before[i], `client ${addresses[i]} of ${before[i]} moved`);
        else assert.notEqual(during[i], 's2');
      }
      pool.setAdminState('s2', 'ready');
      assert.deepEqual(addresses.map((clientAddress) => pickFor(balancer, { clientAddress })), before);
    });

    it('walks past the avoided server to the next one on the ring, and returns it when nothing else is left', () => {
      const { pool, balancer } = setup(servers([1, 1]), consistent);
      const home = pickFor(balancer, { clientAddress: '127.0.0.9' });
      const other = home === 's1' ? 's2' : 's1';
      assert.equal(pickFor(balancer, { clientAddress: '127.0.0.9', exclude: pool.get(home) }), other);
      pool.setAdminState(other, 'maint');
      assert.equal(pickFor(balancer, { clientAddress: '127.0.0.9', exclude: pool.get(home) }), home);
    });

    it('keeps its ring equal to a freshly built one through random down, up and weight changes', () => {
      for (let seed = 1; seed <= 10; seed++) {
        const rnd = mulberry32(seed);
        const n = 2 + Math.floor(rnd() * 4);
        const list = servers(Array.from({ length: n }, () => 1 + Math.floor(rnd() * 4))).map((s, i) => ({ ...s, id: 1 + i * 17 }));
        const { pool, balancer } = setup(list, consistent);
        for (let step = 0; step < 60; step++) {
          const target = pool.servers[Math.floor(rnd() * n)]!;
          const r = rnd();
          if (r < 0.5) pool.setWeight(target.name, Math.floor(rnd() * 6));
          else pool.setAdminState(target.name, target.adminState === 'ready' ? 'maint' : 'ready');
          if (pool.activeUsable.length < 2) continue;
          for (let k = 0; k < 20; k++) {
            const key = Math.floor(rnd() * 2 ** 32);
            const exclude = k % 4 === 0 ? pool.activeUsable[0] : undefined;
            const expected = naiveRingLookup(pool.activeUsable, fullHash(key), exclude);
            assert.equal(pickFor(balancer, { key, ...(exclude ? { exclude } : {}) }), expected?.name, `seed ${seed} step ${step}`);
          }
        }
      }
    });
  });

  describe('keys', () => {
    it('hashes an IPv4-mapped IPv6 address like the IPv4 address, and an IPv6 address by XOR of its words', () => {
      const { balancer } = setup(servers([1, 1, 1]), { strategy: 'source' });
      for (let i = 2; i < 30; i++) {
        assert.equal(pickFor(balancer, { clientAddress: `::ffff:127.0.0.${i}` }), pickFor(balancer, { clientAddress: `127.0.0.${i}` }));
      }
      // 2001:db8::1:2 → 0x20010db8 ^ 0 ^ 0 ^ 0x00010002 = 0x20000dba
      assert.equal(pickFor(balancer, { clientAddress: '2001:db8::1:2' }), pickFor(balancer, { key: 0x20000dba }));
    });

    it('prefers the key over the address, and takes a number key as an unsigned 32-bit integer', () => {
      const { balancer } = setup(servers([1, 1, 1]), { strategy: 'source' });
      assert.equal(pickFor(balancer, { key: 0x7f000003, clientAddress: '127.0.0.2' }), 's2');
      assert.equal(pickFor(balancer, { key: -1 }), pickFor(balancer, { key: 0xffffffff }));
    });

    it('places picks without key or address round robin over the map, skipping full servers', () => {
      const { balancer } = setup(servers([1, 2], { maxconn: 2 }), { strategy: 'source' });
      const names: string[] = [];
      for (let i = 0; i < 4; i++) names.push(balancer.tryAcquire()!.server.name);
      assert.deepEqual(names, ['s1', 's2', 's2', 's1']);
      assert.equal(balancer.tryAcquire(), undefined);
    });

    it('places picks without key or address round robin over the ring when consistent', () => {
      const { balancer } = setup(servers([1, 1, 1]), { strategy: { name: 'source', hashType: 'consistent' } });
      const counts = new Map<string, number>();
      for (let i = 0; i < 48; i++) {
        const name = pickFor(balancer, {});
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      assert.deepEqual([...counts.values()].sort(), [16, 16, 16]);
    });
  });

  describe('server queues', () => {
    function fullPool(hashType: 'map-based' | 'consistent'): { pool: Pool; balancer: Balancer } {
      return setup(servers([1, 1, 1], { maxconn: 1, maxqueue: 1 }), { strategy: new SourceHash({ hashType }), timeoutQueueMs: Infinity });
    }

    for (const hashType of ['map-based', 'consistent'] as const) {
      it(`${hashType}: a client whose server is full waits in that server's queue, even when others have room`, async () => {
        const { pool, balancer } = fullPool(hashType);
        const first = await balancer.acquire({ clientAddress: '127.0.0.5' });
        const where: (string | Server)[] = [];
        balancer.on('queue:enter', (w) => where.push(w));
        const second = balancer.acquire({ clientAddress: '127.0.0.5' });
        assert.deepEqual(where, [first.server]);
        await assert.rejects(balancer.acquire({ clientAddress: '127.0.0.5' }), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_QUEUE_FULL');
        first.release();
        assert.equal((await second).server, first.server);
        assert.equal(pool.servers.filter((s) => s.currentConnections > 0).length, 1);
      });
    }
  });

  it('rejects an unknown hashType', () => {
    assert.throws(() => new SourceHash({ hashType: 'ring' as 'consistent' }), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG');
  });
});
