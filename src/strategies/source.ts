import type { Server } from '../server.js';
import type { PickContext, Strategy } from './strategy.js';

// PLACEHOLDER: replaced by the real algorithm before anything is committed as done.
export class SourceHash implements Strategy {
  readonly name = 'source';
  constructor(readonly options: { readonly hashType: 'map-based' | 'consistent' }) {}
  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    for (const s of candidates) if (!ctx.isFull(s) && !ctx.isExcluded(s)) return s;
    return undefined;
  }
}
