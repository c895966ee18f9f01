import type { Server } from '../server.js';
import { HeapNode, IndexedHeap, byKey } from './internal/indexed-heap.js';
import type { PickContext, ServerGroup, Strategy } from './strategy.js';

/** Largest effective weight (256 × 16): keys of the weight-ordered trees are `MAX_EWEIGHT − eweight`. */
const MAX_EWEIGHT = 4096;
/** Range of user weights: the position part of a `curr` key is `npos × UWEIGHT_RANGE`. */
const UWEIGHT_RANGE = 256;
/** Effective units per user weight unit. */
const WEIGHT_SCALE = 16;

/**
 * One group (active or backup) of HAProxy's FWRR (`struct fwrr_group`).
 *
 * `currPos`, `currWeight` and `nextWeight` are C `int`s; the per-server positions are `unsigned`. HAProxy
 * mixes the two, so comparisons and sums below reproduce C's unsigned conversions with `>>> 0`: it matters
 * when a server comes back after the group shrank and `nextWeight + currWeight − currPos` goes negative.
 */
interface Group {
  /** Servers placed in the current window, by position. */
  readonly curr: Tree;
  /** Servers waiting to be placed in this window, heaviest first (one of the two swapped trees). */
  init: Tree;
  /** Servers to place in the next window, heaviest first (the other swapped tree). */
  next: Tree;
  currPos: number;
  currWeight: number;
  nextWeight: number;
  /** Followed since `reset` or a hook; otherwise built from the candidates of the first pick. */
  ready: boolean;
}

/**
 * An eb32 tree of HAProxy's: servers by `key` ascending, equal keys in insertion order (a server re-inserted
 * goes after the others holding its key), which the sequences depend on.
 */
type Tree = IndexedHeap<Place>;

/** FWRR state of one server (HAProxy's `npos`, `lpos`, `rweight`, `lb_tree`, `lb_node`, `next_full`). */
class Place extends HeapNode {
  /** The effective weight last committed for this server (HAProxy `cur_eweight`). */
  eweight = 0;
  /** Next position (unsigned). */
  npos = 0;
  /** Last position (unsigned). */
  lpos = 0;
  /** Remainder of weight carried to the next placement (unsigned). */
  rweight = 0;
  /** The tree the server belongs to; `undefined` while unusable. Kept while briefly dequeued during a pick. */
  tree: Tree | undefined = undefined;
  /** Its key in that tree (HAProxy `lb_node.key`). */
  key = 0;
  /** Link of the list of servers set aside during one pick (saturated or avoided). */
  nextAside: Place | undefined = undefined;

  constructor(
    readonly server: Server,
    readonly group: Group,
  ) {
    super();
  }
}

const u32 = (n: number): number => n >>> 0;

/**
 * HAProxy's `balance roundrobin`: the fast weighted round-robin of `src/lb_fwrr.c` (HAProxy 2.6), pick for
 * pick. Each server is served in proportion to its effective weight (`weight × 16`, lowered during slow
 * start), the heaviest first and equal weights in declaration order, spread smoothly over a window of
 * `Σ eweight` picks: weights 1,2,3 give `s3 s2 s3 s1 s3 s2`, 5,1 give `s1 s1 s1 s1 s1 s2`.
 *
 * The state is kept per group (active, backup) in three trees (`curr`, `init`, `next`) and follows the
 * pool through the strategy hooks exactly as HAProxy's `fwrr_set_server_status_down/up()` and
 * `fwrr_update_server_weight()` do, so a server that goes down, comes back or changes weight lands where it
 * would in HAProxy. Weights change on the fly. A pick is O(log n), plus O(log n) for each server skipped.
 *
 * Full servers (`maxconn` reached or a queue on them) and excluded servers (a retry) are set aside and put
 * back as `fwrr_get_next_server()` does; an excluded server is returned only when no other can take the
 * connection. Deliberate difference: HAProxy avoids at most one server; when several are excluded this
 * strategy skips all of them and, if nothing else is free, returns the first one it met.
 *
 * One instance serves one {@link Balancer}, which calls {@link RoundRobin.reset} before the first pick.
 *
 * @example
 * ```ts
 * const pool = new Pool('web', { servers: [
 *   { name: 's1', host: '10.0.0.1', port: 80, weight: 1 },
 *   { name: 's2', host: '10.0.0.2', port: 80, weight: 2 },
 *   { name: 's3', host: '10.0.0.3', port: 80, weight: 3 },
 * ] })
 * const balancer = new Balancer(pool, { strategy: new RoundRobin() }) // or strategy: 'roundrobin'
 * // six sequential connections go to s3, s2, s3, s1, s3, s2
 * ```
 */
