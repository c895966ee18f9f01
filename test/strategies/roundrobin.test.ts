import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ServerOptions } from '../../src/server.js';
import { RoundRobin } from '../../src/strategies/roundrobin.js';
import { closeMode, holdMode, servers, setup } from '../helpers/picks.js';
import { type Scenario, replay } from '../helpers/recorded.js';
import { FwrrModel } from './models/fwrr-model.js';
import { type Command, type Farm, checkAgainstModel, commandsArbitrary as commandsArbitraryOf } from './models/model-check.js';

describe('RoundRobin: HAProxy reference sequences (§10 A)', () => {
  const rr = { strategy: 'roundrobin' } as const;
  const picks = (weights: number[], n: number): string => closeMode(setup(servers(weights), rr).balancer, n).join(' ');

  it('case 1: serves equal weights in declaration order', () => {
    assert.equal(picks([1, 1, 1], 9), 's1 s2 s3 s1 s2 s3 s1 s2 s3');
  });

  it('case 2: spreads weights 1,2,3 heaviest first over a period of 6', () => {
    const period = 's3 s2 s3 s1 s3 s2';
    assert.equal(picks([1, 2, 3], 18), [period, period, period].join(' '));
  });

  it('case 2: gives weights 10,20,30 the same sequence as 1,2,3', () => {
    assert.equal(picks([10, 20, 30], 18), picks([1, 2, 3], 18));
  });

  it('case 3: spreads weights 3,2,1 as s1 s2 s1 s3 s1 s2', () => {
    const period = 's1 s2 s1 s3 s1 s2';
    assert.equal(picks([3, 2, 1], 18), [period, period, period].join(' '));
  });

  it('case 4: gives weights 5,1 five picks of s1 then one of s2', () => {
    assert.equal(picks([5, 1], 12), 's1 s1 s1 s1 s1 s2 s1 s1 s1 s1 s1 s2');
  });

  it('case 4: gives weights 1,5 five picks of s2 then one of s1, and 9,1 nine of s1 then s2', () => {
    assert.equal(picks([1, 5], 12), 's2 s2 s2 s2 s2 s1 s2 s2 s2 s2 s2 s1');
    assert.equal(picks([9, 1], 20), 's1 s1 s1 s1 s1 s1 s1 s1 s1 s2 s1 s1 s1 s1 s1 s1 s1 s1 s1 s2');
  });

  it('case 5: spreads weights 2,3 as s2 s2 s1 s2 s1', () => {
    assert.equal(picks([2, 3], 15), 's2 s2 s1 s2 s1 s2 s2 s1 s2 s1 s2 s2 s1 s2 s1');
  });

  it('case 6: never picks a server of weight 0', () => {
    assert.equal(picks([1, 0, 1], 8), 's1 s3 s1 s3 s1 s3 s1 s3');
  });

  it('case 16: skips saturated servers (maxconn 1, 1, unlimited, connections held)', () => {
    const list = servers([1, 1, 1]).map((s, i) => (i < 2 ? { ...s, maxconn: 1 } : s));
    const { balancer } = setup(list, rr);
    assert.deepEqual(holdMode(balancer, 6).names, ['s1', 's2', 's3', 's3', 's3', 's3']);
  });
});

/*
 * Sequences recorded from real HAProxy 2.6.12 (Debian 2.6.12-1+deb12u4, `nbthread 1`) on 127.0.0.1, with the
 * harness of reference §10: `listen fe` in `mode tcp`, `balance roundrobin`, one Node backend per server that
 * writes its name, sequential client connections (15 ms apart; "hold" keeps them open), and the events sent
 * on the stats socket between connections: `set server fe/<s> health up|down` (servers with `check inter 1h`),
 * `set server fe/<s> state drain|ready|maint`, `set weight fe/<s> <w>`. The "dead" server had no listener,
 * with `option redispatch` and `retries 3`: each refused connection is retried on another server.
 */
