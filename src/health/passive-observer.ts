import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import { type CheckCause, ON_ERROR_ACTIONS, type OnErrorAction } from '../state/check-result.js';
import type { ConnectOutcome, OutcomeSink } from '../outcome.js';

/** Per-server passive settings: HAProxy's `server … observe/error-limit/on-error`. */
export interface ServerObserveOptions {
  /** What to watch: `layer4` (connection attempts) or `none`. @defaultValue the observer's `observe` */
  readonly observe?: 'layer4' | 'none';
  /** Consecutive errors that trigger `onError`, at least 1. @defaultValue the observer's `errorLimit` */
  readonly errorLimit?: number;
  /** What to do then. @defaultValue the observer's `onError` */
  readonly onError?: OnErrorAction;
}

/** Options of {@link PassiveObserver}. */
export interface PassiveObserverOptions {
  /** What to watch (HAProxy `observe`): `layer4` counts failed connection attempts. @defaultValue 'layer4' */
  readonly observe?: 'layer4' | 'none';
  /** Consecutive errors that trigger `onError` (HAProxy `error-limit`). @defaultValue 10 */
  readonly errorLimit?: number;
  /** The action (HAProxy `on-error`): see {@link OnErrorAction}. @defaultValue 'fail-check' */
  readonly onError?: OnErrorAction;
  /** Settings of particular servers, by name; each must name a server of the pool (`ERR_LB_UNKNOWN_SERVER`). @defaultValue {} */
  readonly servers?: Readonly<Record<string, ServerObserveOptions>>;
}

/** Default values of {@link PassiveObserverOptions}. */
export const PASSIVE_OBSERVER_DEFAULTS = Object.freeze({
  observe: 'layer4' as const,
  errorLimit: 10,
  onError: 'fail-check' as OnErrorAction,
});

const OPTION_KEYS = ['observe', 'errorLimit', 'onError', 'servers'] as const;
const SERVER_KEYS = ['observe', 'errorLimit', 'onError'] as const;
const OUTCOME_KINDS = new Set<string>(['success', 'refused', 'reset', 'timeout', 'error']);

interface Settings {
  readonly observe: 'layer4' | 'none';
  readonly errorLimit: number;
  readonly onError: OnErrorAction;
}

/**
 * HAProxy's `observe layer4`: an {@link OutcomeSink} that counts consecutive failed connection attempts per
 * server, as reported by whatever dials (the proxy, `balancer.connect()`: every attempt, retries included); at `errorLimit` it resets the count and has the pool apply `onError`
 * (reason `Health analyze`, info `Detected N consecutive errors, last one was: L4 unsuccessful connection`).
 * A successful connection and a passed active check reset the count. Only servers with `check: true` are
 * observed, as in HAProxy.
 *
 * @example
 * ```ts
 * const observer = new PassiveObserver(pool, { errorLimit: 3, onError: 'mark-down' })
 * const checker = new ActiveChecker(pool, { fastinterMs: 500 }) // pulled forward after the error limit
 * // Whatever dials reports every attempt (the proxy and balancer.connect() take it as their `observer`):
 * observer.reportOutcome(server, { kind: 'refused', durationMs: 0 })
 * ```
 */
export class PassiveObserver implements OutcomeSink {
  /** The pool whose servers are observed. */
  readonly pool: Pool;
  /** The default settings, validated. */
  readonly observe: 'layer4' | 'none';
  readonly errorLimit: number;
  readonly onError: OnErrorAction;