export class RoundRobin implements Strategy {
  readonly name = 'roundrobin';
  readonly usesClientAddress = false;

  #active: Group = newGroup();
  #backup: Group = newGroup();
  #places = new WeakMap<Server, Place>();

  /** Builds both groups from the usable servers, in declaration order (HAProxy `fwrr_init_server_groups()`). */
  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#active = newGroup();
    this.#backup = newGroup();
    this.#places = new WeakMap();
    this.#build(this.#active, active);
    this.#build(this.#backup, backup);
  }

  /** Picks the next server of `context.group` (HAProxy `fwrr_get_next_server()`). */
  pick(candidates: readonly Server[], context: PickContext): Server | undefined {
    const g = this.#groupOf(context.group);
    if (!g.ready) this.#build(g, candidates);

    let switched = false;
    let avoided: Place | undefined;
    let aside: Place | undefined;
    let chosen: Place | undefined;
    for (;;) {
      // An emptied group may have gained weight since: collect it before looking.
      if (g.currWeight === 0) g.currPos = g.currWeight = g.nextWeight;
      let p = firstOf(g);
      if (p === undefined && !switched) {
        // End of the window: start the next one, once per pick.
        switched = true;
        switchTrees(g);
        p = firstOf(g);
      }
      if (p === undefined) {
        chosen = avoided;
        break;
      }
      // Even a server we cannot use now consumes its turn, so that it is put back at its next place.
      updatePosition(g, p);
      dequeue(p);
      g.currPos = (g.currPos + 1) | 0;
      if (!context.isFull(p.server)) {
        if (!context.isExcluded(p.server)) {
          chosen = p;
          break;
        }
        avoided ??= p;
      }
      p.nextAside = aside;
      aside = p;
    }

    if (chosen) queue(chosen);
    // Put back the servers set aside, most recent first (HAProxy's list order). After a switch their place in
    // the old window is lost and only their weight matters.
    for (let p = aside; p; ) {
      const nextAside = p.nextAside;
      p.nextAside = undefined;
      if (p !== chosen) {
        if (switched) queueByWeight(g.init, p);
        else queue(p);
      }
      p = nextAside;
    }
    return chosen?.server;
  }

  /** A server became usable: HAProxy `fwrr_set_server_status_up()`. */
  serverUsable(server: Server): void {
    const p = this.#placeOf(server);
    if (p.tree !== undefined) {
      this.weightChanged(server);
      return;
    }
    const eweight = server.effectiveWeight;
    if (eweight <= 0) return;
    const g = p.group;
    p.eweight = eweight;
    g.nextWeight = (g.nextWeight + eweight) | 0;
    // Placed about one step ahead of the current position, as far as the window allows.
    p.npos = u32(g.currPos + Math.floor(u32(g.nextWeight + g.currWeight - g.currPos) / eweight));
    queue(p);
  }

  /** A server stopped being usable: HAProxy `fwrr_set_server_status_down()`. */
  serverUnusable(server: Server): void {
    const p = this.#places.get(server);
    if (p?.tree === undefined) return;
    const g = p.group;
    g.nextWeight = (g.nextWeight - p.eweight) | 0;
    dequeue(p);
    p.tree = undefined;
    p.eweight = server.effectiveWeight;
  }

  /** A usable server's effective weight changed: HAProxy `fwrr_update_server_weight()`. */
  weightChanged(server: Server): void {
    const p = this.#places.get(server);
    if (p?.tree === undefined) {
      this.serverUsable(server);
      return;
    }
    const eweight = server.effectiveWeight;
    if (eweight === p.eweight) return;
    if (eweight <= 0) {
      this.serverUnusable(server);
      return;
    }
    const g = p.group;
    g.nextWeight = (g.nextWeight - p.eweight + eweight) | 0;
    p.eweight = eweight;
    if (p.tree === g.init) {
      // Re-keyed in place: the same order as taking it out and queueing it by weight again, in one pass.
      p.key = MAX_EWEIGHT - eweight;
      g.init.update(p);
      return;
    }
    if (p.tree === g.next) p.npos = u32(p.npos + g.currWeight);
    // Still in the window: keep the turns already earned, but never jump before the next two picks.
    const previousNext = p.npos;
    const step = Math.floor(u32(g.nextWeight) / eweight);
    p.npos = u32(p.lpos + step);
    p.rweight = 0;
    if (p.npos > previousNext) p.npos = previousNext;
    if (p.npos < u32(g.currPos + 2)) p.npos = u32(g.currPos + step);
    requeue(p);
  }

  #groupOf(group: ServerGroup): Group {
    return group === 'backup' ? this.#backup : this.#active;
  }

  #placeOf(server: Server): Place {
    let p = this.#places.get(server);
    if (p === undefined) {
      p = new Place(server, server.backup ? this.#backup : this.#active);
      p.group.ready = true;
      this.#places.set(server, p);
    }
    return p;
  }

  #build(g: Group, servers: readonly Server[]): void {
    g.ready = true;
    let total = 0;
    for (const server of servers) {
      const eweight = server.effectiveWeight;
      if (eweight <= 0) continue;
      const p = this.#placeOf(server);
      p.eweight = eweight;
      total += eweight;
      queueByWeight(g.init, p);
    }
    g.currPos = g.currWeight = g.nextWeight = total;
  }
}

