import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { Server, type ServerOptions } from '../server.js';
import type { DiscoveredServer, DiscoveredServerDefaults } from './server-list-source.js';

/*
 * Checking one list a source sent, as a whole, before any of it touches the pool.
 */

const ENTRY_KEYS = [
  'name', 'host', 'port', 'weight', 'backup', 'maxconn', 'maxqueue', 'disabled', 'check', 'rise', 'fall', 'initState', 'slowstartMs',
] as const;

/** @internal The keys allowed in `defaults` of {@link FollowServersOptions}. */
export const DEFAULT_KEYS = ENTRY_KEYS.filter((k) => k !== 'name' && k !== 'host' && k !== 'port');

/** @internal How a list is read: the follower's validated options. */
export interface ServerListRules {
  readonly defaults: DiscoveredServerDefaults;
  readonly nameOf: (server: DiscoveredServer) => string;
  readonly allowEmpty: boolean;
}

/**
 * @internal Validates a whole list and returns the servers' options by name, defaults applied and names
 * resolved; throws an `LbError` naming the first bad entry, so an invalid list changes nothing.
 */
export function validateServerList(list: unknown, rules: ServerListRules): Map<string, ServerOptions> {
  if (!Array.isArray(list)) throw invalidArg('server list', 'must be an array of servers', list);
  if (list.length === 0 && !rules.allowEmpty) {
    throw invalidArg('server list', 'must not be empty (set allowEmpty to let a source empty the pool)', list);
  }
  const desired = new Map<string, ServerOptions>();
  list.forEach((entry: unknown, i) => {
    const at = `server list[${i}]`;
    const e = v.plainObject(at, entry);
    v.knownKeys(at, e, ENTRY_KEYS);
    const name = e['name'] ?? rules.nameOf(e as unknown as DiscoveredServer);
    v.nonEmptyString(`${at}.name`, name);
    const options = { ...rules.defaults, ...stripUndefined(e), name } as ServerOptions;
    // A throwaway Server validates every option exactly as pool.add() will.
    new Server(options, 1);
    if (desired.has(name as string)) throw invalidArg(`${at}.name`, 'must be unique in the list', name);
    desired.set(name as string, options);
  });
  return desired;
}

/** @internal `host:port`, with IPv6 addresses in brackets as in a URL: the name of an entry that has none. */
export function defaultServerName(server: DiscoveredServer): string {
  const host = String(server.host);
  return host.includes(':') ? `[${host}]:${String(server.port)}` : `${host}:${String(server.port)}`;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(o)) if (value !== undefined) out[k] = value;
  return out;
}
