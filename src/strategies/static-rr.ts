import type { Server } from '../server.js';
import type { PickContext, Strategy } from './strategy.js';

// PLACEHOLDER: replaced by the real algorithm before anything is committed as done.
export class StaticRoundRobin implements Strategy {
  readonly name: string = 'static-rr';
  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    for (const s of candidates) if (!ctx.isFull(s) && !ctx.isExcluded(s)) return s;
    return undefined;
  }
}