function newGroup(): Group {
  return { curr: newTree(), init: newTree(), next: newTree(), currPos: 0, currWeight: 0, nextWeight: 0, ready: false };
}

function newTree(): Tree {
  return new IndexedHeap<Place>(byKey);
}

/**
 * The next server of the window: the first of `curr` if its turn has come; otherwise the heaviest server
 * still waiting in `init` (starting afresh); otherwise the first of `curr` anyway (HAProxy
 * `fwrr_get_server_from_group()`).
 */
function firstOf(g: Group): Place | undefined {
  const s1 = g.curr.peek();
  if (s1 !== undefined && s1.eweight > 0 && s1.npos <= u32(g.currPos)) return s1;
  const s2 = g.init.peek();
  if (s2 !== undefined && s2.eweight > 0) {
    s2.npos = 0;
    s2.rweight = 0;
    return s2;
  }
  return s1;
}

/** Advances a server by one turn: `nextWeight / eweight` positions, the remainder carried (`fwrr_update_position()`). */
function updatePosition(g: Group, p: Place): void {
  const eweight = p.eweight;
  if (eweight === 0) return;
  if (p.npos === 0) p.npos = u32(g.currPos);
  const total = u32(g.nextWeight);
  p.lpos = p.npos;
  p.npos = u32(p.npos + Math.floor(total / eweight));
  p.rweight = u32(p.rweight + (total % eweight));
  if (p.rweight >= eweight) {
    p.rweight -= eweight;
    p.npos = u32(p.npos + 1);
  }
}

/**
 * Puts a server back by position (`fwrr_queue_srv()`): into `curr` keyed by position (heavier first at equal
 * position), or into `next` when its position falls outside this window and the next.
 */
function queue(p: Place): void {
  const g = p.group;
  if (!fitsCurr(p)) {
    p.npos = u32(p.npos - g.currWeight);
    queueByWeight(g.next, p);
    return;
  }
  p.key = currKey(p);
  g.curr.push(p);
  p.tree = g.curr;
}

/** `dequeue(p)` then `queue(p)`, re-keyed in place when it stays in `curr` (the same order, in one pass). */
function requeue(p: Place): void {
  const g = p.group;
  if (p.tree !== g.curr || !fitsCurr(p)) {
    dequeue(p);
    queue(p);
    return;
  }
  p.key = currKey(p);
  g.curr.update(p);
}

/** Whether `queue(p)` puts the server in `curr` (its position falls in this window or the next), not in `next`. */
function fitsCurr(p: Place): boolean {
  const g = p.group;
  return p.eweight > 0 && p.npos < u32(2 * g.currWeight) && p.npos < u32(g.currWeight + g.nextWeight);
}

/** Key of a server in `curr`: its position, then heavier first (`fwrr_queue_srv()`). */
function currKey(p: Place): number {
  return u32(u32(UWEIGHT_RANGE * p.npos) + Math.floor(u32(MAX_EWEIGHT + p.rweight - p.eweight) / WEIGHT_SCALE));
}

/** Inserts into a weight-ordered tree, heaviest first (`fwrr_queue_by_weight()`). */
function queueByWeight(tree: Tree, p: Place): void {
  p.key = MAX_EWEIGHT - p.eweight;
  tree.push(p);
  p.tree = tree;
}

/** Removes a server from its tree but remembers which tree it was in (`fwrr_dequeue_srv()`). */
function dequeue(p: Place): void {
  p.tree?.remove(p);
}

function switchTrees(g: Group): void {
  const init = g.init;
  g.init = g.next;
  g.next = init;
  g.currWeight = g.nextWeight;
  g.currPos = g.currWeight;
}
