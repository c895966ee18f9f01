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
  /** The address new connections go to changed (`pool.setAddress()`, HAProxy `set server … addr`). */
  'server:address': [server: Server, previous: { readonly host: string; readonly port: number }];
  /** The user weight changed (`set weight`). */
  'server:weight': [server: Server, previousWeight: number];
  /** The administrative state changed (`ready` / `drain` / `maint`). */
  'server:admin': [server: Server, previous: AdminState, cause: StateCause];
  /** The server went from down to up (it can take traffic again). */
  'server:up': [server: Server, cause: StateCause];
  /** The server went down. */
  'server:down': [server: Server, cause: StateCause];
  /**
   * A slow-start ramp reached full weight: the server is `up` again, no longer `starting` (HAProxy logs
   * `Server be/s is UP.` without a reason then). Not emitted when a ramp is cut short (down, maintenance, removal).
   */
  'server:warmed': [server: Server];
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
  /** A priority tier's share of new connections changed (spill to or from the next tier, Envoy's priority load). */
  'tier:load': [priority: number, loadPercent: number, previousLoadPercent: number];
  /**
   * A tier entered or left panic: below `panicThresholdPercent` usable (and the tiers together short of capacity), it
   * balances over all its eligible servers, usable or not. `usablePercent` is its usable share.
   */
  'tier:panic': [priority: number, panic: boolean, usablePercent: number];
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
   * An agent check was applied (`pool.reportAgent()`): its result, the agent's health before it (1 up, 0 down) and
   * its previous status. Fired before any `server:down` / `server:up` it causes; `server.agentCheck` is updated.
   */
  'agent:check': [server: Server, result: CheckResult, previousHealth: number, previousStatus: CheckStatus | undefined];
  /**
   * Passive observation saw `errorLimit` consecutive connection errors and ran its `on-error` action
   * (`result` is the `HANA` verdict). Active checkers pull the server's next check forward on this.
   */
  'observe:limit': [server: Server, onError: OnErrorAction, result: CheckResult];
}

/** Options of {@link Pool}: its servers, HAProxy's backup rule, and the tier options of {@link TierOptions}. */
export interface PoolOptions extends TierOptions {
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
  /** The priority tiers, when the tier rule applies (see `pool.tiered`). */
  readonly tiers?: readonly TierSnapshot[];
  readonly servers: readonly ServerSnapshot[];
}

/** The tier options of a pool (Envoy's priority levels, panic threshold and locality weights). */
export interface TierOptions {
  /**
   * Below this share of usable servers (in %), a tier balances over all its servers, usable or not: down by
   * checks or held `out` (an outlier ejection), never in maintenance, drain or NOLB (Envoy's
   * `healthy_panic_threshold`). Only when the tiers together are short of capacity (Envoy's normalized total
   * health under 100). 0 turns panic off. @defaultValue 0 (Envoy's default is 50: see docs/resilience.md)
   */
  readonly panicThresholdPercent?: number;
  /**
   * How much spare capacity a tier is assumed to have (Envoy's `overprovisioning_factor`, 140 = 1.4): a tier
   * with at least 1/factor of its servers usable (71.4 %) takes all the traffic, below that the rest spills to
   * the next tier. Also scales locality weights. @defaultValue 1.4
   */
  readonly overprovisioningFactor?: number;
  /**
   * Locality weights, by a server's `tags.locality`: within a tier, a locality is chosen in proportion to
   * `weight × min(1, factor × usable share)`, then a server within it (Envoy's locality-weighted load balancing). A locality not listed has weight 0 and
   * takes no traffic while another has some. `undefined` turns locality weighting off. @defaultValue undefined
   */
  readonly localityWeights?: Readonly<Record<string, number>> | undefined;
}

/** A locality of a {@link Tier}. */
export interface TierLocality {
  /** The locality's name (the servers' `tags.locality`, `''` without it). */
  readonly name: string;
  /** Its configured weight (0 when not listed). */
  readonly weight: number;
  /** `weight × min(1, factor × usable / eligible)`: what the locality is chosen by. */
  readonly effectiveWeight: number;
  /** Its usable servers, in declaration order (a live view). */
  readonly usable: readonly Server[];
  /** Its servers that count in its share (see {@link Tier.eligible}), in declaration order (a live view). */
  readonly eligible: readonly Server[];
}

/** One priority tier of a pool: its servers that are not backups and have this priority. */
export interface Tier {
  readonly priority: number;
  /** Usable servers, in declaration order (a live view). */
  readonly usable: readonly Server[];
  /**
   * Servers that count in the tier's share, in declaration order (a live view): admin state `ready`, weight above
   * 0, not NOLB, no `drain` hold. The usable ones plus those down by checks or held `out`: what panic uses.
   */
  readonly eligible: readonly Server[];
  /** Envoy's health score: `min(100, ⌊factor × 100 × usable / eligible⌋)`. */
  readonly healthPercent: number;
  /** The share of new connections the tier takes, in % (all tiers sum to 100, or to 0 when nothing can take one). */
  readonly loadPercent: number;
  /** True while the tier balances over its eligible servers, usable or not. */
  readonly panic: boolean;
  /** The localities of the tier, in order of first appearance. */
  readonly localities: readonly TierLocality[];
  /** Bumped whenever the eligible list or the weight of an eligible server changes. */
  readonly version: number;
}

/** Plain-JSON view of a tier, in a pool snapshot. */
export interface TierSnapshot {
  readonly priority: number;
  readonly servers: number;
  readonly usable: number;
  readonly healthPercent: number;
  readonly loadPercent: number;
  readonly panic: boolean;
  readonly localities?: readonly { readonly name: string; readonly weight: number; readonly effectiveWeight: number; readonly usable: number; readonly servers: number }[];
}
