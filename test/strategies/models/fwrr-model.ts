import type { Farm, ModelServer, StrategyModel } from './model-check.js';

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
export interface MServer extends ModelServer {
  readonly backup: boolean;
  readonly maxconn: number;
  uweight: number;
  curEweight: number;
  /** The usability last committed (HAProxy `srv_currently_usable()`: cur_state and cur_eweight). */
  curUsable: boolean;
  npos: number;
  lpos: number;
  rweight: number;
  key: number;
  seq: number;
  lbTree: MTree | null;
  inTree: boolean;
}

const U = (n: number): number => n >>> 0;

export class FwrrModel implements StrategyModel<MServer, number> {
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

  // ---- the loop's interface (model-check.ts) ----
  pick(avoid: MServer | null): MServer | null {
    return this.getNextServer(avoid);
  }
  setWeight(s: MServer, weight: number): number {
    s.uweight = weight;
    return weight;
  }
  changed(s: MServer): void {
    this.propagate(s);
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
