import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { HoldKind } from '../server.js';
import { type ResolvedServerOptions, resolveServerFields } from '../state/server-options.js';
import type { DiscoveredServer, DiscoveredServerDefaults } from './server-list-source.js';

/*
 * Checking one list a source sent, as a whole, before any of it touches the pool.
 */

const ENTRY_KEYS = [
  'name', 'host', 'port', 'weight', 'backup', 'priority', 'maxconn', 'maxqueue', 'disabled', 'check', 'rise', 'fall', 'initState', 'slowstartMs',
  'tags', 'hold',
] as const;

/** @internal The keys allowed in `defaults` of {@link FollowServersOptions}. */
export const DEFAULT_KEYS = ENTRY_KEYS.filter((k) => k !== 'name' && k !== 'host' && k !== 'port' && k !== 'hold');

const HOLDS: readonly HoldKind[] = ['out', 'drain'];

/** @internal How a list is read: the follower's validated options. */
export interface ServerListRules {
  readonly defaults: DiscoveredServerDefaults;
  readonly nameOf: (server: DiscoveredServer) => string;
  readonly allowEmpty: boolean;
}

/** @internal One server of an accepted list: its options, checked and completed, and the source's hold. */
export interface DesiredServer {
  readonly options: ResolvedServerOptions;
  readonly hold: HoldKind | undefined;
}

/**
 * @internal Validates a whole list and returns its servers by name, defaults applied and names resolved; throws an
 * `LbError` naming the first bad entry, so an invalid list changes nothing. Every field is checked as `pool.add()`
 * checks it (one shared function), without building a server.
 */
export function validateServerList(list: unknown, rules: ServerListRules): Map<string, DesiredServer> {
  if (!Array.isArray(list)) throw invalidArg('server list', 'must be an array of servers', list);
  if (list.length === 0 && !rules.allowEmpty) {
    throw invalidArg('server list', 'must not be empty (set allowEmpty to let a source empty the pool)', list);
  }
  const desired = new Map<string, DesiredServer>();
  for (let i = 0; i < list.length; i++) {
    // Fields are named relative to the entry ('.hold'), and `server list[i]` is prepended only when one is wrong.
    try {
      const e = v.plainObject('', list[i]);
      v.knownKeys('', e, ENTRY_KEYS);
      const name = v.nonEmptyString('.name', e['name'] ?? rules.nameOf(e as unknown as DiscoveredServer));
      const options = resolveServerFields(e, name, rules.defaults);
      const hold = e['hold'] === undefined ? undefined : v.oneOf('.hold', e['hold'], HOLDS);
      if (desired.has(name)) throw invalidArg('.name', 'must be unique in the list', name);
      desired.set(name, { options, hold });
    } catch (err) {
      throw ofEntry(i, err);
    }
  }
  return desired;
}

/** An error about a field of entry `i` (named relative to the entry), reworded to name the entry. */
function ofEntry(i: number, err: unknown): unknown {
  if (!LbError.is(err) || err.code !== 'ERR_LB_INVALID_ARG') return err;
  const field = (err.details as { readonly field?: unknown }).field;
  if (typeof field !== 'string' || (field !== '' && !field.startsWith('.'))) return err;
  // The message starts with the field: `.hold must be …`, or ` must be an object` for the entry itself.
  return new LbError('ERR_LB_INVALID_ARG', `server list[${i}]${err.message}`, { details: { ...err.details, field: `server list[${i}]${field}` } });
}

/** @internal `host:port`, with IPv6 addresses in brackets as in a URL: the name of an entry that has none. */
export function defaultServerName(server: DiscoveredServer): string {
  const host = String(server.host);
  return host.includes(':') ? `[${host}]:${String(server.port)}` : `${host}:${String(server.port)}`;
}