const RECORDED: readonly Scenario[] = [
  {
    name: 'weights 3,2,1: s1 goes down and comes back',
    servers: ['s1 weight 3 check', 's2 weight 2 check', 's3 weight 1 check'],
    steps: [
      ['picks', 's1 s2 s1 s3'],
      ['health', 's1', 'down'],
      ['picks', 's2 s2 s2 s2 s3 s2'],
      ['health', 's1', 'up'],
      ['picks', 's1 s2 s3 s1 s2 s1 s1 s2 s3 s1 s2 s1'],
    ],
  },
  {
    name: 'weights 5,1: a returning s1 waits behind s2 for its place',
    servers: ['s1 weight 5 check', 's2 weight 1 check'],
    steps: [
      ['picks', 's1 s1 s1'],
      ['health', 's1', 'down'],
      ['picks', 's2 s2'],
      ['health', 's1', 'up'],
      ['picks', 's2 s1 s1 s1 s1 s1 s2 s1 s1 s1 s1 s1'],
    ],
  },
  {
    name: 'weights 1,2,3: set weight lowers s3 then raises s1 mid-window',
    servers: ['s1 weight 1', 's2 weight 2', 's3 weight 3'],
    steps: [
      ['picks', 's3 s2 s3 s1 s3'],
      ['weight', 's3', 1],
      ['picks', 's2 s2 s2 s1 s3 s2 s2 s1 s3 s2 s2 s1'],
      ['weight', 's1', 4],
      ['picks', 's3 s1 s2 s1 s1 s2 s1 s3 s1 s2 s1 s1'],
    ],
  },
  {
    name: 'weights 1,1,1,1: two servers down, back one by one',
    servers: ['s1 check', 's2 check', 's3 check', 's4 check'],
    steps: [
      ['picks', 's1 s2'],
      ['health', 's2', 'down'],
      ['health', 's3', 'down'],
      ['picks', 's4 s1 s4'],
      ['health', 's2', 'up'],
      ['picks', 's1 s4 s2 s1'],
      ['health', 's3', 'up'],
      ['picks', 's4 s2 s1 s3 s4 s2 s1 s3'],
    ],
  },
  {
    name: 'weights 2,3,4: drain and ready, weight 0 and back',
    servers: ['s1 weight 2', 's2 weight 3', 's3 weight 4'],
    steps: [
      ['picks', 's3 s2 s3 s1 s2 s3 s3'],
      ['state', 's3', 'drain'],
      ['picks', 's2 s1 s2 s1 s2'],
      ['state', 's3', 'ready'],
      ['picks', 's2 s1 s3 s2 s3 s1 s2 s3 s3 s2'],
      ['weight', 's1', 0],
      ['picks', 's3 s2 s3 s2 s3 s3'],
      ['weight', 's1', 2],
      ['picks', 's2 s3 s1 s2 s3 s3 s2 s1 s3 s2'],
    ],
  },
  {
    name: 'weights 1,1,1,1: three down late in the window, the survivor ends it, two come back',
    servers: ['s1 check', 's2 check', 's3 check', 's4 check'],
    steps: [
      // Recorded: 11 × "s1 s2 s3 s4", then "s1 s2".
      ['picks', `${'s1 s2 s3 s4 '.repeat(11)}s1 s2`],
      ['health', 's2', 'down'],
      ['health', 's3', 'down'],
      ['health', 's4', 'down'],
      ['picks', 's1 s1'],
      ['health', 's2', 'up'],
      ['picks', 's1 s2 s1 s2 s1 s2 s1 s2 s1 s2'],
      ['health', 's3', 'up'],
      ['picks', 's1 s2 s3 s1 s2 s3 s1 s2 s3 s1'],
    ],
  },
  {
    name: 'weights 1,1,1,1: three down late in the window, one back at once (position past the window)',
    servers: ['s1 check', 's2 check', 's3 check', 's4 check'],
    steps: [
      ['picks', `${'s1 s2 s3 s4 '.repeat(11)}s1 s2`],
      ['health', 's2', 'down'],
      ['health', 's3', 'down'],
      ['health', 's4', 'down'],
      ['health', 's2', 'up'],
      ['picks', 's1 s2 s1 s2 s1 s2'],
      ['health', 's3', 'up'],
      ['picks', 's1 s2 s3 s1 s2 s3 s1 s2 s3 s1'],
    ],
  },
  {
    name: 'weights 4,3,2,1: weights changed mid-window while a server is down',
    servers: ['s1 weight 4 check', 's2 weight 3 check', 's3 weight 2 check', 's4 weight 1 check'],
    steps: [
      ['picks', 's1 s2 s1 s3 s2 s1 s4'],
      ['weight', 's4', 5],
      ['picks', 's1 s2 s3 s4'],
      ['weight', 's1', 1],
      ['health', 's2', 'down'],
      ['picks', 's4 s4 s4 s3 s4 s4 s3 s4 s4'],
      ['weight', 's3', 7],
      ['health', 's2', 'up'],
      ['picks', 's3 s1 s4 s3 s2 s3 s4 s3 s4 s2 s3 s3 s4 s3 s2'],
    ],
  },
  {
    name: 'weights 1,2,3 with maxconn 1,2,unlimited: held connections, two released',
    servers: ['s1 weight 1 maxconn 1', 's2 weight 2 maxconn 2', 's3 weight 3'],
    steps: [
      ['hold', 's3 s2 s3 s1 s3 s2 s3 s3'],
      ['release', 0],
      ['release', 1],
      ['hold', 's3 s2 s3 s3'],
    ],
  },
  {
    name: 'case 16 continued: the saturated s1 and s2 take their turns again once released',
    servers: ['s1 maxconn 1', 's2 maxconn 1', 's3'],
    steps: [
      ['hold', 's1 s2 s3 s3 s3 s3'],
      ['release', 0],
      ['release', 1],
      ['hold', 's1 s2 s3 s3'],
    ],
  },
  {
    name: 'weights 3,2,2,1 with maxconn 1,1,2,1: servers set aside when a window ends are requeued most recent first',
    servers: ['s1 weight 3 maxconn 1', 's2 weight 2 maxconn 1', 's3 weight 2 maxconn 2', 's4 weight 1 maxconn 1'],
    steps: [
      ['hold', 's1 s2 s3'],
      ['release', 0],
      ['release', 1],
      ['release', 2],
      ['hold', 's4'],
      ['release', 3],
      ['hold', 's2 s1 s3 s3 s4'],
      ['release', 6],
      ['hold', 's3'],
      ['release', 5],
      ['hold', 's1'],
      ['release', 8],
      ['hold', 's4'],
      ['release', 10],
      ['release', 11],
      ['release', 9],
      ['release', 7],
      ['release', 4],
      ['hold', 's1 s2 s3'],
    ],
  },
  {
    name: 'allbackups: the backup group keeps its own state while the actives come and go',
    servers: ['a1 check', 'a2 weight 2 check', 'b1 backup weight 1 check', 'b2 backup weight 2 check', 'b3 backup weight 3 check'],
    allBackups: true,
    steps: [
      ['picks', 'a2 a2 a1'],
      ['health', 'a1', 'down'],
      ['health', 'a2', 'down'],
      ['picks', 'b3 b2 b3 b1'],
      ['health', 'a2', 'up'],
      ['picks', 'a2 a2'],
      ['health', 'a2', 'down'],
      ['picks', 'b3 b2 b3 b2 b3'],
      ['health', 'b3', 'down'],
      ['picks', 'b1 b2 b2'],
      ['health', 'b3', 'up'],
      ['picks', 'b1 b3 b2 b3 b2 b3 b1 b3'],
    ],
  },
  {
    name: 'weights 2,1,1: every connection to the dead s2 is redispatched away from it',
    servers: ['s1 weight 2', 's2 weight 1', 's3 weight 1'],
    dead: 's2',
    steps: [['picks', 's1 s1 s3 s1 s1 s3 s1 s1 s3 s1 s1 s3']],
  },
];

