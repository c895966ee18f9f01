import type { StateCause } from '../state/check-result.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import type { PublishedCheck } from './fleet-record.js';
import { formatAddr } from './server-entry.js';

/**
 * Starts `server` from the fleet's verdict instead of `UP 1/fall`: DOWN (counter 0) when the prober last saw it
 * down, fully UP when it saw it fully up; otherwise (in transition) it is left as it is. The cause carries the
 * published result and the prober's identity. Returns whether the server changed.
 */
export function restoreFromRecord(pool: Pool, server: Server, record: PublishedCheck): boolean {
  if (!server.check || server.adminState === 'maint' || record.addr !== formatAddr(server.host, server.port)) return false;
  const cause: StateCause = { source: 'check', result: { ...record.result, by: record.by } };
  const fullyUp = record.up && record.health >= record.rise + record.fall - 1;
  if (!record.up && server.operationalState !== 'down') pool.setHealth(server.name, 'down', cause);
  else if (fullyUp && server.health < server.rise + server.fall - 1) pool.setHealth(server.name, 'up', cause);
  else return false;
  return true;
}
