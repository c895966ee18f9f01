import type { Clock } from '../clock.js';
import { LbError } from '../errors.js';

/** Why an etcd request failed, in `details.reason` of an `ERR_LB_ETCD` error. */
export type EtcdFailure = 'timeout' | 'unavailable' | 'error';

/** An `ERR_LB_ETCD` error for `what`, wrapping `cause`. */
export function etcdError(what: string, reason: EtcdFailure, cause?: unknown): LbError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new LbError('ERR_LB_ETCD', `etcd ${what} failed (${reason})${detail}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { reason, request: what },
  });
}

/**
 * Runs one etcd request, bounded by `timeoutMs` on the injected clock and by `signal`. A request that outlives
 * its bound is left to the client (its own deadline ends it) and its late answer is dropped.
 */
export function etcdCall<T>(what: string, call: () => Promise<T>, clock: Clock, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) return Promise.reject(new LbError('ERR_LB_ABORTED', `etcd ${what} was aborted`, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(new LbError('ERR_LB_ABORTED', `etcd ${what} was aborted`, { cause: signal?.reason }));
    };
    const timer = clock.setTimeout(() => {
      if (finish()) reject(etcdError(what, 'timeout'));
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (err) {
      if (finish()) reject(etcdError(what, 'error', err));
      return;
    }
    pending.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (err: unknown) => {
        if (finish()) reject(LbError.is(err) ? err : etcdError(what, 'error', err));
      },
    );
  });
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts (never rejects). */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The delay before retry number `failures` (1-based): `retryMs` doubling up to `maxRetryMs`. */
export function backoffMs(failures: number, retryMs: number, maxRetryMs: number): number {
  return Math.min(maxRetryMs, retryMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

/** True when etcd refused a write because its lease no longer exists. */
export function isLeaseNotFound(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.name === 'EtcdLeaseInvalidError' || /lease not found/i.test(e.message)) return true;
  }
  return false;
}