  readonly #defaults: Settings;
  readonly #perServer: ReadonlyMap<string, Settings>;
  readonly #errors = new Map<Server, number>();
  readonly #onCheckPass = (server: Server, cause: CheckCause): void => {
    if (cause.source === 'check') this.#errors.delete(server);
  };
  readonly #onRemoved = (server: Server): void => {
    this.#errors.delete(server);
  };
  #closed = false;

  constructor(pool: Pool, options: PassiveObserverOptions = {}) {
    if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).reportErrorLimit !== 'function') {
      throw invalidArg('pool', 'must be a Pool', pool);
    }
    const o = v.plainObject('observer options', options);
    v.knownKeys('observer options', o, OPTION_KEYS);
    this.pool = pool;
    this.#defaults = settings('', o, PASSIVE_OBSERVER_DEFAULTS);
    this.observe = this.#defaults.observe;
    this.errorLimit = this.#defaults.errorLimit;
    this.onError = this.#defaults.onError;
    const servers = v.plainObject('servers', o['servers'] ?? {});
    const perServer = new Map<string, Settings>();
    for (const [name, value] of Object.entries(servers)) {
      // An override of a server the pool does not have would silently never apply.
      if (pool.find(name) === undefined) {
        throw new LbError('ERR_LB_UNKNOWN_SERVER', `servers.${name}: pool ${JSON.stringify(pool.name)} has no server named ${JSON.stringify(name)}`, {
          details: { pool: pool.name, server: name, field: `servers.${name}` },
        });
      }
      const so = v.plainObject(`servers.${name}`, value);
      v.knownKeys(`servers.${name}`, so, SERVER_KEYS);
      perServer.set(name, settings(`servers.${name}.`, so, this.#defaults));
    }
    this.#perServer = perServer;
    pool.on('check:pass', this.#onCheckPass);
    pool.on('server:removed', this.#onRemoved);
  }

  /**
   * Records one connection attempt. `success` resets the server's count; any other outcome (refused, reset,
   * timeout, error: HAProxy's `L4 unsuccessful connection`) adds one, and the `errorLimit`-th in a row triggers
   * `onError`. Ignored after close, for servers without checks, with `observe: 'none'`, or not in the pool.
   * Synchronous; throws only for an outcome that is not a {@link ConnectOutcome}.
   */
  reportOutcome(server: Server, outcome: ConnectOutcome): void {
    if (!OUTCOME_KINDS.has((outcome as Partial<ConnectOutcome> | null)?.kind as string)) {
      throw invalidArg('outcome.kind', "must be 'success', 'refused', 'reset', 'timeout' or 'error'", (outcome as { kind?: unknown } | null)?.kind);
    }
    if (this.#closed || !server.check) return;
    const s = this.#perServer.get(server.name) ?? this.#defaults;
    if (s.observe === 'none' || !this.pool.has(server)) return;
    if (outcome.kind === 'success') {
      this.#errors.delete(server);
      return;
    }
    const errors = (this.#errors.get(server) ?? 0) + 1;
    if (errors < s.errorLimit) {
      this.#errors.set(server, errors);
      return;
    }
    this.#errors.delete(server);
    this.pool.reportErrorLimit(server, s.onError, {
      status: 'HANA',
      info: `Detected ${errors} consecutive errors, last one was: L4 unsuccessful connection`,
    });
  }

  /** Consecutive errors counted for `server` since its last success, passed check or error-limit action. */
  consecutiveErrors(server: Server): number {
    return this.#errors.get(server) ?? 0;
  }

  /** Stops observing: later reports are ignored. Idempotent (nothing is ever in flight). */
  close(): Promise<void> {
    this.destroy();
    return CLOSED;
  }

  /** Same as {@link PassiveObserver.close}: nothing is in flight. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pool.off('check:pass', this.#onCheckPass);
    this.pool.off('server:removed', this.#onRemoved);
    this.#errors.clear();
  }

  /** Same as {@link PassiveObserver.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const CLOSED = Promise.resolve();

function settings(prefix: string, o: Record<string, unknown>, base: Settings): Settings {
  return {
    observe: o['observe'] === undefined ? base.observe : v.oneOf(`${prefix}observe`, o['observe'], ['layer4', 'none']),
    errorLimit: o['errorLimit'] === undefined ? base.errorLimit : v.positiveInteger(`${prefix}errorLimit`, o['errorLimit']),
    onError: o['onError'] === undefined ? base.onError : v.oneOf(`${prefix}onError`, o['onError'], ON_ERROR_ACTIONS),
  };
}
