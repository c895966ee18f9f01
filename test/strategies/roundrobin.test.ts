import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Lease } from '../../src/lease.js';
import type { ServerOptions } from '../../src/server.js';
import { RoundRobin } from '../../src/strategies/roundrobin.js';
import { closeMode, holdMode, servers, setup } from '../helpers/picks.js';
import { type Scenario, replay } from '../helpers/recorded.js';

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

// ---------------------------------------------------------------------------------------------------------
// A deliberately simple model of HAProxy 2.6 FWRR: a line-by-line transcription of src/lb_fwrr.c (and the
// group choice of fwrr_get_next_server() / update_backend_weight()), with the eb32 trees replaced by arrays
// kept sorted by (key, insertion number). C's unsigned arithmetic is kept (`>>> 0`).

interface MTree {
  nodes: MServer[];
}
interface MGroup {
  curr: MTree;
  t0: MTree;
  t1: MTree;
  init: MTree;
  next: MTree;
  currPos: number;
  currWeight: number;
  nextWeight: number;
}
interface MServer {
  readonly name: string;
  readonly backup: boolean;
  readonly maxconn: number;
  uweight: number;
  curEweight: number;
  /** The usability last committed (HAProxy `srv_currently_usable()`: cur_state and cur_eweight). */
  curUsable: boolean;
  admin: 'ready' | 'drain' | 'maint';
  running: boolean;
  served: number;
  npos: number;
  lpos: number;
  rweight: number;
  key: number;
  seq: number;
  lbTree: MTree | null;
  inTree: boolean;
}

const U = (n: number): number => n >>> 0;

class FwrrModel {
  readonly servers: MServer[];
  readonly act: MGroup = newMGroup();
  readonly bck: MGroup = newMGroup();
  insertions = 0;

  constructor(
    farm: Farm,
    readonly allBackups: boolean,
  ) {
    this.servers = farm.servers.map((f) => ({
      name: f.name,
      backup: f.backup,
      maxconn: f.maxconn,
      uweight: f.weight,
      curEweight: f.weight * 16,
      curUsable: f.weight > 0 && !f.disabled,
      admin: f.disabled ? 'maint' : 'ready',
      running: true,
      served: 0,
      npos: 0,
      lpos: 0,
      rweight: 0,
      key: 0,
      seq: 0,
      lbTree: null,
      inTree: false,
    }));
    for (const g of [this.act, this.bck]) {
      let w = 0;
      for (const s of this.servers) if (this.grp(s) === g && this.currentlyUsable(s)) w += s.curEweight;
      g.currPos = g.currWeight = g.nextWeight = w;
    }
    for (const s of this.servers) if (this.currentlyUsable(s)) this.queueByWeight(this.grp(s).init, s);
  }

  grp(s: MServer): MGroup {
    return s.backup ? this.bck : this.act;
  }
  nextEweight(s: MServer): number {
    return s.uweight * 16;
  }
  willbeUsable(s: MServer): boolean {
    return this.nextEweight(s) > 0 && s.admin === 'ready' && s.running;
  }
  currentlyUsable(s: MServer): boolean {
    return s.curUsable;
  }

  /** eb32_insert(): after every node with a lower or equal key. */
  treeInsert(tree: MTree, s: MServer, key: number): void {
    s.key = key;
    s.seq = this.insertions++;
    s.inTree = true;
    let i = tree.nodes.length;
    while (i > 0 && tree.nodes[i - 1]!.key > key) i--;
    tree.nodes.splice(i, 0, s);
  }

