import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lease } from '../../src/lease.js';
import type { Server } from '../../src/server.js';
import { LeastConn } from '../../src/strategies/leastconn.js';
import { closeMode, holdMode, servers, setup } from '../helpers/picks.js';
import { mulberry32 } from '../helpers/prng.js';
import { LeastConnModel } from './models/leastconn-model.js';


/**
 * Sequences recorded from HAProxy 2.6.12 (Debian bookworm) with `balance leastconn`, clients connecting to
 * 127.0.0.1 in hold mode, 25 ms between operations, and runtime changes through the admin socket.
 * `o:sN` = a new connection landed on sN; `cI` = close the I-th still-open connection (in opening order);
 * `w:sN=W` = `set weight fe/sN W`; `m:sN` = `disable server fe/sN`; `r:sN` = `enable server fe/sN`.
 */
const RECORDED: readonly { weights: number[]; ops: string }[] = [
  {
    weights: [1, 2, 3],
    ops:
      'o:s1 o:s2 c1 m:s1 c0 o:s3 m:s2 o:s3 o:s3 o:s3 o:s3 o:s3 o:s3 o:s3 o:s3 c2 o:s3 o:s3 o:s3 c8 o:s3 o:s3 c6 c2 c4 c8 o:s3 c1 o:s3 o:s3 ' +
      'o:s3 o:s3 c6 o:s3 o:s3 o:s3 c12 o:s3 o:s3 o:s3 c15 w:s3=4 c14 o:s3 o:s3 w:s1=4 c14 c2 c13 o:s3 r:s1 o:s1 o:s1 o:s1 o:s1 c9 c1 c13 ' +
      'o:s1 o:s1 o:s1 w:s1=1 c9 o:s3 o:s3 o:s3 o:s3 o:s3 c14 o:s3 c11 o:s3 c5 m:s3 w:s1=1 o:s1 c19 o:s1 o:s1 w:s3=4 o:s1 o:s1 o:s1 o:s1 c7 ' +
      'w:s1=4 w:s2=3 o:s1 o:s1 o:s1 o:s1 o:s1 r:s3 o:s3 o:s1 o:s3 o:s1 c13 o:s3 o:s3 c11 w:s2=2 c12 o:s1 c26 c1 o:s3 c21 o:s1 o:s3 o:s1 ' +
      'w:s2=2 o:s3 c0 w:s2=3 c4 o:s3 c5 c9 c9 c30 o:s3 o:s3 o:s1 c1 c12 c8 o:s3 m:s3 o:s1 w:s1=2 c17 o:s1 c4 o:s1 r:s2 c1 o:s2 c8 o:s2 ' +
      'c20 o:s2 o:s2 o:s2 o:s2 c24 c23 c33 o:s2 w:s3=1 c18 c12 o:s2 o:s2 c13 o:s2 c19 c29',
  },
  {
    weights: [1, 2, 3],
    ops:
      'o:s1 o:s2 o:s3 c2 c0 o:s3 c0 c0 o:s1 c0 o:s2 c0 o:s3 o:s1 w:s1=1 o:s2 o:s3 m:s2 c3 o:s3 o:s3 o:s3 o:s3 c0 o:s3 m:s3 o:s1 r:s2 o:s2 ' +
      'c0 c7 c3 m:s1 c5 c3 c0 c2 c0 w:s3=2 o:s2 o:s2 r:s1 o:s1 c3 w:s2=1 c1 c1 o:s1 o:s2 o:s1 c0 o:s2 c0 c1 o:s1 o:s1 c1 m:s1 o:s2 c0 c2 ' +
      'c0 o:s2 c0 o:s2 c1 c0 o:s2 r:s1 c0 o:s1 c0 o:s2 o:s1 w:s2=1 c0 c0 o:s2 o:s1 w:s2=3 o:s2 o:s2 o:s2 c0 m:s1 c1 o:s2 c3 o:s2 o:s2 c4 ' +
      'o:s2 o:s2 w:s3=3 c0 o:s2 o:s2 o:s2 o:s2 w:s1=2 w:s1=1 o:s2 c6 c7 o:s2 w:s1=3 c7 o:s2 c1 o:s2 o:s2 w:s2=3 o:s2 c0 w:s1=2 o:s2 w:s1=3 ' +
      'c5 o:s2 o:s2 c10 o:s2 c7 o:s2 o:s2 o:s2 c7 c8 o:s2 c1 o:s2 o:s2 c0 c11 o:s2 o:s2 o:s2 o:s2 c10 o:s2 o:s2 c11 o:s2 o:s2 c14 o:s2 ' +
      'r:s3 o:s3 o:s3 o:s3 o:s3 o:s3 r:s1 o:s1 o:s1 o:s1 c12 o:s1',
  },
  {
    weights: [3, 1, 2, 5],
    ops:
      'o:s1 o:s2 o:s3 o:s4 c1 o:s2 o:s4 o:s4 c1 o:s3 c2 c4 o:s2 c1 c2 c1 o:s3 w:s2=4 c1 c0 o:s4 c0 o:s2 o:s1 w:s3=3 c1 c0 o:s3 c1 o:s2 ' +
      'o:s4 o:s3 c3 w:s3=2 c2 o:s3 m:s4 c2 r:s4 o:s3 o:s4 c3 o:s4 c1 o:s2 c2 o:s4 c0 m:s3 c2 o:s1 o:s4 o:s4 c3 c3 m:s4 c2 r:s4 o:s1 c2 ' +
      'o:s4 c0 c1 o:s1 w:s1=4 o:s4 o:s4 w:s1=3 o:s2 o:s4 r:s3 o:s3 o:s1 o:s2 c5 c5 c0 o:s3 o:s4 c5 c5 o:s3 m:s1 r:s1 o:s2 o:s2 o:s4 c2 ' +
      'c0 o:s1 c3 o:s4 o:s4 m:s1 o:s3 o:s2 o:s4 w:s4=4 o:s2 o:s3 o:s4 o:s2 o:s4 o:s2 o:s3 o:s4 o:s2 c10 o:s3 m:s4 w:s2=2 o:s3 o:s3 c0 ' +
      'o:s3 o:s3 m:s2 c4 c19 o:s3 r:s2 o:s2 o:s3 o:s2 c23 c14 w:s3=4 w:s3=2 c23 c4 o:s3 c5 c19 o:s3 c15 o:s3 o:s2 w:s3=2 w:s2=4 o:s2 ' +
      'o:s2 c9 c5 c10 c21 w:s4=2 o:s2 o:s2 o:s2 c16 m:s2 c6 w:s1=2 c19 c1 c4 w:s4=3 c8 o:s3 o:s3',
  },
];

