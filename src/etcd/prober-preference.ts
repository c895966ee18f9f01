import { fullHash, sdbmHash } from '../strategies/internal/hash.js';

/**
 * The instance that should probe `server` among the fleet's live `members` (their identities), by rendezvous
 * (highest random weight) hashing: every (server, member) pair gets a score and the highest score wins, ties to
 * the smaller identity. Every instance computes the same answer from the same members, with no coordination;
 * when a member leaves, only the servers it was preferred for move; a member joining takes about 1/N of them.
 * `undefined` when there is no member.
 */
export function preferredProber(server: string, members: Iterable<string>): string | undefined {
  const key = sdbmHash(server);
  let best: string | undefined;
  let bestScore = -1;
  for (const member of members) {
    const score = fullHash((key ^ fullHash(sdbmHash(member))) >>> 0);
    if (score > bestScore || (score === bestScore && best !== undefined && member < best)) {
      best = member;
      bestScore = score;
    }
  }
  return best;
}
