import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ServerOptions } from '../../src/server.js';
import { StaticRoundRobin } from '../../src/strategies/static-rr.js';
import { closeMode, holdMode, servers, setup } from '../helpers/picks.js';
import { type Scenario, replay } from '../helpers/recorded.js';
import { MapModel } from './models/map-model.js';
import { type Command, type Farm, checkAgainstModel, commandsArbitrary as commandsArbitraryOf } from './models/model-check.js';

const SRR = { strategy: 'static-rr' } as const;
const picks = (weights: number[], n: number): string => closeMode(setup(servers(weights), SRR).balancer, n).join(' ');

describe('StaticRoundRobin: HAProxy reference sequences (§10 A case 11)', () => {
  it('walks the table of weights 1,2,3 as s1 s3 s2 s3 s2 s3, the first declared server first', () => {
    const period = 's1 s3 s2 s3 s2 s3';
    assert.equal(picks([1, 2, 3], 18), [period, period, period].join(' '));
  });

  it('walks the table of weights 3,2,1 as s1 s1 s2 s1 s2 s3', () => {
    const period = 's1 s1 s2 s1 s2 s3';
    assert.equal(picks([3, 2, 1], 12), [period, period].join(' '));
  });

  it('walks the table of weights 2,3 as s1 s2 s1 s2 s2', () => {
    assert.equal(picks([2, 3], 10), 's1 s2 s1 s2 s2 s1 s2 s1 s2 s2');
  });

  it('divides weights by their GCD: 2,4,6 behaves exactly like 1,2,3', () => {
    assert.equal(picks([2, 4, 6], 18), picks([1, 2, 3], 18));
  });

  it('gives weights 5,1 five picks of s1 then one of s2', () => {
    assert.equal(picks([5, 1], 12), 's1 s1 s1 s1 s1 s2 s1 s1 s1 s1 s1 s2');
  });
});

/*
 * Sequences recorded from real HAProxy 2.6.12 (Debian 2.6.12-1+deb12u4, `nbthread 1`) on 127.0.0.1, with the
 * harness of reference §10: `listen fe` in `mode tcp`, `balance static-rr`, one Node backend per server that
 * writes its name, sequential client connections (15 ms apart; "hold" keeps them open), and the events sent
 * on the stats socket between connections: `set server fe/<s> health up|down` (servers with `check inter 1h`),
 * `set server fe/<s> state maint|ready`, `set weight fe/<s> 0%|100%` (the only runtime weights HAProxy accepts
 * for static algorithms). The "dead" server had no listener, with `option redispatch` and `retries 3`: each
 * refused connection is retried on another server.
 */