describe('LeastConn', () => {
  it('sends short sequential sessions round robin whatever the weights (reference §10 A case 12)', () => {
    const { balancer } = setup(servers([1, 2, 3]), { strategy: 'leastconn' });
    assert.deepEqual(closeMode(balancer, 9), ['s1', 's2', 's3', 's1', 's2', 's3', 's1', 's2', 's3']);
  });

  it('spreads 12 held connections over weights 1,2,3 as HAProxy does (reference §2.5)', () => {
    const { balancer } = setup(servers([1, 2, 3]), { strategy: new LeastConn() });
    const { names } = holdMode(balancer, 12);
    assert.deepEqual(names, ['s1', 's2', 's3', 's3', 's2', 's3', 's3', 's2', 's3', 's1', 's2', 's3']);
  });

  for (const [i, rec] of RECORDED.entries()) {
    it(`reproduces HAProxy 2.6.12 recording ${i + 1} (weights ${rec.weights.join(',')}, opens, closes, set weight, disable/enable)`, () => {
      const { pool, balancer } = setup(servers(rec.weights), { strategy: 'leastconn' });
      const open: Lease[] = [];
      const got: string[] = [];
      const expected: string[] = [];
      for (const op of rec.ops.split(' ')) {
        if (op.startsWith('o:')) {
          expected.push(op.slice(2));
          const lease = balancer.tryAcquire();
          assert.ok(lease);
          open.push(lease);
          got.push(lease.server.name);
        } else if (op.startsWith('w:')) {
          const [name, weight] = op.slice(2).split('=');
          pool.setWeight(name!, Number(weight));
        } else if (op.startsWith('m:')) {
          pool.setAdminState(op.slice(2), 'maint');
        } else if (op.startsWith('r:')) {
          pool.setAdminState(op.slice(2), 'ready');
        } else {
          open.splice(Number(op.slice(1)), 1)[0]!.release();
        }
      }
      assert.ok(expected.length > 70);
      assert.deepEqual(got, expected);
    });
  }

  it('agrees with a linear-scan model over random acquires, releases, state and weight changes', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rnd = mulberry32(seed);
      const n = 2 + Math.floor(rnd() * 5);
      const list = servers(Array.from({ length: n }, () => Math.floor(rnd() * 5)));
      for (const s of list) Object.assign(s, { maxconn: rnd() < 0.4 ? 1 + Math.floor(rnd() * 4) : 0, maxqueue: 0 });
      const { pool, balancer } = setup(list, { strategy: 'leastconn' });
      const model = new LeastConnModel();
      for (const s of pool.activeUsable) model.insert(s);
      const open: Lease[] = [];
      for (let step = 0; step < 400; step++) {
        const r = rnd();
        const target = pool.servers[Math.floor(rnd() * n)]!;
        if (r < 0.45) {
          const exclude = rnd() < 0.2 ? target : undefined;
          const expected = pool.available ? model.pick('active', exclude) : undefined;
          if (!pool.available) continue;
          const lease = balancer.tryAcquire(exclude ? { exclude } : {});
          assert.equal(lease?.server, expected, `seed ${seed} step ${step}`);
          if (lease) {
            open.push(lease);
            model.connectionEvent(lease.server);
          }
        } else if (r < 0.8) {
          if (open.length === 0) continue;
          const lease = open.splice(Math.floor(rnd() * open.length), 1)[0]!;
          lease.release();
          model.connectionEvent(lease.server);
        } else {
          const before = target.usable;
          const beforeWeight = target.effectiveWeight;
          if (r < 0.88) pool.setWeight(target.name, Math.floor(rnd() * 5));
          else if (r < 0.94) pool.setAdminState(target.name, target.adminState === 'ready' ? 'maint' : 'ready');
          else pool.setAdminState(target.name, target.adminState === 'ready' ? 'drain' : 'ready');
          if (before && !target.usable) model.remove(target);
          else if (!before && target.usable) model.insert(target);
          else if (target.usable && beforeWeight !== target.effectiveWeight) model.insert(target);
        }
      }
    }
  });

  it('skips a server at maxconn and places the next connection on the least loaded one with room', () => {
    const { balancer } = setup([...servers([1]).map((s) => ({ ...s, maxconn: 1 })), ...servers([1, 1]).slice(1)], { strategy: 'leastconn' });
    const { names } = holdMode(balancer, 4);
    assert.deepEqual(names, ['s1', 's2', 's2', 's2']);
  });

  it('returns the avoided server only when no other server has room', () => {
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1 }), { strategy: 'leastconn' });
    const s1 = pool.get('s1');
    assert.equal(balancer.tryAcquire({ exclude: s1 })?.server.name, 's2');
    assert.equal(balancer.tryAcquire({ exclude: s1 })?.server.name, 's1');
    assert.equal(balancer.tryAcquire({ exclude: s1 }), undefined);
  });

  it('with maxqueue, sends a connection to a server at maxconn so that it waits in that server queue', async () => {
    const { pool, balancer } = setup(servers([1], { maxconn: 1, maxqueue: 2 }), { strategy: 'leastconn', timeoutQueueMs: Infinity });
    const where: (string | Server)[] = [];
    balancer.on('queue:enter', (w) => where.push(w));
    const first = await balancer.acquire();
    const waiting = balancer.acquire();
    assert.deepEqual(where, [pool.get('s1')]);
    assert.equal(pool.get('s1').queued, 1);
    first.release();
    assert.equal((await waiting).server.name, 's1');
  });

  it('balances the backup servers by load when every active server is down and allBackups is set', () => {
    const list = [...servers([1]), { name: 'b1', host: '127.0.0.1', port: 19101, backup: true }, { name: 'b2', host: '127.0.0.1', port: 19102, backup: true, weight: 2 }];
    const { pool, balancer } = setup(list, { strategy: 'leastconn' }, { allBackups: true });
    pool.setAdminState('s1', 'maint');
    const { names } = holdMode(balancer, 6);
    // keys: b1 0→512; b2 0→256→384→512, then the tie at 512 goes to b1 (its key is older)
    assert.deepEqual(names, ['b1', 'b2', 'b2', 'b2', 'b1', 'b2']);
  });
});
