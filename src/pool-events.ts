import type { Clock } from './clock.js';
import type { CheckCause, CheckResult, CheckStatus, OnErrorAction, StateCause } from './state/check-result.js';
import type { AdminState, HoldKind, Server, ServerOptions, ServerSnapshot } from './server.js';

/** What a strategy saw of a server before a change: used by the `server:lb` event. */
export interface LbState {
  readonly usable: boolean;
  readonly effectiveWeight: number;
}

/**
 * Events of a {@link Pool}. Payloads are labelled tuples; the state is already updated when a listener runs.
 */
export interface PoolEvents {
  /** A server joined the pool. */
  'server:added': [server: Server];
  /** A server left the pool. Leases on it stay valid until released. */
  'server:removed': [server: Server];
  /** A holder put a hold on a server (`out`, `drain`) or lifted it (`undefined`): `pool.setHold()`. */
  'server:hold': [server: Server, holder: string, hold: HoldKind | undefined, previous: HoldKind | undefined];
  /** Checks of a server were turned on or off (`pool.setChecksEnabled()`, HAProxy `enable|disable health`). */
  'server:checks': [server: Server, enabled: boolean];
  /** The user weight changed (`set weight`). */
  'server:weight': [server: Server, previousWeight: number];
  /** The administrative state changed (`ready` / `drain` / `maint`). */
  'server:admin': [server: Server, previous: AdminState, cause: StateCause];
  /** The server went from down to up (it can take traffic again). */
  'server:up': [server: Server, cause: StateCause];
  /** The server went down. */
  'server:down': [server: Server, cause: StateCause];
  /** The displayed status (`UP 2/3`, `DOWN`, `MAINT`, …) changed, for any reason. */
  'server:state': [server: Server, previousStatus: string, cause: StateCause];
  /** Whether strategies may pick the server, or its effective weight, changed. Balancers follow this. Not fired inside `pool.batch()`. */
  'server:lb': [server: Server, previous: LbState];
  /**
   * The end of a `pool.batch()` that changed whether strategies may pick some servers, or their effective weights:
   * every such server (removed ones that were usable included) with its state before the batch, in the order the
   * batch first changed them. Balancers follow this instead of `server:lb` for those changes.
   */
  'pool:lb': [changes: ReadonlyMap<Server, LbState>];
  /** The server's labels were replaced (`pool.update(name, { tags })`). */
  'server:tags': [server: Server, previousTags: Readonly<Record<string, string>>];
  /** `maxconn` or `maxqueue` changed. */
  'server:limits': [server: Server, previous: { readonly maxconn: number; readonly maxqueue: number }];
  /** The last usable server went away: HAProxy's "backend X has no server available!". */
  'pool:empty': [];
  /** A server became usable again after `pool:empty`. */
  'pool:recovered': [];
  /**
   * A check passed (or conditionally passed) and was applied to the health counter. Fired for every result,
   * before any `server:up` it causes; `server.health` and `server.lastCheck` are already updated.
   */
  'check:pass': [server: Server, cause: CheckCause, previousHealth: number, previousCheckStatus: CheckStatus | undefined];
  /**
   * A check failed — an active one, or one simulated by passive observation (`cause.source === 'observe'`,
   * status `HANA`). Fired for every result, before any `server:down` it causes.
   */
  'check:fail': [server: Server, cause: CheckCause, previousHealth: number, previousCheckStatus: CheckStatus | undefined];
  /**
   * Passive observation saw `errorLimit` consecutive connection errors and ran its `on-error` action
   * (`result` is the `HANA` verdict). Active checkers pull the server's next check forward on this.
   */
  'observe:limit': [server: Server, onError: OnErrorAction, result: CheckResult];
}

/** Options of {@link Pool}. */
export interface PoolOptions {
  /** Servers to add, in declaration order. @defaultValue [] */
  readonly servers?: readonly ServerOptions[];
  /** When no active server is usable, balance over all usable backups instead of only the first (HAProxy `option allbackups`). @defaultValue false */
  readonly allBackups?: boolean;
  /** Source of time for `lastChangeMs`. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Changes accepted by {@link Pool.update}. */
export interface ServerUpdate {
  /** New user weight, absolute or `'N%'` of the initial weight. */
  readonly weight?: number | `${number}%`;
  /** New `maxconn` (0 = unlimited). */
  readonly maxconn?: number;
  /** New `maxqueue` (0 = unlimited). */
  readonly maxqueue?: number;
  /** New administrative state. */
  readonly adminState?: AdminState;
  /** New labels, replacing the old ones whole (`{}` clears them); the server keeps its object, state and leases. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Plain-JSON view of a pool. */
export interface PoolSnapshot {
  readonly name: string;
  readonly allBackups: boolean;
  readonly activeUsable: number;
  readonly backupUsable: number;
  readonly servers: readonly ServerSnapshot[];
}
