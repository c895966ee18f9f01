import { EventEmitter } from 'eventemitter3';
import type { Clock, TimerHandle } from '../clock.js';
import { publishDiscoveryError, publishDiscoveryUpdate } from '../diagnostics.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { Pool } from '../pool.js';
import type { ServerOptions } from '../server.js';
import { type DiscoveryChange, PoolReconciler } from './pool-reconciler.js';
import { DEFAULT_KEYS, type DesiredServer, type ServerListRules, defaultServerName, validateServerList } from './server-list.js';
import {
  type DiscoveredServer,
  type DiscoveredServerDefaults,
  type ServerListSource,
  isServerListSource,
  openServerListSource,
} from './server-list-source.js';

export type { DiscoveryChange } from './pool-reconciler.js';
export type { DiscoveredServer, DiscoveredServerDefaults, ServerListSource } from './server-list-source.js';

/** Options of {@link followServers}. */
export interface FollowServersOptions {
  /** Options applied to every discovered server unless its entry sets them (`check`, `rise`, `maxconn`…). @defaultValue {} */
  readonly defaults?: DiscoveredServerDefaults;
  /** Name of a server whose entry has none. @defaultValue `host:port`, or `[host]:port` for IPv6 */
  readonly nameOf?: (server: DiscoveredServer) => string;
  /** First delay before asking the source again after it failed, ms; doubles on each failure in a row. @defaultValue 1000 */
  readonly retryMs?: number;
  /** Longest delay between retries, ms. @defaultValue 30000 */
  readonly maxRetryMs?: number;
  /**
   * Whether an empty list empties the pool. By default it is reported as an error and the pool keeps its servers,
   * so a source that briefly answers nothing cannot take a service down. @defaultValue false
   */
  readonly allowEmpty?: boolean;
  /**
   * Whether servers already in the pool when following starts are managed too (removed when a list leaves
   * them out). Servers added later by other code are only managed once a list names them. @defaultValue true
   */
  readonly adoptExisting?: boolean;
  /**
   * The holder name under which the source's holds (`hold` of an entry) are kept on the servers
   * (`pool.setHold()`); give each follower of one pool its own. @defaultValue 'discovery'
   */
  readonly holder?: string;
  /** Source of time for retry delays. @defaultValue the pool's clock */
  readonly clock?: Clock;
  /** Stops following, like {@link Discovery.close}. */
  readonly signal?: AbortSignal;
}

/** Default values of {@link FollowServersOptions}. */
export const FOLLOW_SERVERS_DEFAULTS = Object.freeze({
  retryMs: 1000,
  maxRetryMs: 30_000,
  allowEmpty: false,
  adoptExisting: true,
  holder: 'discovery',
});

/** Events of a {@link Discovery}. */
export interface DiscoveryEvents {
  /** A list was accepted and applied; fires for every accepted list, even one that changes nothing. */
  'discovery:update': [change: DiscoveryChange];
  /**
   * The source failed (`retryInMs` says when it is asked again) or sent an invalid list (`retryInMs` is
   * `undefined`: the next list is awaited). The pool keeps the last good list either way.
   */
  'discovery:error': [error: unknown, retryInMs: number | undefined];
  /** The source finished; the pool keeps its servers and nothing more is followed. */
  'discovery:end': [];
}

const OPTION_KEYS = ['defaults', 'nameOf', 'retryMs', 'maxRetryMs', 'allowEmpty', 'adoptExisting', 'holder', 'clock', 'signal'] as const;

const ABORTED = Symbol('aborted');

