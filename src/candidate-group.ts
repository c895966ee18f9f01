import type { Pool } from './pool.js';
import type { Server } from './server.js';
import type { ServerGroup } from './strategies/strategy.js';

const EMPTY: readonly Server[] = Object.freeze([]);

/**
 * @internal
 * Which servers the next pick is made among (HAProxy's active/backup rule, reference §2.2): the usable active
 * servers; when there is none, the first usable backup, or every usable backup with `allBackups`. One per
 * balancer: the one-backup list is reused, so choosing allocates nothing.
 */
export class CandidateGroup {
  /** The group of the last {@link CandidateGroup.candidates} call, for the strategy's pick context. */
  group: ServerGroup = 'active';
  /** True when the last call chose the first backup alone: nothing is left for the strategy to decide. */
  firstBackupOnly = false;
  readonly #first: Server[] = [];

  candidates(pool: Pool): readonly Server[] {
    this.firstBackupOnly = false;
    if (pool.activeUsable.length > 0) {
      this.group = 'active';
      return pool.activeUsable;
    }
    this.group = 'backup';
    if (pool.allBackups) return pool.backupUsable;
    const first = pool.backupUsable[0];
    if (first === undefined) return EMPTY;
    this.#first[0] = first;
    this.firstBackupOnly = true;
    return this.#first;
  }

  /** True when a usable member `server` is in the group picks are made among now. */
  static includes(pool: Pool, server: Server): boolean {
    if (!server.backup) return true;
    if (pool.activeUsable.length > 0) return false;
    return pool.allBackups || pool.backupUsable[0] === server;
  }
}
