import type { Clock } from '../clock.js';
import type { Server } from '../server.js';
import type { CheckResult } from '../state/check-result.js';

/**
 * What a probe gets besides the server and the signal: where to connect (the checker's `port`/`addr`
 * overrides applied), the clock, and two ways to tell the checker about its progress.
 */
export interface ProbeContext {
  /** Address to check: the server's host, or the `addr` override. */
  readonly host: string;
  /** Port to check: the server's port, or the `port` override. */
  readonly port: number;
  /** The checker's clock. */
  readonly clock: Clock;
  /**
   * Says the connection is established. With `timeoutCheckMs`, the exchange deadline (`timeoutCheckMs`)
   * starts now instead of the connect deadline; without it, this changes nothing.
   */
  connected(): void;
  /**
   * The result to report if the deadline passes from now on: `L4TOUT` while connecting, `L7TOUT` with the
   * current step while waiting for a reply. Until a probe says otherwise it is `PROCTOUT`
   * ("External check timeout").
   */
  setTimeoutResult(result: CheckResult): void;
  /**
   * Hands over work that goes on after the result is reported, such as closing a connection in an orderly way.
   * Its signal is aborted when the check's deadline passes or the checker is destroyed; the checker's
   * `stop()`/`close()` wait for it. Absent when the probe is called outside a checker: run such work yourself.
   */
  readonly linger?: (work: (signal: AbortSignal) => Promise<void>) => void;
  /**
   * The PROXY protocol header the check's default connection sends first: the server's `sendProxy` when its checks
   * have no `port`/`addr` of their own (HAProxy sends `send-proxy[-v2]` on checks then: v1 names the check
   * connection's own addresses, v2 is a `LOCAL` header). The plain TCP probe and the send/expect and protocol
   * probes honour it (their implicit or `default` connect); undefined: none.
   */
  readonly sendProxy?: 'v1' | 'v2';
}

/**
 * A health check: any async function. Resolve with a {@link CheckResult} to say exactly what happened,
 * resolve with nothing for a pass (`PROCOK`), or reject for a failure (`PROCERR` with the error's message;
 * socket errors such as `ECONNREFUSED` become `L4CON` with HAProxy's wording).
 *
 * The checker aborts `signal` when the check times out or the checker stops, and stops waiting at that
 * moment: release sockets and other resources on abort. The duration is measured by the checker.
 *
 * @example
 * ```ts
 * // Only the primary is healthy, as seen by your own driver.
 * const isPrimary: Probe = async (server, signal) => {
 *   const { rows } = await query(server, 'SELECT pg_is_in_recovery() AS replica', { signal })
 *   if (rows[0].replica) throw new Error('is a replica')
 * }
 * ```
 */
export type Probe = (server: Server, signal: AbortSignal, context: ProbeContext) => Promise<CheckResult | void>;