describe('RoundRobin: sequences recorded from HAProxy 2.6.12', () => {
  for (const scenario of RECORDED) {
    it(`reproduces ${scenario.name}`, () => {
      const { expected, actual } = replay(scenario, 'roundrobin');
      assert.deepEqual(actual, expected);
    });
  }
});

describe('RoundRobin: behaviour', () => {
  it('gives every server exactly its weight share over a window of Σweight picks', () => {
    const weights = [7, 1, 4, 2, 3];
    const names = closeMode(setup(servers(weights), { strategy: 'roundrobin' }).balancer, 17 * 3);
    weights.forEach((w, i) => {
      assert.equal(names.filter((n) => n === `s${i + 1}`).length, w * 3, `s${i + 1}`);
    });
  });

  it('skips an excluded server and returns it only when it is the only usable one', () => {
    const { pool, balancer } = setup(servers([1, 1, 1], { check: true }), { strategy: 'roundrobin' });
    const s1 = pool.get('s1');
    const picked: string[] = [];
    for (let i = 0; i < 4; i++) {
      const lease = balancer.tryAcquire({ exclude: s1 })!;
      picked.push(lease.server.name);
      lease.release();
    }
    assert.deepEqual(picked, ['s2', 's3', 's2', 's3']);
    pool.setHealth('s2', 'down');
    pool.setHealth('s3', 'down');
    assert.equal(balancer.tryAcquire({ exclude: s1 })?.server.name, 's1');
  });

  it('skips every excluded server when several are given', () => {
    const { pool, balancer } = setup(servers([1, 1, 1]), { strategy: 'roundrobin' });
    const exclude = [pool.get('s1'), pool.get('s2')];
    const picked = [0, 1, 2].map(() => {
      const lease = balancer.tryAcquire({ exclude })!;
      lease.release();
      return lease.server.name;
    });
    assert.deepEqual(picked, ['s3', 's3', 's3']);
  });

  it('picks nothing when every server is full, then resumes as connections are released', () => {
    const { balancer } = setup(servers([2, 1], { maxconn: 1 }), { strategy: 'roundrobin' });
    const held = holdMode(balancer, 2);
    assert.deepEqual(held.names, ['s1', 's2']);
    assert.equal(balancer.tryAcquire(), undefined);
    held.leases[1]!.release();
    assert.equal(balancer.tryAcquire()?.server.name, 's2');
  });

  it('follows servers added to and removed from the pool', () => {
    const { pool, balancer } = setup(servers([1, 1]), { strategy: 'roundrobin' });
    assert.deepEqual(closeMode(balancer, 2), ['s1', 's2']);
    pool.add({ name: 's3', host: '127.0.0.1', port: 19003 });
    pool.remove('s1');
    const names = closeMode(balancer, 6);
    assert.ok(!names.includes('s1'), names.join(' '));
    assert.equal(names.filter((n) => n === 's3').length, 3, names.join(' '));
  });

  it('serves the backup group with its own weights when allBackups is set and no active server is usable', () => {
    const list: ServerOptions[] = [
      { name: 'a1', host: '127.0.0.1', port: 19001, check: true },
      { name: 'b1', host: '127.0.0.1', port: 19002, backup: true, weight: 1 },
      { name: 'b2', host: '127.0.0.1', port: 19003, backup: true, weight: 3 },
    ];
    const { pool, balancer } = setup(list, { strategy: 'roundrobin' }, { allBackups: true });
    pool.setHealth('a1', 'down');
    assert.deepEqual(closeMode(balancer, 8), ['b2', 'b2', 'b2', 'b1', 'b2', 'b2', 'b2', 'b1']);
  });

  it('uses the effective weight, so weights are on the 1/16 scale of HAProxy (weight 256 beside weight 1)', () => {
    const names = closeMode(setup(servers([256, 1]), { strategy: 'roundrobin' }).balancer, 257);
    assert.equal(names.filter((n) => n === 's2').length, 1);
  });

  it('handles a large farm: 4000 servers of weight 1 are each picked once per round', () => {
    const { balancer } = setup(servers(new Array<number>(4000).fill(1)), { strategy: 'roundrobin' });
    const names = closeMode(balancer, 4000);
    assert.equal(new Set(names).size, 4000);
    assert.equal(names[0], 's1');
    assert.equal(names[3999], 's4000');
  });

  it('is built by name through the balancer and exposes its HAProxy name', () => {
    const { balancer } = setup(servers([1]), { strategy: 'roundrobin' });
    assert.ok(balancer.strategy instanceof RoundRobin);
    assert.equal(balancer.strategy.name, 'roundrobin');
  });
});