/**
 * Keeps a {@link Pool} in step with a source of server lists (DNS, Consul, Kubernetes endpoints, an xDS control
 * plane, a file watch…): HAProxy's `server-template` + `resolvers`, for any async source.
 *
 * Servers are matched by name. New ones are added; vanished ones are removed (their leases stay valid
 * until released); kept ones keep their `Server` object, counters, leases and health, and get the
 * new weight, `maxconn`, `maxqueue`, tags and hold in place. A kept server whose address or check settings
 * changed is replaced. Each list is applied in one `pool.batch()`.
 * A failing source never empties the pool: the last good list stays, `discovery:error` fires, and the
 * source is asked again after `retryMs` (doubling up to `maxRetryMs`).
 *
 * @example
 * ```ts
 * const pool = new Pool('db')
 * const discovery = followServers(pool, new DnsSource({ name: 'db.internal', port: 5432 }), { defaults: { check: true } })
 * discovery.on('discovery:error', (err) => log.warn(err))
 * // later
 * await discovery.close()
 * ```
 */
export function followServers(pool: Pool, source: ServerListSource, options: FollowServersOptions = {}): Discovery {
  return new Discovery(pool, source, options);
}

/**
 * A running {@link followServers}: the handle that reports changes and errors and stops following.
 * Created by {@link followServers}.
 */
export class Discovery extends EventEmitter<DiscoveryEvents> {
  /** The pool being kept in step. */
  readonly pool: Pool;
  /** The retry delay after a first failure, ms. */
  readonly retryMs: number;
  /** The longest retry delay, ms. */
  readonly maxRetryMs: number;

  readonly #source: ServerListSource;
  readonly #rules: ServerListRules;
  readonly #reconciler: PoolReconciler;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;
  readonly #unlisten: (() => void) | undefined;
  #failures = 0;
  #lastDesired: ReadonlyMap<string, DesiredServer> | undefined;
  #lastList: readonly ServerOptions[] | undefined;