  // ---- transcription of src/lb_fwrr.c ----
  dequeue(s: MServer): void {
    if (!s.inTree || !s.lbTree) return;
    s.lbTree.nodes.splice(s.lbTree.nodes.indexOf(s), 1);
    s.inTree = false;
  }
  queueByWeight(root: MTree, s: MServer): void {
    this.treeInsert(root, s, 4096 - this.nextEweight(s));
    s.lbTree = root;
  }
  queueSrv(s: MServer): void {
    const g = this.grp(s);
    if (!this.willbeUsable(s)) s.lbTree = null;
    else if (this.nextEweight(s) <= 0 || s.npos >= U(2 * g.currWeight) || s.npos >= U(g.currWeight + g.nextWeight)) {
      s.npos = U(s.npos - g.currWeight);
      this.queueByWeight(g.next, s);
    } else {
      this.treeInsert(g.curr, s, U(U(256 * s.npos) + Math.floor(U(4096 + s.rweight - this.nextEweight(s)) / 16)));
      s.lbTree = g.curr;
    }
  }
  getSrv(s: MServer): void {
    const g = this.grp(s);
    if (s.lbTree === g.init) s.npos = s.rweight = 0;
    else if (s.lbTree === g.next) s.npos = U(s.npos + g.currWeight);
    else if (s.lbTree === null) s.npos = U(g.currPos);
  }
  statusDown(s: MServer): void {
    const g = this.grp(s);
    g.nextWeight -= s.curEweight;
    this.dequeue(s);
    s.lbTree = null;
  }
  statusUp(s: MServer): void {
    const g = this.grp(s);
    g.nextWeight += this.nextEweight(s);
    this.getSrv(s);
    s.npos = U(g.currPos + Math.floor(U(g.nextWeight + g.currWeight - g.currPos) / this.nextEweight(s)));
    this.queueSrv(s);
  }
  /** fwrr_update_server_weight(), which dispatches to the status functions when usability changes. */
  propagate(s: MServer): void {
    const oldState = this.currentlyUsable(s);
    const newState = this.willbeUsable(s);
    if (oldState && !newState) this.statusDown(s);
    else if (!oldState && newState) this.statusUp(s);
    else if (oldState && newState && s.curEweight !== this.nextEweight(s)) {
      const g = this.grp(s);
      g.nextWeight = g.nextWeight - s.curEweight + this.nextEweight(s);
      if (s.lbTree === g.init) {
        this.dequeue(s);
        this.queueByWeight(g.init, s);
      } else {
        this.getSrv(s);
        const prevNext = s.npos;
        const step = Math.floor(U(g.nextWeight) / this.nextEweight(s));
        s.npos = U(s.lpos + step);
        s.rweight = 0;
        if (s.npos > prevNext) s.npos = prevNext;
        if (s.npos < U(g.currPos + 2)) s.npos = U(g.currPos + step);
        this.dequeue(s);
        this.queueSrv(s);
      }
    }
    s.curEweight = this.nextEweight(s);
    s.curUsable = newState;
  }
  fromGroup(g: MGroup): MServer | null {
    const s1 = g.curr.nodes[0] ?? null;
    if (s1 && s1.curEweight && s1.npos <= U(g.currPos)) return s1;
    const s2 = g.init.nodes[0];
    if (s2 && s2.curEweight) {
      s2.npos = s2.rweight = 0;
      return s2;
    }
    return s1;
  }
  updatePosition(g: MGroup, s: MServer): void {
    const ew = s.curEweight;
    if (!ew) return;
    if (!s.npos) s.npos = U(g.currPos);
    s.lpos = s.npos;
    s.npos = U(s.npos + Math.floor(U(g.nextWeight) / ew));
    s.rweight = U(s.rweight + (U(g.nextWeight) % ew));
    if (s.rweight >= ew) {
      s.rweight -= ew;
      s.npos = U(s.npos + 1);
    }
  }
  saturated(s: MServer): boolean {
    return s.maxconn > 0 && s.served >= s.maxconn;
  }
  getNextServer(avoid: MServer | null): MServer | null {
    const act = this.servers.filter((s) => !s.backup && this.currentlyUsable(s)).length;
    const bcks = this.servers.filter((s) => s.backup && this.currentlyUsable(s));
    let g: MGroup;
    if (act) g = this.act;
    else if (!this.allBackups && bcks.length) return bcks[0]!; // lbprm.fbck
    else if (bcks.length) g = this.bck;
    else return null;

    let switched = false;
    let avoided: MServer | null = null;
    const full: MServer[] = []; // pushed at the head like the C list: iterate from the end
    let srv: MServer | null = null;
    outer: for (;;) {
      if (!g.currWeight) g.currPos = g.currWeight = g.nextWeight;
      for (;;) {
        srv = this.fromGroup(g);
        if (srv) break;
        if (switched) {
          if (avoided) {
            srv = avoided;
            this.queueSrv(srv);
          }
          break outer;
        }
        switched = true;
        const swap = g.init;
        g.init = g.next;
        g.next = swap;
        g.currWeight = g.nextWeight;
        g.currPos = g.currWeight;
      }
      this.updatePosition(g, srv);
      this.dequeue(srv);
      g.currPos++;
      if (!this.saturated(srv)) {
        if (srv !== avoid || avoided) {
          this.queueSrv(srv);
          break;
        }
        avoided = srv;
      }
      full.push(srv);
    }
    for (let i = full.length - 1; i >= 0; i--) {
      const f = full[i]!;
      if (f === srv) continue;
      if (switched) this.queueByWeight(g.init, f);
      else this.queueSrv(f);
    }
    return srv;
  }
}

function newMGroup(): MGroup {
  const t0: MTree = { nodes: [] };
  const t1: MTree = { nodes: [] };
  return { curr: { nodes: [] }, t0, t1, init: t0, next: t1, currPos: 0, currWeight: 0, nextWeight: 0 };
}

