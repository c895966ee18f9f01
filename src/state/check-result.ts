import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';

/**
 * HAProxy's check statuses (`check_status` in `show stat`). The text of each is in {@link CHECK_STATUS_TEXT}.
 */
export type CheckStatus =
  | 'UNK' | 'INI' | 'CHECKED' | 'SOCKERR'
  | 'L4OK' | 'L4TOUT' | 'L4CON'
  | 'L6OK' | 'L6TOUT' | 'L6RSP'
  | 'L7OK' | 'L7OKC' | 'L7TOUT' | 'L7RSP' | 'L7STS'
  | 'HANA'
  | 'PROCERR' | 'PROCTOUT' | 'PROCOK';

/** HAProxy's description of each check status (the `reason:` of its log lines). */
export const CHECK_STATUS_TEXT: Readonly<Record<CheckStatus, string>> = Object.freeze({
  UNK: 'Unknown',
  INI: 'Initializing',
  CHECKED: 'No status change',
  SOCKERR: 'Socket error',
  L4OK: 'Layer4 check passed',
  L4TOUT: 'Layer4 timeout',
  L4CON: 'Layer4 connection problem',
  L6OK: 'Layer6 check passed',
  L6TOUT: 'Layer6 timeout',
  L6RSP: 'Layer6 invalid response',
  L7OK: 'Layer7 check passed',
  L7OKC: 'Layer7 check conditionally passed',
  L7TOUT: 'Layer7 timeout',
  L7RSP: 'Layer7 invalid response',
  L7STS: 'Layer7 wrong status',
  HANA: 'Health analyze',
  PROCERR: 'External check error',
  PROCTOUT: 'External check timeout',
  PROCOK: 'External check passed',
});

/**
 * What a status does to the health counter: `pass` raises it, `fail` lowers it, `conditional` raises it
 * but leaves the server NOLB (HAProxy `L7OKC`), `neutral` leaves it alone (`UNK`, `INI`, and `CHECKED`: an agent
 * reply that changes no health).
 */
export type CheckVerdict = 'pass' | 'fail' | 'conditional' | 'neutral';

const VERDICTS: Readonly<Record<CheckStatus, CheckVerdict>> = Object.freeze({
  UNK: 'neutral',
  INI: 'neutral',
  CHECKED: 'neutral',
  SOCKERR: 'fail',
  L4OK: 'pass',
  L4TOUT: 'fail',
  L4CON: 'fail',
  L6OK: 'pass',
  L6TOUT: 'fail',
  L6RSP: 'fail',
  L7OK: 'pass',
  L7OKC: 'conditional',
  L7TOUT: 'fail',
  L7RSP: 'fail',
  L7STS: 'fail',
  HANA: 'fail',
  PROCERR: 'fail',
  PROCTOUT: 'fail',
  PROCOK: 'pass',
});

/** The verdict of a check status (HAProxy's `check->result` for that status). */
export function checkVerdict(status: CheckStatus): CheckVerdict {
  return VERDICTS[status];
}

/** True for a known {@link CheckStatus} string. */
export function isCheckStatus(value: unknown): value is CheckStatus {
  return typeof value === 'string' && Object.hasOwn(VERDICTS, value);
}

/**
 * True for the statuses whose log lines carry `code: <n>` (HAProxy prints it from `HCHK_STATUS_L57DATA` on:
 * L7OK, L7OKC, L7STS and the external-check statuses).
 */
export function statusHasCode(status: CheckStatus): boolean {
  return status === 'L7OK' || status === 'L7OKC' || status === 'L7STS' || status === 'PROCERR' || status === 'PROCTOUT' || status === 'PROCOK';
}

/** The outcome of one check (or one passive-observation verdict), as data. */
export interface CheckResult {
  /** HAProxy's status code. */
  readonly status: CheckStatus;
  /** Layer 5–7 response code (HTTP status, or 0 for tcp-check). */
  readonly code?: number;
  /** Free text: `Connection refused`, `TCPCHK did not match content '+PONG' at step 2`… */
  readonly info?: string;
  /** How long the check took, in ms; absent for passive observation. */
  readonly durationMs?: number;
  /**
   * Who ran the check when it was not this process: the identity of the fleet's prober whose published result
   * is applied here (`switchyard-lb/etcd`). Absent for this process's own checks. Log lines do not show it.
   */
  readonly by?: string;
}

/** Why a server's state changed: a check, passive observation, or an operator. */
export type StateCause =
  /**
   * An operator. `via` says where from, for HAProxy's wording: `cli` ("changed from CLI": the runtime API and the
   * Pool's methods; also when absent), `web` ("changed from Web interface": the stats page's admin actions) or
   * `state` (a saved state put back by `pool.restoreState()`: "changed from server-state after a reload").
   */
  | { readonly source: 'admin'; readonly via?: 'cli' | 'web' | 'state' }
  | { readonly source: 'check'; readonly result: CheckResult }
  | { readonly source: 'observe'; readonly result: CheckResult }
  /** An agent check (HAProxy `agent-check`): its reply's words, or the agent's result. */
  | { readonly source: 'agent'; readonly result: CheckResult };

/** The causes that carry a check result: an active check or passive observation. */
export type CheckCause = Extract<StateCause, { readonly source: 'check' | 'observe' }>;

/** The cause used for changes made through the Pool's methods by an operator (HAProxy: "changed from CLI"). */
export const ADMIN_CAUSE: StateCause = Object.freeze({ source: 'admin' });

/**
 * What passive observation does once `errorLimit` consecutive connection errors were seen
 * (HAProxy `on-error`):
 * - `fastinter`: only pulls the next active check forward to now + `fastinterMs`;
 * - `fail-check`: one simulated failed check (`UP 3/3` → `UP 2/3`), plus the `fastinter` pull;
 * - `sudden-death`: as if one check short of going down (`UP 1/fall`), plus the pull;
 * - `mark-down`: down at once, plus the pull.
 */
export type OnErrorAction = 'fastinter' | 'fail-check' | 'sudden-death' | 'mark-down';

/** Every {@link OnErrorAction}, for validation. */
export const ON_ERROR_ACTIONS: readonly OnErrorAction[] = Object.freeze(['fastinter', 'fail-check', 'sudden-death', 'mark-down']);

const RESULT_KEYS = ['status', 'code', 'info', 'durationMs', 'by'] as const;

/** Checks a reported result and returns a frozen copy (the caller's object is never kept). */
export function validCheckResult(result: CheckResult): CheckResult {
  const o = v.plainObject('check result', result);
  v.knownKeys('check result', o, RESULT_KEYS);
  if (!isCheckStatus(o['status'])) throw invalidArg('check result.status', 'must be a HAProxy check status such as L4OK or L4CON', o['status']);
  const code = o['code'] === undefined ? undefined : v.nonNegativeInteger('check result.code', o['code']);
  const info = o['info'];
  if (info !== undefined && typeof info !== 'string') throw invalidArg('check result.info', 'must be a string', info);
  const durationMs = o['durationMs'] === undefined ? undefined : v.durationMs('check result.durationMs', o['durationMs']);
  const by = o['by'] === undefined ? undefined : v.nonEmptyString('check result.by', o['by']);
  return Object.freeze({
    status: o['status'],
    ...(code === undefined ? {} : { code }),
    ...(info === undefined ? {} : { info }),
    ...(durationMs === undefined ? {} : { durationMs }),
    ...(by === undefined ? {} : { by }),
  });
}
