import { LbError } from '../errors.js';
import type { ConnectOutcome } from '../outcome.js';
import { type RetryRefusal, refusalText } from './retry-admission.js';

/** One failed connection attempt, as listed in the `details.attempts` of a connect error. */
export interface FailedAttempt {
  readonly server: string;
  readonly outcome: Exclude<ConnectOutcome['kind'], 'success'>;
  readonly code: string | undefined;
  readonly durationMs: number;
}

/** @internal The error of a dial whose attempts all failed: `ERR_LB_CONNECT_TIMEOUT` when the last one timed out, else `ERR_LB_CONNECT_FAILED`. */
export function connectError(
  attempts: readonly FailedAttempt[],
  counts: { readonly attempts: number; readonly retries: number; readonly redispatches: number },
  pool: string,
  timeoutConnectMs: number,
  kind: FailedAttempt['outcome'],
  err: NodeJS.ErrnoException | undefined,
  retryRefused?: RetryRefusal,
): LbError {
  const last = attempts[attempts.length - 1];
  const details = {
    pool, server: last?.server, attempts, retries: counts.retries, redispatches: counts.redispatches,
    ...(retryRefused === undefined ? {} : { retryRefused }),
  };
  const summary = `${counts.attempts} attempt${counts.attempts === 1 ? '' : 's'}${refusalText(retryRefused)}`;
  if (kind === 'timeout') {
    return new LbError(
      'ERR_LB_CONNECT_TIMEOUT',
      `connecting to ${last?.server} of pool ${pool} timed out after timeoutConnectMs ${timeoutConnectMs} ms (${summary})`,
      { details },
    );
  }
  return new LbError('ERR_LB_CONNECT_FAILED', `could not connect to ${last?.server} of pool ${pool}: ${err?.code ?? err?.message ?? kind} (${summary})`, {
    cause: err,
    details,
  });
}
