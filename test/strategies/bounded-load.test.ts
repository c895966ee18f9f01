import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { LbError } from '../../src/errors.js';
import type { Lease } from '../../src/lease.js';
import { Pool } from '../../src/pool.js';
import type { ServerOptions } from '../../src/server.js';
import { SourceHash } from '../../src/strategies/source.js';
import { RandomStrategy } from '../../src/strategies/random.js';
import { servers, setup } from '../helpers/picks.js';
import { mulberry32 } from '../helpers/prng.js';
import { BoundedChashModel } from './models/bounded-chash-model.js';

const KEYS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

/** Holds one lease per key, in order; returns the leases. */
function holdAll(balancer: Balancer, keys: readonly string[], after?: (placed: number) => void): Lease[] {
  const leases: Lease[] = [];
  for (const key of keys) {
    const lease = balancer.tryAcquire({ key });
    assert.ok(lease, `key ${key} was not placed`);
    leases.push(lease);
    after?.(leases.length);
  }
  return leases;
}

function loads(balancer: Balancer): number[] {
  return balancer.pool.servers.map((s) => s.currentConnections);
}

describe('bounded-load consistent hashing (HAProxy hash-balance-factor)', () => {
  const TEN = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];

  it('hash-balance-factor 125 keeps every server within 1.25 × the mean with 1 000 keys held, at every step', () => {
    const { balancer } = setup(servers(TEN), { strategy: new SourceHash({ hashType: 'consistent', hashBalanceFactor: 125 }) });
    holdAll(balancer, KEYS, (placed) => {
      // The bound of the placement just made: ⌈placed × 1.25⌉ slots shared by 10 equal servers.
      const bound = Math.ceil(Math.ceil((placed * 125) / 100) / 10);
      const max = Math.max(...loads(balancer));
      assert.ok(max <= bound, `after ${placed} keys a server holds ${max}, above ${bound}`);
    });
    const final = loads(balancer);
    assert.equal(final.reduce((a, b) => a + b, 0), 1000);
    for (const n of final) assert.ok(n <= 1.25 * 100, `a server holds ${n} of 1000 (mean 100): ${final.join(' ')}`);
  });

  it('without the factor the same keys overload a server past 1.25 × the mean (the bound is what keeps them in)', () => {
    const { balancer } = setup(servers(TEN), { strategy: new SourceHash({ hashType: 'consistent' }) });
    holdAll(balancer, KEYS);
    const final = loads(balancer);
    assert.ok(Math.max(...final) > 125, `unbounded loads ${final.join(' ')}`);
  });

  it('respects weights: with weights 1, 2, 3 each server stays within 1.25 × its weighted share', () => {
    const { balancer } = setup(servers([1, 2, 3]), { strategy: new SourceHash({ hashType: 'consistent', hashBalanceFactor: 125 }) });
    holdAll(balancer, KEYS);
    const final = loads(balancer);
    [1, 2, 3].forEach((w, i) => assert.ok(final[i]! <= Math.ceil((1250 * w) / 6), `server s${i + 1} holds ${final[i]}: ${final.join(' ')}`));
  });

  it('places every key where the naive model of lb_chash.c does, through random holds and releases', () => {
    for (const factor of [101, 125, 150, 200]) {
      const weights = [1, 3, 2, 1];
      const { balancer, pool } = setup(servers(weights), { strategy: { name: 'source', hashType: 'consistent', hashBalanceFactor: factor } });
      const model = new BoundedChashModel(
        pool.servers.map((s) => ({ name: s.name, base: Math.imul(s.id, 4096) >>> 0, eweight: s.effectiveWeight, served: 0 })),
        factor,
      );
      const random = mulberry32(factor);
      const held: { lease: Lease; model: ReturnType<BoundedChashModel['place']> }[] = [];
      for (let step = 0; step < 3000; step++) {
        if (held.length > 0 && random() < 0.4) {
          const [h] = held.splice(Math.floor(random() * held.length), 1);
          h!.lease.release();
          model.release(h!.model);
          continue;
        }
        const key = `k${Math.floor(random() * 500)}`;
        const lease = balancer.tryAcquire({ key });
        assert.ok(lease);
        const expected = model.place(key);
        assert.equal(lease.server.name, expected.name, `factor ${factor}, step ${step}, key ${key}`);
        held.push({ lease, model: expected });
      }
    }
  });

  it('changes nothing while loads are light: a key taken and given back at once lands where it would without the factor', () => {
    const bounded = setup(servers([1, 1, 1, 1, 1]), { strategy: new SourceHash({ hashType: 'consistent', hashBalanceFactor: 125 }) });
    const plain = setup(servers([1, 1, 1, 1, 1]), { strategy: new SourceHash({ hashType: 'consistent' }) });
    for (const key of KEYS) {
      const a = bounded.balancer.tryAcquire({ key })!;
      const b = plain.balancer.tryAcquire({ key })!;
      assert.equal(a.server.name, b.server.name, key);
      a.release();
      b.release();
    }
  });

  it('follows servers coming and going: a server taken out leaves its keys to the others, within the bound', () => {
    const { balancer, pool } = setup(servers([1, 1, 1, 1]), { strategy: new SourceHash({ hashType: 'consistent', hashBalanceFactor: 150 }) });
    const leases = holdAll(balancer, KEYS.slice(0, 400));
    pool.setAdminState('s2', 'maint');
    holdAll(balancer, KEYS.slice(400, 800));
    // 800 held (s2's 100 or so included, they stay until released); the 3 usable servers share ⌈801 × 1.5⌉ slots.
    const usable = pool.servers.filter((s) => s.name !== 's2').map((s) => s.currentConnections);
    for (const n of usable) assert.ok(n <= Math.ceil(Math.ceil(800 * 1.5) / 3), `loads ${usable.join(' ')}`);
    for (const l of leases) l.release();
  });

  it('balance random takes the factor too (HAProxy applies it to the ring lookups of each draw)', () => {
    const random = mulberry32(7);
    const { balancer } = setup(servers([1, 1, 1, 1]), { strategy: new RandomStrategy({ draws: 1, hashBalanceFactor: 110 }), random });
    for (let i = 1; i <= 400; i++) {
      assert.ok(balancer.tryAcquire());
      const bound = Math.ceil(Math.ceil((i * 110) / 100) / 4);
      assert.ok(Math.max(...loads(balancer)) <= bound, `after ${i}: ${loads(balancer).join(' ')}`);
    }
  });

  it('rejects a factor of 1 to 100, a non-integer, or a factor or hash key without consistent hashing', () => {
    for (const bad of [50, 100, 125.5, -1, '150']) {
      assert.throws(() => new SourceHash({ hashType: 'consistent', hashBalanceFactor: bad as number }), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && /hashBalanceFactor/.test(e.message));
    }
    assert.throws(() => new SourceHash({ hashType: 'map-based', hashBalanceFactor: 150 }), /hashBalanceFactor needs hashType 'consistent'/);
    assert.throws(() => new SourceHash({ hashType: 'map-based', hashKey: 'addr' }), /hashKey needs hashType 'consistent'/);
    assert.throws(() => new SourceHash({ hashType: 'consistent', hashKey: 'guid' as 'addr' }), /hashKey must be 'id', 'addr', 'addr-port'/);
    assert.equal(new SourceHash({ hashType: 'consistent', hashBalanceFactor: 0 }).hashBalanceFactor, 0);
  });

  it('keeps its options in every tier of a tiered pool', () => {
    const pool = new Pool('t', { servers: [...servers([1, 1]), { name: 'p1a', host: '127.0.0.1', port: 19101, priority: 1 }, { name: 'p1b', host: '127.0.0.1', port: 19102, priority: 1 }] });
    const balancer = new Balancer(pool, { strategy: new SourceHash({ hashType: 'consistent', hashBalanceFactor: 101 }) });
    pool.setAdminState('s1', 'maint');
    pool.setAdminState('s2', 'maint');
    // Priority 1 takes everything; with a bound of ⌈(n + 1) × 1.01⌉ slots the two share the keys almost evenly.
    holdAll(balancer, KEYS.slice(0, 200));
    const p1 = ['p1a', 'p1b'].map((n) => pool.get(n).currentConnections);
    assert.deepEqual(p1.map((n) => n <= 102), [true, true], `priority 1 loads ${p1.join(' ')}`);
  });
});

