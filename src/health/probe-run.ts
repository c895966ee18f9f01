import type { Clock, TimerHandle } from '../clock.js';
import { LbError } from '../errors.js';
import type { Server } from '../server.js';
import { type CheckResult, isCheckStatus } from '../state/check-result.js';
import type { Probe, ProbeContext } from './probe.js';
import { connectionErrorResult, isConnectionError } from './probes/socket-errors.js';

/** What one probe run needs: the probe, where to connect, and HAProxy's two deadlines. */
export interface ProbeRunOptions {
  readonly probe: Probe;
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  readonly clock: Clock;
  /** Deadline from the start: the whole check (`inter`), or connecting (`min(inter, timeout connect)`). */
  readonly connectBudgetMs: number;
  /** When set, the deadline becomes this long from the moment the probe says it is connected (`timeout check`). */
  readonly exchangeBudgetMs: number | undefined;
}

/** A probe in flight: its outcome, and a way to cancel it. */
export interface ProbeRun {
  /**
   * The probe's result with its duration; the probe's declared timeout result when the deadline passes first;
   * `undefined` when cancelled. Never rejects, and never waits for a probe past its deadline.
   */
  readonly result: Promise<CheckResult | undefined>;
  /** Aborts the probe's signal and settles `result` with `undefined`. */
  cancel(): void;
}

/** @internal Runs one probe under HAProxy's timeout rule (used by the ActiveChecker). */
export function runProbe(o: ProbeRunOptions): ProbeRun {
  const { clock, server } = o;
  const start = clock.now();
  const controller = new AbortController();
  let timeoutResult: CheckResult = { status: 'PROCTOUT' };
  let timer: TimerHandle | undefined;
  let settled = false;
  let connected = false;
  let resolve!: (result: CheckResult | undefined) => void;
  const result = new Promise<CheckResult | undefined>((r) => (resolve = r));
  const finish = (r: CheckResult | undefined): void => {
    if (settled) return;
    settled = true;
    timer?.cancel();
    resolve(r === undefined ? undefined : { ...r, durationMs: Math.max(0, Math.floor(clock.now() - start)) });
  };
  const arm = (ms: number): void => {
    timer?.cancel();
    timer = clock.setTimeout(() => {
      finish(timeoutResult);
      controller.abort(new DOMException(`health check of ${server.name} timed out`, 'TimeoutError'));
    }, ms);
  };
  arm(o.connectBudgetMs);
  const context: ProbeContext = {
    host: o.host,
    port: o.port,
    clock,
    connected: () => {
      if (connected || settled) return;
      connected = true;
      if (o.exchangeBudgetMs !== undefined) arm(o.exchangeBudgetMs);
    },
    setTimeoutResult: (r) => {
      timeoutResult = r;
    },
  };
  let outcome: Promise<CheckResult | void>;
  try {
    outcome = Promise.resolve(o.probe(server, controller.signal, context));
  } catch (err) {
    outcome = Promise.reject(err);
  }
  outcome.then(
    (value) => finish(resultOf(value)),
    (err: unknown) => finish(failureOf(err)),
  );
  return {
    result,
    cancel: () => {
      if (settled) return;
      finish(undefined);
      controller.abort(new LbError('ERR_LB_ABORTED', 'the health checker stopped'));
    },
  };
}

/** A probe's resolved value as a result: nothing means a pass of user code (`PROCOK`). */
function resultOf(value: unknown): CheckResult {
  if (value === undefined) return { status: 'PROCOK', code: 0 };
  const r = value as Partial<CheckResult> | null;
  if (typeof r !== 'object' || r === null || !isCheckStatus(r.status)) {
    return { status: 'PROCERR', info: 'the probe resolved with something other than a check result' };
  }
  const out: { status: CheckResult['status']; code?: number; info?: string } = { status: r.status };
  if (typeof r.code === 'number' && Number.isSafeInteger(r.code) && r.code >= 0) out.code = r.code;
  if (typeof r.info === 'string') out.info = r.info;
  return out;
}

/** A probe's rejection as a result: socket errors in HAProxy's words, anything else `PROCERR`. */
function failureOf(err: unknown): CheckResult {
  if (isConnectionError(err)) return connectionErrorResult(err);
  const message = err instanceof Error ? err.message : String(err);
  return { status: 'PROCERR', code: 1, info: message };
}
