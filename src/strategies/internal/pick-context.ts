import { invalidArg } from '../../errors.js';
import type { Server } from '../../server.js';
import type { PickContext, ServerGroup } from '../strategy.js';

/** @internal The servers a caller asked to avoid: one, a set, or none. */
export type Exclusion = Server | ReadonlySet<Server> | undefined;

/** @internal One context object per balancer, refilled for each pick: picking allocates nothing. */
export class MutablePickContext implements PickContext {
  group: ServerGroup = 'active';
  tier = 0;
  locality: string | undefined = undefined;
  panic = false;
  clientAddress: string | undefined = undefined;
  key: string | number | undefined = undefined;
  exclude: Exclusion = undefined;
  readonly random: () => number;

  constructor(random: () => number) {
    this.random = random;
  }

  isFull(server: Server): boolean {
    return server.full;
  }

  isExcluded(server: Server): boolean {
    return isExcluded(this.exclude, server);
  }
}

/** @internal */
export function isExcluded(exclude: Exclusion, server: Server): boolean {
  if (exclude === undefined) return false;
  if (exclude instanceof Set) return exclude.has(server);
  return exclude === server;
}

/** @internal Validates `exclude`: a Server, an iterable of Servers, or nothing. */
export function normaliseExclude(value: unknown): Exclusion {
  if (value === undefined) return undefined;
  if (value instanceof Set) return value as ReadonlySet<Server>;
  if (typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string' && 'port' in value) {
    return value as Server;
  }
  if (typeof value === 'object' && value !== null && Symbol.iterator in value) return new Set(value as Iterable<Server>);
  throw invalidArg('exclude', 'must be a Server or an iterable of Servers', value);
}
