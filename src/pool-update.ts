import * as v from './internal/validate.js';
import type { ServerUpdate } from './pool-events.js';
import { type AdminState, type Server, resolveWeight } from './server.js';
import { resolveTags, sameTags } from './state/server-options.js';

const UPDATE_KEYS = ['weight', 'maxconn', 'maxqueue', 'adminState', 'tags'] as const;

/** @internal A validated {@link ServerUpdate} of one server: the values it will have (`undefined`: unchanged). */
export interface ResolvedServerUpdate {
  readonly weight: number | undefined;
  readonly maxconn: number;
  readonly maxqueue: number;
  readonly adminState: AdminState | undefined;
  /** The new labels when they differ from the server's. */
  readonly tags: Readonly<Record<string, string>> | undefined;
}

/** @internal Validates every change of `pool.update()` before any is applied; messages name the server. */
export function resolveServerUpdate(server: Server, changes: ServerUpdate): ResolvedServerUpdate {
  const name = server.name;
  const o = v.plainObject('changes', changes);
  v.knownKeys('changes', o, UPDATE_KEYS);
  return {
    weight: o['weight'] === undefined ? undefined : resolveWeight(`weight of ${name}`, o['weight'], server.initialWeight),
    maxconn: v.nonNegativeInteger(`maxconn of ${name}`, o['maxconn'] ?? server.maxconn),
    maxqueue: v.nonNegativeInteger(`maxqueue of ${name}`, o['maxqueue'] ?? server.maxqueue),
    adminState: o['adminState'] === undefined ? undefined : v.oneOf<AdminState>(`adminState of ${name}`, o['adminState'], ['ready', 'drain', 'maint']),
    tags: o['tags'] === undefined ? undefined : changedTags(server, resolveTags(`tags of ${name}`, o['tags'])),
  };
}

function changedTags(server: Server, tags: Readonly<Record<string, string>>): Readonly<Record<string, string>> | undefined {
  return sameTags(server.tags, tags) ? undefined : tags;
}