const RECORDED: readonly Scenario[] = [
  {
    name: 'weights 1,2,3: s3 goes down and comes back, the pointer keeps its slot',
    servers: ['s1 weight 1 check', 's2 weight 2 check', 's3 weight 3 check'],
    steps: [
      ['picks', 's1 s3 s2 s3'],
      ['health', 's3', 'down'],
      ['picks', 's1 s2 s2 s1 s2'],
      ['health', 's3', 'up'],
      ['picks', 's2 s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3'],
    ],
  },
  {
    name: 'weights 2,4,3: the GCD covers every server, so the table keeps 2+4 slots while s3 is down',
    servers: ['s1 weight 2 check', 's2 weight 4 check', 's3 weight 3 check'],
    steps: [
      ['picks', 's1 s2 s3'],
      ['health', 's3', 'down'],
      ['picks', 's1 s2 s2 s1 s2 s2 s1'],
      ['health', 's3', 'up'],
      ['picks', 's1 s3 s2 s2 s3 s1 s2 s3 s2 s1'],
    ],
  },
  {
    name: 'weights 3,2,1: weight 0% and back to 100%, maintenance and ready',
    servers: ['s1 weight 3', 's2 weight 2', 's3 weight 1'],
    steps: [
      ['picks', 's1 s1'],
      ['weight', 's2', '0%'],
      ['picks', 's1 s3 s1 s1 s1'],
      ['weight', 's2', '100%'],
      ['picks', 's1 s2 s3 s1 s1 s2 s1'],
      ['state', 's1', 'maint'],
      ['picks', 's2 s2 s3 s2'],
      ['state', 's1', 'ready'],
      ['picks', 's1 s2 s1 s2 s3 s1 s1 s2'],
    ],
  },
  {
    name: 'weights 1,2,3 with maxconn 1,2,unlimited: full servers are skipped, held connections released',
    servers: ['s1 weight 1 maxconn 1', 's2 weight 2 maxconn 2', 's3 weight 3'],
    steps: [
      ['hold', 's1 s3 s2 s3 s2 s3 s3 s3'],
      ['release', 0],
      ['release', 2],
      ['hold', 's2 s3 s1 s3'],
    ],
  },
  {
    name: 'allbackups: the pointer keeps its slot when the table switches to the backups',
    servers: ['a1 check', 'b1 backup weight 1 check', 'b2 backup weight 2 check'],
    allBackups: true,
    steps: [
      ['picks', 'a1 a1'],
      ['health', 'a1', 'down'],
      ['picks', 'b2 b2 b1 b2 b2 b1'],
    ],
  },
  {
    name: 'weights 2,1,1: every connection to the dead s2 is redispatched away from it',
    servers: ['s1 weight 2', 's2 weight 1', 's3 weight 1'],
    dead: 's2',
    steps: [['picks', 's1 s1 s3 s1 s1 s3 s1 s1 s3 s1 s1 s3']],
  },
];

describe('StaticRoundRobin: sequences recorded from HAProxy 2.6.12', () => {
  for (const scenario of RECORDED) {
    it(`reproduces ${scenario.name}`, () => {
      const { expected, actual } = replay(scenario, 'static-rr');
      assert.deepEqual(actual, expected);
    });
  }
});

