import * as v from './internal/validate.js';
import type { ServerUpdate } from './pool-events.js';
import { type AdminState, type Server, resolveWeight } from './server.js';

const UPDATE_KEYS = ['weight', 'maxconn', 'maxqueue', 'adminState'] as const;

/** @internal A validated {@link ServerUpdate} of one server: the values it will have (`undefined`: unchanged). */
export interface ResolvedServerUpdate {
  readonly weight: number | undefined;
  readonly maxconn: number;
  readonly maxqueue: number;
  readonly adminState: AdminState | undefined;
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
  };
}
