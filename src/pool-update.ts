import { LbError } from './errors.js';
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
  // Fields are named `<field> of <server>` only when one is wrong: a discovery list updates thousands of servers.
  try {
    return {
      weight: o['weight'] === undefined ? undefined : resolveWeight('weight', o['weight'], server.initialWeight),
      maxconn: o['maxconn'] === undefined ? server.maxconn : v.nonNegativeInteger('maxconn', o['maxconn']),
      maxqueue: o['maxqueue'] === undefined ? server.maxqueue : v.nonNegativeInteger('maxqueue', o['maxqueue']),
      adminState: o['adminState'] === undefined ? undefined : v.oneOf<AdminState>('adminState', o['adminState'], ['ready', 'drain', 'maint']),
      tags: o['tags'] === undefined ? undefined : changedTags(server, resolveTags('tags', o['tags'])),
    };
  } catch (err) {
    throw ofServer(name, err);
  }
}

/** An `ERR_LB_INVALID_ARG` about `field` reworded as `<field> of <server>`, as if checked under that name. */
function ofServer(name: string, err: unknown): unknown {
  if (!LbError.is(err) || err.code !== 'ERR_LB_INVALID_ARG') return err;
  const d = err.details as { readonly field: string; readonly received: unknown };
  const field = d.field.replace(/^([a-zA-Z]+)/, `$1 of ${name}`);
  return new LbError('ERR_LB_INVALID_ARG', `${field}${err.message.slice(d.field.length)}`, { details: { field, received: d.received } });
}

function changedTags(server: Server, tags: Readonly<Record<string, string>>): Readonly<Record<string, string>> | undefined {
  return sameTags(server.tags, tags) ? undefined : tags;
}
