import { invalidArg } from '../errors.js';
import type { HoldKind, ServerOptions } from '../server.js';

/**
 * One server as a discovery source describes it: {@link ServerOptions} where the name is optional
 * (derived from `host:port` when absent) and the id is left to the pool, plus what the source says about its
 * health (`hold`).
 */
export interface DiscoveredServer extends Omit<ServerOptions, 'name' | 'id'> {
  /** Stable name of the server; `host:port` (`[v6]:port`) when absent. */
  readonly name?: string;
  /**
   * The source's own verdict on the server, held in the pool under the follower's `holder` name
   * (`pool.setHold()`): `out` (never picked: a control plane's UNHEALTHY), `drain` (no new connection; live ones
   * stay: DRAINING), `undefined` (none). Apart from the operator's admin state and from local checks: the server is
   * usable only when every one of them allows it. A server that arrives held is added and held in one pool batch,
   * so strategies never see it usable; a hold changes in place. @defaultValue undefined
   */
  readonly hold?: HoldKind;
}

/** Options every discovered server gets unless its entry says otherwise: HAProxy's `default-server`. */
export type DiscoveredServerDefaults = Partial<Omit<ServerOptions, 'name' | 'host' | 'port' | 'id'>>;

/**
 * Where server lists come from. Each item is the full desired list of servers, not a delta.
 * - a function of an `AbortSignal` returning an async iterable (an `async function*`): called again to retry after
 *   it throws, and the signal fires on {@link Discovery.close};
 * - an object with `watch(signal)`, such as {@link DnsSource}: the same, as a method;
 * - any async iterable: retried by iterating it again (a generator object cannot be restarted, so it ends
 *   the discovery when it throws).
 */
export type ServerListSource =
  | ((signal: AbortSignal) => AsyncIterable<readonly DiscoveredServer[]>)
  | { watch(signal: AbortSignal): AsyncIterable<readonly DiscoveredServer[]> }
  | AsyncIterable<readonly DiscoveredServer[]>;

/** @internal True when `value` has one of the shapes of a {@link ServerListSource}. */
export function isServerListSource(value: unknown): value is ServerListSource {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  return typeof (value as { watch?: unknown }).watch === 'function' || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** @internal The lists of `source` for one run of it; throws when what it produced is not an async iterable. */
export function openServerListSource(source: ServerListSource, signal: AbortSignal): AsyncIterable<readonly DiscoveredServer[]> {
  let iterable: unknown;
  if (typeof source === 'function') iterable = source(signal);
  else if (typeof (source as { watch?: unknown }).watch === 'function') {
    iterable = (source as { watch(signal: AbortSignal): AsyncIterable<readonly DiscoveredServer[]> }).watch(signal);
  } else iterable = source;
  if (typeof iterable !== 'object' || iterable === null || typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    throw invalidArg('source', 'must produce an async iterable of server lists', iterable);
  }
  return iterable as AsyncIterable<readonly DiscoveredServer[]>;
}
