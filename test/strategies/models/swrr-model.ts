import type { Server } from '../../../src/server.js';

/**
 * The literal O(n) model of the documented semantics: every candidate earns its weight; the winner is the
 * highest current weight (first declared on ties) that is neither full nor excluded, else the best one that is
 * not full; the servers ranked above the winner were passed over and earn nothing; the winner gives back the
 * total earned. Current weights persist while a server is out of the candidates.
 */
export class SwrrModel {
  readonly current = new Map<Server, number>();

  pick(candidates: readonly Server[], isFull: (s: Server) => boolean, isExcluded: (s: Server) => boolean): Server | undefined {
    const cw = (s: Server): number => this.current.get(s) ?? 0;
    let total = 0;
    for (const s of candidates) {
      if (s.effectiveWeight <= 0) continue;
      this.current.set(s, cw(s) + s.effectiveWeight);
      total += s.effectiveWeight;
    }
    const ahead = (a: number, b: number): boolean => {
      const x = candidates[a]!;
      const y = candidates[b]!;
      return cw(x) > cw(y) || (cw(x) === cw(y) && a < b);
    };
    let win = -1;
    for (let i = 0; i < candidates.length; i++) {
      const s = candidates[i]!;
      if (s.effectiveWeight > 0 && !isFull(s) && !isExcluded(s) && (win < 0 || ahead(i, win))) win = i;
    }
    if (win < 0) {
      for (let i = 0; i < candidates.length; i++) {
        const s = candidates[i]!;
        if (s.effectiveWeight > 0 && !isFull(s) && (win < 0 || ahead(i, win))) win = i;
      }
    }
    if (win < 0) {
      for (const s of candidates) if (s.effectiveWeight > 0) this.current.set(s, cw(s) - s.effectiveWeight);
      return undefined;
    }
    const passed = candidates.filter((s, i) => s.effectiveWeight > 0 && ahead(i, win));
    for (const s of passed) {
      this.current.set(s, cw(s) - s.effectiveWeight);
      total -= s.effectiveWeight;
    }
    const winner = candidates[win]!;
    this.current.set(winner, cw(winner) - total);
    return winner;
  }
}
