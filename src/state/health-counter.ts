import { type CheckResult, type CheckVerdict, type OnErrorAction, checkVerdict } from './check-result.js';
import type { AdminState, OperationalState } from './server-options.js';
import type { ServerState } from './server-state.js';

/**
 * HAProxy's health-counter arithmetic as pure functions ([src/check.c set_server_check_status()],
 * [__health_adjust()], [src/server.c server_recalc_eweight()]). The {@link Pool} applies them; they are
 * exported so the rules can be read and tested on their own.
 *
 * The counter lives in `[0, rise + fall − 1]`; the server is UP-ish when `health >= rise`.
 */

/** A failed check: one step down, and anything below `rise` falls to 0. A counter at 0 stays at 0. */
export function healthAfterFailure(health: number, rise: number): number {
  if (health <= 0) return 0;
  const next = health - 1;
  return next < rise ? 0 : next;
}

/** A passed check: one step up, and reaching `rise` jumps to full (`rise + fall − 1`). */
export function healthAfterSuccess(health: number, rise: number, fall: number): number {
  const full = rise + fall - 1;
  if (health >= full) return full;
  const next = health + 1;
  return next >= rise ? full : next;
}

/**
 * The counter an `on-error` action sets before its simulated failed check (`fastinter` and `fail-check`
 * leave it alone; `sudden-death` caps it at `rise + 1` so the failure leaves `UP 1/fall`; `mark-down` sets it
 * to `rise` so the failure takes the server down).
 */
export function healthBeforeOnError(health: number, rise: number, action: OnErrorAction): number {
  if (action === 'sudden-death') return health > rise ? rise + 1 : health;
  if (action === 'mark-down') return rise;
  return health;
}

/** True when the `on-error` action simulates a failed check (every action but `fastinter`). */
export function onErrorFailsCheck(action: OnErrorAction): boolean {
  return action !== 'fastinter';
}

/** The `x/y UP|DOWN` of HAProxy's displays: `UP 2/3`, `DOWN 1/2`, and `3/3 UP` in log-health-checks lines. */
export interface HealthDisplay {
  readonly value: number;
  readonly of: number;
  readonly up: boolean;
}

/** `n = health − rise + 1` of `fall` while UP-ish, `health` of `rise` while DOWN-ish. */
export function healthDisplay(health: number, rise: number, fall: number): HealthDisplay {
  return health >= rise ? { value: health - rise + 1, of: fall, up: true } : { value: health, of: rise, up: false };
}

/**
 * Which interval schedules the next check (HAProxy `srv_getinter()`): `down` while fully down
 * (operationally down with health 0), `fast` while in transition (health below full), `inter` when fully up.
 */
export function intervalKind(health: number, rise: number, fall: number, operationallyDown: boolean): 'inter' | 'fast' | 'down' {
  if (operationallyDown && health === 0) return 'down';
  if (health < rise + fall - 1) return 'fast';
  return 'inter';
}

/** The effective-weight factor at full speed (HAProxy `BE_WEIGHT_SCALE`). */
export const FULL_WEIGHT_FACTOR = 16;

/**
 * Slow-start weight factor, 1..16, after `elapsedMs` of a `slowstartMs` ramp:
 * `floor((16 × elapsed_s + ss_s) / ss_s)` with both in whole seconds, 16 once the ramp is over
 * (HAProxy `server_recalc_eweight()`). The effective weight is `weight × factor`.
 */
export function slowstartFactor(elapsedMs: number, slowstartMs: number): number {
  const ss = Math.ceil(slowstartMs / 1000);
  if (ss <= 0) return FULL_WEIGHT_FACTOR;
  // Half a millisecond of tolerance: a timer due at exactly +1000 ms must count as one whole second even if
  // the clock reads 999.9 when it fires.
  const elapsed = Math.floor((elapsedMs + 0.5) / 1000);
  if (elapsed >= ss) return FULL_WEIGHT_FACTOR;
  return Math.min(FULL_WEIGHT_FACTOR, Math.max(1, Math.floor((FULL_WEIGHT_FACTOR * elapsed + ss) / ss)));
}

/** How often the slow-start ramp is recomputed: every `max(1 s, slowstart / 20)` (HAProxy `server_warmup()`). */
export function slowstartStepMs(slowstartMs: number): number {
  return Math.max(1000, Math.floor(slowstartMs / 20));
}

/**
 * Applies one check result (or passive observation's simulated one, with its `onError` action) to a server's
 * state: the last check, `hanafail`, `chkfail` and the health counter. Returns the operational state the server
 * must move to (`down` when the counter reaches 0, `up` when it reaches `rise`, `stopping` for a conditional pass),
 * or `undefined` when it stays; the caller sets it, with the time of the change.
 */