describe('StaticRoundRobin: behaviour', () => {
  it('accepts any runtime weight, unlike HAProxy, and keeps the new ratio exactly', () => {
    const { pool, balancer } = setup(servers([2, 4]), SRR);
    pool.setWeight('s1', 3);
    const names = closeMode(balancer, 7 * 4);
    assert.equal(names.filter((n) => n === 's1').length, 3 * 4);
    assert.equal(names.filter((n) => n === 's2').length, 4 * 4);
  });

  it('ignores slow start: a recovering server gets its full user weight at once', () => {
    const list = servers([1, 1], { check: true, slowstartMs: 60_000 });
    const { pool, balancer } = setup(list, SRR);
    pool.setHealth('s1', 'down');
    pool.setHealth('s1', 'up');
    assert.deepEqual(closeMode(balancer, 4).sort(), ['s1', 's1', 's2', 's2']);
  });

  it('skips an excluded server and returns it only when it is the only usable one', () => {
    const { pool, balancer } = setup(servers([1, 1, 1], { check: true }), SRR);
    const s2 = pool.get('s2');
    const picked = [0, 1, 2, 3].map(() => {
      const lease = balancer.tryAcquire({ exclude: s2 })!;
      lease.release();
      return lease.server.name;
    });
    assert.deepEqual(picked, ['s1', 's3', 's1', 's3']);
    pool.setHealth('s1', 'down');
    pool.setHealth('s3', 'down');
    assert.equal(balancer.tryAcquire({ exclude: s2 })?.server.name, 's2');
  });

  it('moves the pointer past an excluded server it had to return (map_get_server_rr)', () => {
    const { pool, balancer } = setup(servers([1, 1], { maxconn: 1 }), SRR);
    assert.deepEqual(closeMode(balancer, 1), ['s1']);
    const s2Lease = balancer.tryAcquire()!;
    assert.equal(s2Lease.server.name, 's2');
    // s2 is full and s1 excluded: s1 is returned, and the pointer now stands after s1's slot.
    const retry = balancer.tryAcquire({ exclude: pool.get('s1') })!;
    assert.equal(retry.server.name, 's1');
    retry.release();
    s2Lease.release();
    assert.equal(balancer.tryAcquire()?.server.name, 's2');
  });

  it('picks nothing when every server is full, then resumes as connections are released', () => {
    const { balancer } = setup(servers([1, 1], { maxconn: 1 }), SRR);
    const held = holdMode(balancer, 2);
    assert.deepEqual(held.names, ['s1', 's2']);
    assert.equal(balancer.tryAcquire(), undefined);
    held.leases[0]!.release();
    assert.equal(balancer.tryAcquire()?.server.name, 's1');
  });

  it('forgets a removed server, so the table shrinks to the GCD of the servers left', () => {
    const { pool, balancer } = setup(servers([2, 4, 3]), SRR);
    assert.deepEqual(closeMode(balancer, 4), ['s1', 's2', 's3', 's2']);
    pool.remove('s3');
    // Weights 2,4 now divide by 2: a 3-slot table s1 s2 s2, and the pointer (slot 4) starts over at 0.
    assert.deepEqual(closeMode(balancer, 6), ['s1', 's2', 's2', 's1', 's2', 's2']);
  });

  it('gives every connection to the first backup without allBackups, whatever the backup weights', () => {
    // Real HAProxy 2.6.12 differs here: with backups weighted 2 and 5 its static-rr table is sized by the first
    // backup's weight but filled from all backups, and it sent 8 of 8 connections to b2 (recorded with the
    // harness above: a1 `health down`, then 8 connections). switchyard keeps HAProxy's documented rule, and
    // what its roundrobin does: only the first usable backup.
    const list: ServerOptions[] = [
      { name: 'a1', host: '127.0.0.1', port: 19001, check: true },
      { name: 'b1', host: '127.0.0.1', port: 19002, backup: true, weight: 2 },
      { name: 'b2', host: '127.0.0.1', port: 19003, backup: true, weight: 5 },
    ];
    const { pool, balancer } = setup(list, SRR);
    pool.setHealth('a1', 'down');
    assert.deepEqual(closeMode(balancer, 4), ['b1', 'b1', 'b1', 'b1']);
  });

  it('is built by name through the balancer and exposes its HAProxy name', () => {
    const { balancer } = setup(servers([1]), SRR);
    assert.ok(balancer.strategy instanceof StaticRoundRobin);
    assert.equal(balancer.strategy.name, 'static-rr');
  });
});

describe('StaticRoundRobin: matches a literal model of HAProxy lb_map.c on random event sequences', () => {
  it('agrees pick for pick with the model through downs, ups, drains, maintenance, 0%/100% weights, maxconn and retries', () => {
    fc.assert(
      fc.property(farmArbitrary(), commandsArbitrary(), (farm, commands) => {
        compareWithModel(farm, commands);
      }),
      { numRuns: 400 },
    );
  });
});

/*
 * Random farms and event sequences. Every server starts usable (the library learns the GCD from the servers it
 * has seen; see StaticRoundRobin's documented differences).
 */
function farmArbitrary(): fc.Arbitrary<Farm> {
  const server = fc.record({
    weight: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(2, 4, 6, 8, 12), fc.integer({ min: 0, max: 40 })),
    backup: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
    maxconn: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 })),
  });
  return fc.record({ servers: fc.array(server, { minLength: 1, maxLength: 6 }), allBackups: fc.boolean() }).map((f) => ({
    allBackups: f.allBackups,
    servers: f.servers.map((s, i) => ({ ...s, backup: s.backup && i > 0, disabled: false, name: `s${i + 1}` })),
  }));
}

/** A weight command sets 100% (true) or 0% (false): the only runtime weights HAProxy's static algorithms take. */
function commandsArbitrary(): fc.Arbitrary<Command<boolean>[]> {
  return commandsArbitraryOf({ maxServer: 5, weight: fc.boolean(), mix: { pick: 10, release: 4, health: 2, admin: 1, weight: 1 } });
}

function compareWithModel(farm: Farm, commands: readonly Command<boolean>[]): void {
  checkAgainstModel('static-rr', farm, new MapModel(farm, farm.allBackups), commands);
}
