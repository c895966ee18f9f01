import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool } from '../../../src/pool.js';
import type { Server } from '../../../src/server.js';
import { ChashRing, GroupRings } from '../../../src/strategies/internal/chash-ring.js';
import { servers } from '../../helpers/picks.js';

function threeServers(): [Server, Server, Server] {
  const pool = new Pool('fe', { servers: servers([1, 1, 1]) });
  return pool.servers as unknown as [Server, Server, Server];
}

const KEYS = Array.from({ length: 2000 }, (_, i) => (i * 2654435761) % 2 ** 32);

describe('ChashRing', () => {
  it('holds the requested number of points per server', () => {
    const [s1, s2] = threeServers();
    const ring = new ChashRing();
    ring.setPoints(s1, 16);
    ring.setPoints(s2, 48);
    assert.equal(ring.size, 64);
    assert.equal(ring.pointsOf(s2), 48);
    ring.setPoints(s2, 0);
    assert.equal(ring.size, 16);
    assert.equal(ring.pointsOf(s2), 0);
  });

  it('moves only keys onto a growing server and only keys off a shrinking one', () => {
    const [s1, s2, s3] = threeServers();
    const ring = new ChashRing();
    for (const s of [s1, s2, s3]) ring.setPoints(s, 32);
    const before = KEYS.map((k) => ring.lookup(k));
    ring.setPoints(s1, 64);
    const grown = KEYS.map((k) => ring.lookup(k));
    assert.ok(grown.some((s, i) => s !== before[i]));
    for (let i = 0; i < KEYS.length; i++) if (grown[i] !== before[i]) assert.equal(grown[i], s1);
    ring.setPoints(s1, 32);
    assert.deepEqual(KEYS.map((k) => ring.lookup(k)), before);
    ring.setPoints(s1, 8);
    for (const [i, s] of KEYS.map((k) => ring.lookup(k)).entries()) if (s !== before[i]) assert.equal(before[i], s1);
  });

  it('returns undefined on an empty ring, and the closest server when every point is to be avoided', () => {
    const [s1] = threeServers();
    const ring = new ChashRing();
    assert.equal(ring.lookup(123), undefined);
    ring.setPoints(s1, 16);
    assert.equal(ring.lookup(123, { isExcluded: () => true }), s1);
  });

  it('visits every point once per round in next(), skipping servers not accepted', () => {
    const [s1, s2, s3] = threeServers();
    const ring = new ChashRing();
    ring.setPoints(s1, 16);
    ring.setPoints(s2, 32);
    ring.setPoints(s3, 16);
    const seen = new Map<Server, number>();
    for (let i = 0; i < 48; i++) {
      const s = ring.next((x) => x !== s3)!;
      seen.set(s, (seen.get(s) ?? 0) + 1);
    }
    assert.equal(seen.get(s1), 16);
    assert.equal(seen.get(s2), 32);
    assert.equal(seen.get(s3), undefined);
    assert.equal(ring.next(() => false), undefined);
    assert.equal(ring.next(() => true, { isExcluded: () => true }) !== undefined, true);
  });

  it('builds the same ring in bulk with load() as by adding servers one by one', () => {
    const pool = new Pool('be', { servers: servers([1, 3, 2, 5, 1, 4]) });
    const oneByOne = new ChashRing();
    for (const s of pool.servers) oneByOne.setPoints(s, s.effectiveWeight);
    const bulk = new ChashRing();
    bulk.load(pool.servers.map((s) => [s, s.effectiveWeight] as const));
    assert.equal(bulk.size, oneByOne.size);
    for (let h = 0; h < 2 ** 32; h += 9_973_121) assert.equal(bulk.lookup(h), oneByOne.lookup(h), `hash ${h}`);
    for (const s of pool.servers) assert.equal(bulk.pointsOf(s), s.effectiveWeight);
  });

  it('applies many pending changes of GroupRings in one rebuild with the same result as one by one', () => {
    const pool = new Pool('be', { servers: servers(Array.from({ length: 30 }, (_, i) => 1 + (i % 4))) });
    const lazy = new GroupRings();
    lazy.reset([], []);
    for (const s of pool.servers) lazy.update(s); // 30 pending: one bulk load
    lazy.remove(pool.servers[4]!);
    const reference = new ChashRing();
    for (const s of pool.servers) if (s !== pool.servers[4]) reference.setPoints(s, s.effectiveWeight);
    const ring = lazy.ring('active');
    assert.equal(ring.size, reference.size);
    for (let h = 0; h < 2 ** 32; h += 7_654_321) assert.equal(ring.lookup(h), reference.lookup(h), `hash ${h}`);
    lazy.remove(pool.servers[7]!); // one pending: applied incrementally
    reference.setPoints(pool.servers[7]!, 0);
    for (let h = 0; h < 2 ** 32; h += 7_654_321) assert.equal(lazy.ring('active').lookup(h), reference.lookup(h), `hash ${h}`);
  });
});