describe('RoundRobin: matches a literal model of HAProxy FWRR on random event sequences', () => {
  it('agrees pick for pick with the model through downs, ups, drains, maintenance, weight changes, maxconn and retries', () => {
    fc.assert(
      fc.property(farmArbitrary(), commandsArbitrary(), (farm, commands) => {
        compareWithModel(farm, commands);
      }),
      { numRuns: 400 },
    );
  });

  it('agrees pick for pick with the model when most servers are saturated by held connections', () => {
    fc.assert(
      fc.property(farmArbitrary({ saturated: true }), commandsArbitrary({ saturated: true }), (farm, commands) => {
        compareWithModel(farm, commands);
      }),
      { numRuns: 400 },
    );
  });
});

/** Random farms: 1 to 7 servers; `saturated` ones have small weights and maxconn, no backups and none disabled. */
function farmArbitrary({ saturated = false } = {}): fc.Arbitrary<Farm> {
  const server = fc.record({
    weight: saturated ? fc.integer({ min: 1, max: 4 }) : fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 256 })),
    backup: fc.integer({ min: 0, max: 3 }).map((x) => !saturated && x === 0),
    maxconn: saturated ? fc.integer({ min: 0, max: 2 }) : fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3 })),
    disabled: fc.integer({ min: 0, max: 6 }).map((x) => !saturated && x === 0),
  });
  return fc.record({ servers: fc.array(server, { minLength: 1, maxLength: 7 }), allBackups: fc.boolean() }).map((f) => ({
    allBackups: f.allBackups,
    servers: f.servers.map((s, i) => ({ ...s, backup: s.backup && i > 0, name: `s${i + 1}` })),
  }));
}

function commandsArbitrary({ saturated = false } = {}): fc.Arbitrary<Command<number>[]> {
  return commandsArbitraryOf({
    maxServer: 6,
    weight: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 256 })),
    mix: saturated ? { pick: 10, release: 6 } : { pick: 10, release: 3, health: 2, admin: 1, weight: 2 },
    holdAll: saturated,
  });
}

function compareWithModel(farm: Farm, commands: readonly Command<number>[]): void {
  checkAgainstModel('roundrobin', farm, new FwrrModel(farm, farm.allBackups), commands);
}
