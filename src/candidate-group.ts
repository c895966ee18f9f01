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

  /**
   * Why `server` (what a strategy returned from a pick among this group) is not one of the candidates, or
   * `undefined` when it is: a member of the pool, usable, and in the group picks are made among.
   */
  rejects(pool: Pool, server: Server): string | undefined {
    if (!pool.has(server)) return `not a server of pool ${JSON.stringify(pool.name)} (removed, of another pool, or not a Server)`;
    if (!server.usable) return `server ${JSON.stringify(server.name)} is not usable (${server.status}${server.hold === undefined ? '' : `, held ${server.hold}`})`;
    if (!CandidateGroup.includes(pool, server)) return `server ${JSON.stringify(server.name)} is a backup and is not in the group picked from`;
    return undefined;
  }

  /** True when a usable member `server` is in the group picks are made among now. */
  static includes(pool: Pool, server: Server): boolean {
    if (!server.backup) return true;
    if (pool.activeUsable.length > 0) return false;
    return pool.allBackups || pool.backupUsable[0] === server;
  }
}
