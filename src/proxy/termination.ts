import type { LbError } from '../errors.js';

/**
 * Who or what ended a proxied connection: the first character of HAProxy's termination state
 * (`doc/configuration.txt` §8.5).
 *
 * - `-` normal end (both sides closed in order)
 * - `C` the client aborted (reset, error, or it went away while waiting)
 * - `S` the server aborted or refused, or no server could take the connection
 * - `c` the client-side inactivity timeout (`timeoutClientMs`, or `timeoutTunnelMs` on the client)
 * - `s` the server-side timeout: connect, queue, or inactivity (`timeoutServerMs`, `timeoutTunnelMs`)
 * - `D` killed because the server went down (`onMarkedDown: 'shutdown-sessions'`)
 * - `U` killed on a backup server because an active server came up (`onMarkedUp: 'shutdown-backup-sessions'`)
 * - `K` killed by the owner: `destroy()`, or `close()` past its deadline
 * - `P` aborted by the proxy itself (a `key` option that threw)
 */
export type TerminationCause = '-' | 'C' | 'S' | 'c' | 's' | 'D' | 'U' | 'K' | 'P';

/**
 * Where the connection was when it ended: the second character of HAProxy's termination state.
 * `Q` waiting in the queue for a free server, `C` connecting to the server, `D` transferring data,
 * `-` normal end.
 */
export type TerminationPhase = 'Q' | 'C' | 'D' | '-';

/**
 * HAProxy's two-letter termination state as printed in a `tcplog` line: `--` normal, `SC` connection
 * refused or no server, `sC` connect timeout, `sQ` queue timeout, `SQ` queue full, `CC`/`CQ` the client
 * left while connecting/queued, `cD`/`sD` client/server inactivity timeout, `CD`/`SD` client/server abort
 * during the transfer, `D-`/`DC` killed by `shutdown-sessions`, `U-`/`UC` by `shutdown-backup-sessions`
 * (HAProxy 2.6 logs an established session it cuts with `-` as the second letter),
 * `KQ`/`KC`/`KD` by `destroy()` or a `close()` deadline, `PC` aborted by the proxy (a `key` option that threw).
 */
export type TerminationCode = `${Exclude<TerminationCause, '-'>}${Exclude<TerminationPhase, '-'>}` | '--' | 'D-' | 'U-';

const CAUSE_TEXT: Readonly<Record<TerminationCause, string>> = Object.freeze({
  '-': 'normal end',
  C: 'client aborted',
  S: 'server aborted, refused, or unavailable',
  c: 'client timeout',
  s: 'server timeout',
  D: 'server went down (shutdown-sessions)',
  U: 'active server came up (shutdown-backup-sessions)',
  K: 'killed by the owner',
  P: 'aborted by the proxy',
});

const PHASE_TEXT: Readonly<Record<TerminationPhase, string>> = Object.freeze({
  Q: 'while queued',
  C: 'while connecting',
  D: 'during the transfer',
  '-': '',
});

/**
 * A human sentence for a termination code, e.g. `sC` → `server timeout while connecting`.
 *
 * @example
 * ```ts
 * proxy.on('connection:close', (r) => { if (r.termination !== '--') log(describeTermination(r.termination)) })
 * ```
 */
export function describeTermination(code: TerminationCode): string {
  const cause = CAUSE_TEXT[code[0] as TerminationCause];
  const phase = PHASE_TEXT[code[1] as TerminationPhase];
  return phase === '' ? cause : `${cause} ${phase}`;
}

/**
 * The termination state of a connection that never reached a server, from the dialer's error: `sQ` queue
 * timeout, `SQ` queue full, `KQ` closed while queued, `sC` connect timeout, `SC` refused or no server.
 */
export function dialFailureCode(error: LbError): TerminationCode {
  switch (error.code) {
    case 'ERR_LB_QUEUE_TIMEOUT':
      return 'sQ';
    case 'ERR_LB_QUEUE_FULL':
      return 'SQ';
    case 'ERR_LB_CIRCUIT_OPEN':
      // Too many waiting: as a full queue. Too many connections: refused before any server, as NOSRV (`SC`).
      return error.details['limit'] === 'pending' ? 'SQ' : 'SC';
    case 'ERR_LB_CLOSED':
      return 'KQ';
    case 'ERR_LB_CONNECT_TIMEOUT':
      return 'sC';
    default:
      return 'SC';
  }
}