// ---------------------------------------------------------------------------------------------------------
// Random farms and event sequences, applied to both the library and the model.

interface FarmServer {
  readonly name: string;
  readonly weight: number;
  readonly backup: boolean;
  readonly maxconn: number;
  readonly disabled: boolean;
}
interface Farm {
  readonly servers: readonly FarmServer[];
  readonly allBackups: boolean;
}
type Command =
  | { readonly kind: 'pick'; readonly hold: boolean; readonly avoid: number | null }
  | { readonly kind: 'release'; readonly index: number }
  | { readonly kind: 'health'; readonly server: number; readonly up: boolean }
  | { readonly kind: 'admin'; readonly server: number; readonly state: 'ready' | 'drain' | 'maint' }
  | { readonly kind: 'weight'; readonly server: number; readonly weight: number };

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

function commandsArbitrary({ saturated = false } = {}): fc.Arbitrary<Command[]> {
  const idx = fc.integer({ min: 0, max: 6 });
  const pick = fc.record({
    kind: fc.constant('pick' as const),
    hold: saturated ? fc.constant(true) : fc.boolean(),
    avoid: fc.oneof(fc.constant(null), fc.constant(null), idx),
  });
  const release = fc.record({ kind: fc.constant('release' as const), index: fc.nat() });
  const health = fc.record({ kind: fc.constant('health' as const), server: idx, up: fc.boolean() });
  const admin = fc.record({ kind: fc.constant('admin' as const), server: idx, state: fc.constantFrom('ready' as const, 'drain' as const, 'maint' as const) });
  const weight = fc.record({ kind: fc.constant('weight' as const), server: idx, weight: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 256 })) });
  const command: fc.Arbitrary<Command> = saturated
    ? fc.oneof({ weight: 10, arbitrary: pick }, { weight: 6, arbitrary: release })
    : fc.oneof({ weight: 10, arbitrary: pick }, { weight: 3, arbitrary: release }, { weight: 2, arbitrary: health }, { weight: 1, arbitrary: admin }, { weight: 2, arbitrary: weight });
  return fc.array(command, { minLength: 20, maxLength: 250 });
}

function compareWithModel(farm: Farm, commands: readonly Command[]): void {
  const list: ServerOptions[] = farm.servers.map((s, i) => ({
    name: s.name,
    host: '127.0.0.1',
    port: 19001 + i,
    weight: s.weight,
    backup: s.backup,
    maxconn: s.maxconn,
    disabled: s.disabled,
    check: true,
  }));
  const { pool, balancer } = setup(list, { strategy: 'roundrobin' }, { allBackups: farm.allBackups });
  const model = new FwrrModel(farm, farm.allBackups);
  const n = farm.servers.length;
  const held: { lease: Lease; server: MServer }[] = [];
  const log: string[] = [];
  for (const c of commands) {
    if (c.kind === 'pick') {
      const avoid = c.avoid === null ? null : model.servers[c.avoid % n]!;
      const expected = model.getNextServer(avoid);
      const willServe = expected !== null && !model.saturated(expected);
      const lease = pool.available ? balancer.tryAcquire(avoid ? { exclude: pool.get(avoid.name) } : {}) : undefined;
      log.push(`pick${c.hold ? ' hold' : ''}${avoid ? ` avoid ${avoid.name}` : ''} → ${lease?.server.name ?? '-'}`);
      assert.equal(lease?.server.name ?? '-', willServe ? expected.name : '-', log.join('\n'));
      if (lease && expected) {
        if (c.hold) {
          expected.served++;
          held.push({ lease, server: expected });
        } else {
          lease.release();
        }
      }
    } else if (c.kind === 'release') {
      if (held.length === 0) continue;
      const [h] = held.splice(c.index % held.length, 1);
      h!.lease.release();
      h!.server.served--;
      log.push(`release ${h!.server.name}`);
    } else {
      const s = model.servers[c.server % n]!;
      if (c.kind === 'health') {
        pool.setHealth(s.name, c.up ? 'up' : 'down');
        s.running = c.up;
      } else if (c.kind === 'admin') {
        pool.setAdminState(s.name, c.state);
        // Leaving maintenance: a checked server comes back UP (HAProxy sets the health to `rise`).
        if (s.admin === 'maint' && c.state !== 'maint') s.running = true;
        if (c.state === 'maint') s.running = false;
        s.admin = c.state;
      } else {
        pool.setWeight(s.name, c.weight);
        s.uweight = c.weight;
      }
      log.push(`${c.kind} ${s.name} ${c.kind === 'health' ? (c.up ? 'up' : 'down') : c.kind === 'admin' ? c.state : c.weight}`);
      model.propagate(s);
    }
  }
}