export function applyCheckResult(
  st: ServerState,
  rise: number,
  fall: number,
  result: CheckResult,
  verdict: CheckVerdict,
  onError: OnErrorAction | undefined,
): OperationalState | undefined {
  st.lastCheck = result;
  if (onError !== undefined) {
    st.observeFailures++;
    st.health = healthBeforeOnError(st.health, rise, onError);
  }
  if (verdict === 'fail') {
    if (st.health > 0) {
      st.checkFailures++;
      st.health = healthAfterFailure(st.health, rise);
    }
    return st.health === 0 && st.op !== 'down' ? 'down' : undefined;
  }
  if (verdict !== 'pass' && verdict !== 'conditional') return undefined;
  st.health = healthAfterSuccess(st.health, rise, fall);
  if (st.health < rise) return undefined;
  // An agent that says down keeps the server down whatever its health check says (HAProxy check_notify_success()).
  if (agentDown(st)) return undefined;
  if (verdict === 'conditional') return st.op === 'stopping' ? undefined : 'stopping';
  return st.op === 'down' || st.op === 'stopping' ? 'up' : undefined;
}

/** True when the server's agent runs and says down (its health is 0). */
export function agentDown(st: ServerState): boolean {
  return st.agent !== undefined && st.agent.enabled && st.agent.health === 0;
}

/**
 * Applies an agent check's health to a server's state (HAProxy `tcpcheck_agent_expect_reply()` +
 * `set_server_check_status()` + `check_notify_*()`): the last agent result; `up` fills the health check's counter and
 * `down` empties it (a server with `check`); a pass raises the agent's health to 1, an `L7STS` (the agent said down,
 * stopped or fail) drops it to 0 — connection failures and timeouts leave it alone. Returns the operational state
 * to move to: down when the agent said so, up when it passes and the health check agrees; never in maintenance.
 */
export function applyAgentResult(
  st: ServerState,
  result: CheckResult,
  health: 'up' | 'down' | undefined,
  check: boolean,
  rise: number,
  fall: number,
): OperationalState | undefined {
  const agent = st.agent;
  if (agent === undefined) return undefined;
  agent.last = result;
  if (check && health === 'up') st.health = rise + fall - 1;
  if (check && health === 'down') st.health = 0;
  const verdict = checkVerdict(result.status);
  if (verdict === 'fail' && result.status === 'L7STS') agent.health = 0;
  else if (verdict === 'pass' || verdict === 'conditional') agent.health = 1;
  else return undefined;
  if (st.admin === 'maint') return undefined;
  if (agent.health === 0) return st.op === 'down' ? undefined : 'down';
  if (st.op !== 'down' || (check && st.checksEnabled && st.health < rise)) return undefined;
  return 'up';
}

/** Forces the agent's health (HAProxy `set server … agent up|down`): the server goes up or down with it, outside maintenance. */
export function applyForcedAgentHealth(st: ServerState, health: 'up' | 'down'): OperationalState | undefined {
  if (st.agent === undefined) return undefined;
  st.agent.health = health === 'up' ? 1 : 0;
  if (st.admin === 'maint') return undefined;
  if (health === 'down') return st.op === 'down' ? undefined : 'down';
  return st.op === 'down' ? 'up' : undefined;
}

/**
 * Moves a server to another admin state (HAProxy `srv_set_admin_flag()` / `srv_clr_admin_flag()`): entering
 * `maint` zeroes the health counter (checked or not) and takes a checked server down; leaving `maint` restarts a
 * checked server at `UP 1/fall` ("start OK but check immediately"). Ends the configuration-maintenance flag.
 * Returns the operational state to move to, or `undefined`.
 */
export function applyAdminState(st: ServerState, next: AdminState, check: boolean, rise: number): OperationalState | undefined {
  const previous = st.admin;
  st.admin = next;
  st.maintFromConfig = false;
  if (next === 'maint') {
    st.health = 0;
    return check ? 'down' : undefined;
  }
  if (previous !== 'maint') return undefined;
  if (check) st.health = rise;
  return agentDown(st) ? 'down' : 'up';
}

/**
 * Forces the health result (HAProxy `set server … health up|stopping|down`): `up` fills the counter, `stopping`
 * makes the server NOLB, `down` empties the counter. Returns the operational state to move to, or `undefined`.
 */
export function applyForcedHealth(st: ServerState, health: 'up' | 'stopping' | 'down', rise: number, fall: number): OperationalState | undefined {
  if (health === 'up') {
    st.health = rise + fall - 1;
    return st.op === 'up' || st.op === 'starting' ? undefined : 'up';
  }
  if (health === 'stopping') return st.op === 'stopping' ? undefined : 'stopping';
  st.health = 0;
  return st.op === 'down' ? undefined : 'down';
}