  /** @internal Use {@link followServers}. */
  constructor(pool: Pool, source: ServerListSource, options: FollowServersOptions = {}) {
    super();
    if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).find !== 'function') {
      throw invalidArg('pool', 'must be a Pool', pool);
    }
    if (!isServerListSource(source)) {
      throw invalidArg('source', 'must be an async iterable of server lists, a function of an AbortSignal returning one, or an object with watch(signal)', source);
    }
    const o = v.plainObject('discovery options', options);
    v.knownKeys('discovery options', o, OPTION_KEYS);
    const defaults = v.plainObject('defaults', o['defaults'] ?? {});
    v.knownKeys('defaults', defaults, DEFAULT_KEYS);
    const nameOf = o['nameOf'] ?? defaultServerName;
    if (typeof nameOf !== 'function') throw invalidArg('nameOf', 'must be a function returning a server name', nameOf);
    const signal = o['signal'];
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArg('signal', 'must be an AbortSignal', signal);
    this.pool = pool;
    this.#source = source;
    this.retryMs = v.durationMs('retryMs', o['retryMs'] ?? FOLLOW_SERVERS_DEFAULTS.retryMs, { allowZero: false });
    this.maxRetryMs = v.durationMs('maxRetryMs', o['maxRetryMs'] ?? FOLLOW_SERVERS_DEFAULTS.maxRetryMs, { allowZero: false });
    if (this.maxRetryMs < this.retryMs) throw invalidArg('maxRetryMs', `must be at least retryMs (${this.retryMs})`, this.maxRetryMs);
    this.#rules = {
      defaults: { ...defaults },
      nameOf: nameOf as (server: DiscoveredServer) => string,
      allowEmpty: v.boolean('allowEmpty', o['allowEmpty'] ?? FOLLOW_SERVERS_DEFAULTS.allowEmpty),
    };
    const adopt = v.boolean('adoptExisting', o['adoptExisting'] ?? FOLLOW_SERVERS_DEFAULTS.adoptExisting);
    this.#clock = (o['clock'] as Clock | undefined) ?? pool.clock;
    this.#reconciler = new PoolReconciler(pool, v.nonEmptyString('holder', o['holder'] ?? FOLLOW_SERVERS_DEFAULTS.holder));
    if (adopt) for (const server of pool.servers) this.#reconciler.adopt(server);
    if (signal) {
      const stop = (): void => this.#abort.abort((signal as AbortSignal).reason);
      if ((signal as AbortSignal).aborted) stop();
      else {
        (signal as AbortSignal).addEventListener('abort', stop, { once: true });
        this.#unlisten = () => (signal as AbortSignal).removeEventListener('abort', stop);
      }
    }
    this.#done = this.#run().finally(() => this.#unlisten?.());
  }

  /** Failures of the source in a row (0 once a list is accepted again). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * The last list accepted, with names resolved and defaults applied (each entry's `hold` aside); `undefined` before
   * the first one.
   */
  get lastList(): readonly ServerOptions[] | undefined {
    if (this.#lastList === undefined && this.#lastDesired !== undefined) this.#lastList = [...this.#lastDesired.values()].map((d) => d.options);
    return this.#lastList;
  }

  /** True once closed, destroyed, aborted, or the source ended. */
  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * Stops following: the source's signal fires and no further list is applied. The pool keeps its servers.
   * Resolves when the follower has stopped. Idempotent: returns the same promise.
   */
  close(): Promise<void> {
    if (!this.#abort.signal.aborted) this.#abort.abort(new LbError('ERR_LB_CLOSED', 'discovery was closed'));
    return this.#done;
  }

  /** Same as {@link Discovery.close}: there is nothing to drain. */
  destroy(): void {
    void this.close();
  }

  /** Same as {@link Discovery.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let iterator: AsyncIterator<readonly DiscoveredServer[]> | undefined;
      try {
        iterator = openServerListSource(this.#source, signal)[Symbol.asyncIterator]();
        for (;;) {
          const next = await this.#nextOrAbort(iterator);
          if (next === ABORTED) return;
          if (next.done) {
            this.#abort.abort(new LbError('ERR_LB_CLOSED', 'the discovery source ended'));
            this.emit('discovery:end');
            return;
          }
          this.#accept(next.value);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.#failures++;
        const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.min(this.#failures - 1, 30));
        this.#report(err, delay);
        if ((await this.#sleep(delay)) === ABORTED) return;
      } finally {
        // Never awaited: a source stuck in an await must not hold up close().
        if (iterator?.return && signal.aborted) iterator.return().catch(() => undefined);
      }
    }
  }

  #nextOrAbort(iterator: AsyncIterator<readonly DiscoveredServer[]>): Promise<IteratorResult<readonly DiscoveredServer[]> | typeof ABORTED> {
    const signal = this.#abort.signal;
    const next = iterator.next();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        // The pending next() may still reject later; nobody waits for it any more.
        next.catch(() => undefined);
        resolve(ABORTED);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      next.then(
        (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  #sleep(ms: number): Promise<void | typeof ABORTED> {
    const signal = this.#abort.signal;
    if (signal.aborted) return Promise.resolve(ABORTED);
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined = undefined;
      const onAbort = (): void => {
        timer?.cancel();
        resolve(ABORTED);
      };
      timer = this.#clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #report(error: unknown, retryInMs: number | undefined): void {
    publishDiscoveryError(this.pool, error);
    this.emit('discovery:error', error, retryInMs);
  }

  /** Validates a whole list, then applies it; an invalid list changes nothing. */
  #accept(list: unknown): void {
    let desired: Map<string, DesiredServer>;
    try {
      desired = validateServerList(list, this.#rules);
    } catch (err) {
      this.#report(err, undefined);
      return;
    }
    this.#failures = 0;
    this.#lastDesired = desired;
    this.#lastList = undefined;
    const change = this.#reconciler.reconcile(desired);
    if (change.added.length > 0 || change.removed.length > 0 || change.updated.length > 0) {
      publishDiscoveryUpdate(this.pool, change.added, change.removed, change.updated);
    }
    this.emit('discovery:update', change);
  }
}
