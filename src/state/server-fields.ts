/**
 * The parts of a {@link Server} that are pure functions of its options and state: option validation beyond the
 * plain fields, `show stat`'s status text, snapshot fields, HAProxy weights. Kept apart so server.ts stays short.
 */
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { CheckResult } from './check-result.js';
import type { OnMarkedDown, OnMarkedUp, SendProxy, ServerSnapshot } from './server-options.js';
import type { AgentState, ServerState } from './server-state.js';

/** @internal The status as HAProxy's `show stat` prints it: `UP`, `UP 2/3`, `DOWN 1/2`, `NOLB`, `DRAIN`, `MAINT`, `no check`. */
export function statusText(s: ServerState, check: boolean, rise: number, fall: number): string {
  if (s.admin === 'maint') return 'MAINT';
  // A server whose checks are disabled shows as unchecked (HAProxy tests CHK_ST_ENABLED).
  const checked = check && s.checksEnabled;
  const full = rise + fall - 1;
  const agent = s.agent?.enabled === true ? s.agent : undefined;
  if (s.op === 'up' || s.op === 'starting') {
    const goingDown = checked && s.health < full;
    if (s.admin === 'drain' && agent !== undefined) return 'DRAIN (agent)';
    if (s.admin === 'drain') return goingDown ? `DRAIN ${s.health - rise + 1}/${fall}` : 'DRAIN';
    if (goingDown) return `UP ${s.health - rise + 1}/${fall}`;
    return checked ? 'UP' : 'no check';
  }
  if (s.op === 'stopping') {
    return !checked || s.health === full ? 'NOLB' : `NOLB ${s.health - rise + 1}/${fall}`;
  }
  if (agent !== undefined && agent.health === 0) return 'DOWN (agent)';
  if (checked && s.health > 0) return `DOWN ${s.health}/${rise}`;
  return 'DOWN';
}

/** @internal A checked server's last check before the first one. */
export const INITIAL_CHECK: CheckResult = Object.freeze({ status: 'INI' });

/** @internal The snapshot fields of the last check. */
export function checkFields(r: CheckResult): Pick<ServerSnapshot, 'checkStatus' | 'checkCode' | 'checkInfo' | 'checkDurationMs'> {
  return {
    checkStatus: r.status,
    ...(r.code === undefined ? {} : { checkCode: r.code }),
    ...(r.info === undefined ? {} : { checkInfo: r.info }),
    ...(r.durationMs === undefined ? {} : { checkDurationMs: r.durationMs }),
  };
}

/** @internal The snapshot fields of the agent check. */
export function agentFields(a: AgentState): Pick<ServerSnapshot, 'agentStatus' | 'agentCode' | 'agentInfo' | 'agentDurationMs' | 'agentHealth' | 'agentEnabled'> {
  const r = a.last;
  return {
    agentStatus: r.status,
    ...(r.code === undefined ? {} : { agentCode: r.code }),
    ...(r.info === undefined ? {} : { agentInfo: r.info }),
    ...(r.durationMs === undefined ? {} : { agentDurationMs: r.durationMs }),
    agentHealth: a.health,
    agentEnabled: a.enabled,
  };
}

/** Parses a HAProxy-style weight: an absolute `0..256`, or `'N%'` of the initial weight (integer division). */
export function resolveWeight(field: string, value: unknown, initialWeight: number): number {
  if (typeof value === 'string') {
    const m = /^(\d+)%$/.exec(value);
    if (!m) throw invalidArg(field, "must be an integer 0–256 or a percentage such as '50%'", value);
    const pct = Number(m[1]);
    const w = Math.floor((initialWeight * pct) / 100);
    if (w > 256) throw invalidArg(field, `gives ${w}, above the maximum weight 256`, value);
    return w;
  }
  return v.integerInRange(field, value, 0, 256);
}
