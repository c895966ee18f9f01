import type { EventEmitter } from 'eventemitter3';
import type { LbState, PoolEvents } from './pool-events.js';
import type { PoolMembers } from './pool-members.js';
import type { PoolTiers } from './pool-tiers.js';
import type { Server } from './server.js';

/** @internal What a server that did not exist before a batch looked like to the strategies. */
export const NOT_USABLE: LbState = Object.freeze({ usable: false, effectiveWeight: 0 });

/**
 * @internal
 * One open {@link Pool.batch}: whether the pool was available when it began, and the lb state of every server it
 * changed as it was before the batch's first change to it (in the order of those first changes).
 */
export class PoolBatch {
  readonly wasAvailable: boolean;
  readonly #before = new Map<Server, LbState>();

  constructor(wasAvailable: boolean) {
    this.wasAvailable = wasAvailable;
  }

  /** Records `server`'s lb state before a change, unless an earlier change of the batch already did. */
  record(server: Server, before: LbState): void {
    if (!this.#before.has(server)) this.#before.set(server, before);
  }

  /** Records a server the batch added: it counts as changed only if it ends the batch a usable member. */
  added(server: Server): void {
    this.#before.set(server, NOT_USABLE);
  }

  /**
   * The servers whose lb state differs after the batch from before it, with that earlier state: a member whose
   * usability or effective weight changed (the test of `server:lb`), a removed server that was usable, a server
   * added by the batch that is usable (as `pool.add()` announces one). A server changed back to where it started,
   * added and removed within the batch, or added and left unusable, is left out.
   */
  changes(members: PoolMembers): ReadonlyMap<Server, LbState> {
    const before = this.#before;
    // forEach, not for…of: no [server, state] pair per server of a 10 000-server batch.
    before.forEach((was, server) => {
      const changed = !members.has(server)
        ? was.usable
        : was === NOT_USABLE
          ? server.usable
          : was.usable !== server.usable || was.effectiveWeight !== server.effectiveWeight;
      if (!changed) before.delete(server);
    });
    return before;
  }

  /**
   * Ends the batch: the usable lists are kept in step again, then one `pool:lb`, the tier plan's events
   * (`tier:load`, `tier:panic`) and the availability events.
   */
  finish(pool: EventEmitter<PoolEvents> & { readonly name: string }, members: PoolMembers, tiers: PoolTiers): void {
    members.deferUsable(false);
    tiers.defer(false, members.servers);
    const changes = this.changes(members);
    if (changes.size > 0) pool.emit('pool:lb', changes);
    tiers.announce(pool);
    members.announceAvailability(pool, this.wasAvailable);
  }
}
