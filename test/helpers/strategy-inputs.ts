import type { Pool } from '../../src/pool.js';
import type { Server } from '../../src/server.js';
import type { PickContext } from '../../src/strategies/strategy.js';

/** The candidates the balancer hands its strategy (reference §2.2): the usable actives, else the backups it may use. */
export function candidatesOf(pool: Pool): readonly Server[] {
  if (pool.activeUsable.length > 0) return pool.activeUsable;
  if (pool.allBackups) return pool.backupUsable;
  return pool.backupUsable.slice(0, 1);
}

/**
 * A context for calling a strategy's `pick` directly: the active group, no client address or key; a server is
 * full when `server.full` says so, excluded when in `exclude`.
 */
export function pickContext(random: () => number = Math.random, options: { readonly exclude?: ReadonlySet<Server> } = {}): PickContext {
  const { exclude } = options;
  return {
    group: 'active',
    clientAddress: undefined,
    key: undefined,
    random,
    isFull: (s) => s.full,
    isExcluded: (s) => exclude?.has(s) ?? false,
  };
}
