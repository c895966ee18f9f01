import type { Server } from '../server.js';
import type { PickContext, Strategy } from './strategy.js';

// PLACEHOLDER: replaced by the real algorithm before anything is committed as done.
export class LeastConn implements Strategy {
  readonly name: string = 'leastconn';
  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    for (const s of candidates) if (!ctx.isFull(s) && !ctx.isExcluded(s)) return s;
    return undefined;
  }
}
