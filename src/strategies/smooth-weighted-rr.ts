import type { Server } from '../server.js';
import { Entry, Rotation } from './internal/swrr-rotation.js';
import type { PickContext, ServerGroup, Strategy } from './strategy.js';

/**
 * Picks between two rebases of the intercepts. Keeps `weight · k` (at most 4096 · 2^20 = 2^32) and every
 * intercept far inside the range where doubles are exact integers, at an O(n) cost once per million picks.
 */
const REBASE_AFTER = 2 ** 20;

/**
 * nginx's smooth weighted round robin (`ngx_stream_upstream_get_peer()`): on each pick every server's
 * *current weight* grows by its effective weight, the server with the highest current weight wins (the first
 * declared on ties) and gives back the total. Weights 1,2,3 give s3 s2 s1 s3 s2 s3; every window of
 * `Σ weight` picks from a fresh start holds each server exactly `weight` times, spread out as evenly as
 * the weights allow.
 *
 * **Cost.** nginx scans every server on every pick (O(n)). This implementation produces the same sequence in
 * O(D + log n) per pick, D being the number of *distinct* effective weights among the usable servers
 * (at most 4096, as weights are 0–256 in 1/16 units; usually a handful): a server's current weight after
 * k picks is the line `weight · k + intercept`, servers of equal weight never change order between picks,
 * so each weight class keeps a binary heap by intercept and a pick compares the D class leaders.
 * Each server passed over (below) adds O(D + log n). A server coming back is re-inserted in O(log n); one
 * the strategy has never seen is ranked at the next pick, in O(1) when it was added at the end of the
 * declaration order (`pool.add`), else by an O(n log n) rebuild. The tests check the sequence against a
 * literal O(n) model through random events.
 *
 * **Full and excluded servers.** A server that is full or excluded when it would win is passed over and,
 * as in nginx, earns nothing that round (its current weight does not grow, and the total the winner gives
 * back leaves it out). Unlike nginx, a full server that would not have won anyway is not looked at and earns
 * as usual: finding every full server would cost O(n). When no other candidate can take the connection,
 * the best excluded server that is not full is returned.
 *
 * **Membership.** A server that stops being usable (down, drain, maint, weight 0) keeps its current weight
 * and resumes with it when it comes back, as nginx does for a peer that failed. A weight change keeps the
 * current weight and changes how fast it grows.
 *
 * @example
 * ```ts
 * const pool = new Pool('api', { servers: [
 *   { name: 's1', host: '10.0.0.1', port: 8080, weight: 1 },
 *   { name: 's2', host: '10.0.0.2', port: 8080, weight: 2 },
 *   { name: 's3', host: '10.0.0.3', port: 8080, weight: 3 },
 * ] })
 * const balancer = new Balancer(pool, { strategy: new SmoothWeightedRoundRobin() }) // or strategy: 'swrr'
 * // six sequential connections go to s3, s2, s1, s3, s2, s3
 * ```
 */
export class SmoothWeightedRoundRobin implements Strategy {
  readonly name = 'swrr';
  readonly usesClientAddress = false;

