import type { CheckResult } from '../../state/check-result.js';

/**
 * HAProxy words a failed connection with the system's `strerror()` text ([src/check.c chk_report_conn_err()]);
 * errors it detects while creating the socket get "General socket error (…)".
 */
const CONNECT_ERRORS: Readonly<Record<string, string>> = Object.freeze({
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  EHOSTDOWN: 'Host is down',
  ENETUNREACH: 'General socket error (Network is unreachable)',
  ENETDOWN: 'General socket error (Network is down)',
  EADDRNOTAVAIL: 'General socket error (Cannot assign requested address)',
  EPIPE: 'Broken pipe',
});

/** The `code` of a Node.js system error, if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The check result for an error while connecting or talking to a server: `L4CON` with HAProxy's wording for
 * connection errors, `SOCKERR` with the message otherwise (name resolution, file-descriptor limits…).
 * `suffix` is appended to the info (a tcp-check step comment).
 */
export function connectionErrorResult(err: unknown, suffix = ''): CheckResult {
  const code = errorCode(err);
  const text = code === undefined ? undefined : CONNECT_ERRORS[code];
  if (text !== undefined) return { status: 'L4CON', info: text + suffix };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 'SOCKERR', info: message + suffix };
}

/** True for errors {@link connectionErrorResult} words as a connection problem. */
export function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && CONNECT_ERRORS[code] !== undefined;
}
