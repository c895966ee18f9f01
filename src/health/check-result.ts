/**
 * HAProxy's check statuses (`check_status` in `show stat`). The text of each is in {@link CHECK_STATUS_TEXT}.
 */
export type CheckStatus =
  | 'UNK' | 'INI' | 'SOCKERR'
  | 'L4OK' | 'L4TOUT' | 'L4CON'
  | 'L6OK' | 'L6TOUT' | 'L6RSP'
  | 'L7OK' | 'L7OKC' | 'L7TOUT' | 'L7RSP' | 'L7STS'
  | 'HANA'
  | 'PROCERR' | 'PROCTOUT' | 'PROCOK';

/** HAProxy's description of each check status (the `reason:` of its log lines). */
export const CHECK_STATUS_TEXT: Readonly<Record<CheckStatus, string>> = Object.freeze({
  UNK: 'Unknown',
  INI: 'Initializing',
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
}

/** Why a server's state changed: a check, passive observation, or an operator. */
export type StateCause =
  | { readonly source: 'admin' }
  | { readonly source: 'check'; readonly result: CheckResult }
  | { readonly source: 'observe'; readonly result: CheckResult };

/** The cause used for changes made through the Pool's methods by an operator (HAProxy: "changed from CLI"). */
export const ADMIN_CAUSE: StateCause = Object.freeze({ source: 'admin' });