  #entries = new WeakMap<Server, Entry>();
  #active = new Rotation();
  #backup = new Rotation();
  #epoch = 0;
  /** Servers passed over during the current pick, best first (reused: a pick allocates nothing). */
  readonly #aside: Entry[] = [];

  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    const rot = this.#sync(candidates, ctx.group);
    if (rot.classes.length === 0) return undefined;
    const total = rot.total;
    const k = ++rot.k;
    const aside = this.#aside;
    let winner: Entry | undefined;
    let lastResort = -1;
    for (;;) {
      const e = rot.best();
      if (e === undefined) break;
      if (!ctx.isFull(e.server)) {
        if (!ctx.isExcluded(e.server)) {
          winner = e;
          break;
        }
        if (lastResort < 0) lastResort = aside.length;
      }
      rot.take(e);
      aside.push(e);
    }
    let passed = aside.length;
    let winnerAside = false;
    if (winner === undefined) {
      if (lastResort < 0) {
        // Nobody can take it: the round did not happen.
        rot.k--;
        for (const e of aside) rot.put(e);
        aside.length = 0;
        return undefined;
      }
      winner = aside[lastResort]!;
      passed = lastResort;
      winnerAside = true;
    }
    let given = total;
    for (let i = 0; i < passed; i++) {
      const e = aside[i]!;
      e.intercept -= e.weight;
      given -= e.weight;
    }
    winner.intercept -= given;
    if (!winnerAside) rot.sink(winner);
    for (const e of aside) rot.put(e);
    aside.length = 0;
    if (k >= REBASE_AFTER) rot.rebase();
    return winner.server;
  }

  reset(active: readonly Server[], backup: readonly Server[]): void {
    this.#entries = new WeakMap();
    this.#active = new Rotation();
    this.#backup = new Rotation();
    this.#rebuild(this.#active, active);
    this.#rebuild(this.#backup, backup);
  }

  serverUsable(server: Server): void {
    let e = this.#entries.get(server);
    if (e === undefined) this.#entries.set(server, (e = new Entry(server)));
    if (e.rotation !== undefined || e.pending !== undefined) return;
    const rot = server.backup ? this.#backup : this.#active;
    if (e.epoch === rot.epoch) {
      e.weight = server.effectiveWeight;
      rot.attach(e, e.current);
    } else {
      // Its declaration rank is unknown until the next pick shows where it sits among the candidates.
      e.pending = rot;
      rot.pending.push(e);
    }
  }

  serverUnusable(server: Server): void {
    const e = this.#entries.get(server);
    if (e === undefined) return;
    if (e.pending !== undefined) {
      const list = e.pending.pending;
      list.splice(list.indexOf(e), 1);
      e.pending = undefined;
    }
    e.rotation?.detach(e);
  }

  weightChanged(server: Server): void {
    const e = this.#entries.get(server);
    e?.rotation?.reweigh(e, server.effectiveWeight);
  }

  /** The rotation of `group`, brought in line with `candidates` (a no-op when the hooks kept it so). */
  #sync(candidates: readonly Server[], group: ServerGroup): Rotation {
    const rot = group === 'backup' ? this.#backup : this.#active;
    if (rot.pending.length > 0) this.#admitPending(rot, candidates);
    // The balancer always passes the pool's live arrays and keeps the rotation in step through the hooks;
    // another array (a caller without hooks) is taken as a new membership.
    if (rot.members !== candidates.length || rot.source !== candidates) this.#rebuild(rot, candidates);
    return rot;
  }

  /**
   * Servers added at the end of the declaration order (the usual `pool.add`) are ranked after the last
   * member in O(1) each. Anything else is resolved by a rebuild.
   */
  #admitPending(rot: Rotation, candidates: readonly Server[]): void {
    const pending = rot.pending;
    const first = candidates.length - pending.length;
    let ok = first > 0 && rot.members === first;
    for (let i = 0; ok && i < pending.length; i++) ok = candidates[first + i] === pending[i]!.server;
    if (ok) {
      const last = this.#entries.get(candidates[first - 1]!);
      ok = last !== undefined && last.rotation === rot && last.rank === rot.maxRank;
    }
    for (const e of pending) {
      e.pending = undefined;
      if (!ok) continue;
      e.rank = ++rot.maxRank;
      e.epoch = rot.epoch;
      e.weight = e.server.effectiveWeight;
      rot.attach(e, e.current);
    }
    pending.length = 0;
  }

  /** O(n log n): re-ranks the rotation from `candidates`, keeping every server's current weight. */
  #rebuild(rot: Rotation, candidates: readonly Server[]): void {
    rot.clear();
    rot.source = candidates;
    rot.epoch = ++this.#epoch;
    for (let i = 0; i < candidates.length; i++) {
      const server = candidates[i]!;
      let e = this.#entries.get(server);
      if (e === undefined) this.#entries.set(server, (e = new Entry(server)));
      if (e.pending !== undefined) {
        const list = e.pending.pending;
        list.splice(list.indexOf(e), 1);
        e.pending = undefined;
      }
      e.rotation?.detach(e);
      e.rank = i;
      e.epoch = rot.epoch;
      e.weight = server.effectiveWeight;
      rot.attach(e, e.current);
    }
    rot.maxRank = candidates.length - 1;
  }
}