describe('hash-key (HAProxy 3.0): where the ring points come from', () => {
  const five = (order: readonly number[], extra: (i: number) => Partial<ServerOptions> = () => ({})): ServerOptions[] =>
    order.map((i) => ({ name: `s${i}`, host: `10.0.0.${i}`, port: 6379, ...extra(i) }));

  function placements(list: readonly ServerOptions[], hashKey?: 'id' | 'addr' | 'addr-port'): Map<string, string> {
    const { balancer } = setup(list, { strategy: new SourceHash({ hashType: 'consistent', ...(hashKey ? { hashKey } : {}) }) });
    const out = new Map<string, string>();
    for (const key of KEYS) {
      const lease = balancer.tryAcquire({ key })!;
      out.set(key, lease.server.name);
      lease.release();
    }
    return out;
  }

  function agreement(a: Map<string, string>, b: Map<string, string>): number {
    let same = 0;
    for (const [k, v] of a) if (b.get(k) === v) same++;
    return same;
  }

  it('hash-key addr: two balancers listing the same servers in another order place all 1 000 keys alike', () => {
    assert.equal(agreement(placements(five([1, 2, 3, 4, 5]), 'addr'), placements(five([4, 2, 5, 1, 3]), 'addr')), 1000);
  });

  it('hash-key id: two balancers agree when the ids agree, whatever the order of the list', () => {
    const withIds = (order: number[]) => five(order, (i) => ({ id: 100 + i }));
    assert.equal(agreement(placements(withIds([1, 2, 3, 4, 5]), 'id'), placements(withIds([5, 3, 1, 4, 2]), 'id')), 1000);
  });

  it('hash-key id with positional ids: a different order moves most keys (why addr exists)', () => {
    const same = agreement(placements(five([1, 2, 3, 4, 5])), placements(five([4, 2, 5, 1, 3])));
    assert.ok(same < 500, `${same} of 1000 keys agreed`);
  });

  it('hash-key addr-port tells apart servers sharing one address; addr does not', () => {
    const ports = (order: number[]) => order.map((i) => ({ name: `s${i}`, host: '127.0.0.1', port: 19000 + i }));
    assert.equal(agreement(placements(ports([1, 2, 3]), 'addr-port'), placements(ports([3, 1, 2]), 'addr-port')), 1000);
    // With 'addr' the three share every point: only the first or last owner of a spot is ever the closest.
    assert.ok(new Set(placements(ports([1, 2, 3]), 'addr').values()).size < 3);
    const spread = new Set(placements(ports([1, 2, 3]), 'addr-port').values());
    assert.equal(spread.size, 3);
  });

  it('hash-key addr over IPv6 addresses agrees across orders too, and a host name falls back to the id', () => {
    const v6 = (order: number[]) => order.map((i) => ({ name: `s${i}`, host: `2001:db8::${i}`, port: 5432 }));
    assert.equal(agreement(placements(v6([1, 2, 3, 4]), 'addr'), placements(v6([2, 4, 3, 1]), 'addr')), 1000);
    const named = (order: number[]) => order.map((i) => ({ name: `s${i}`, host: `db${i}.internal`, port: 5432 }));
    assert.equal(agreement(placements(named([1, 2, 3]), 'addr'), placements(named([1, 2, 3]), 'id')), 1000);
  });

  it('takes a function of the server, so servers of one pool may use different keys', () => {
    const list = five([1, 2, 3, 4, 5]);
    const { balancer } = setup(list, { strategy: new SourceHash({ hashType: 'consistent', hashKey: (s) => (s.name === 's1' ? 'id' : 'addr') }) });
    assert.ok(balancer.tryAcquire({ key: 'x' }));
    assert.throws(
      () => setup(list, { strategy: new SourceHash({ hashType: 'consistent', hashKey: () => 'nope' as 'addr' }) }),
      (e: unknown) => LbError.is(e) && /hashKey\(s\d\) must return/.test(e.message),
    );
  });
});
