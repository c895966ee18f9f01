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
  /** The PROXY header of the check's default connection ({@link ProbeContext.sendProxy}). */
  readonly sendProxy?: 'v1' | 'v2' | undefined;
}

/** A probe in flight: its outcome, and a way to cancel it. */
export interface ProbeRun {
  /**
   * The probe's result with its duration; the probe's declared timeout result when the deadline passes first;
   * `undefined` when cancelled. Never rejects, and never waits for a probe past its deadline.
   */
  readonly result: Promise<CheckResult | undefined>;
  /**
   * Resolves once the result is settled and the work the probe left to go on afterwards ({@link ProbeContext.linger})
   * is done; that work ends by itself, or when the deadline passes. Never rejects.
   */
  readonly finished: Promise<void>;
  /** Aborts the probe's signal and settles `result` with `undefined`; aborts the lingering work too. */
  cancel(): void;
}

/** @internal Runs one probe under HAProxy's timeout rule (used by the ActiveChecker). */
export function runProbe(o: ProbeRunOptions): ProbeRun {
  const { clock, server } = o;
  const start = clock.now();
  const controller = new AbortController();
  // Work left to go on after the result (an orderly close): bounded by the same deadline, aborted on cancel.
  const lingerController = new AbortController();
  const lingering = new Set<Promise<void>>();
  let timeoutResult: CheckResult = { status: 'PROCTOUT' };
  let timer: TimerHandle | undefined;
  let settled = false;
  let connected = false;
  let resolve!: (result: CheckResult | undefined) => void;
  const result = new Promise<CheckResult | undefined>((r) => (resolve = r));
  let resolveFinished!: () => void;
  const finished = new Promise<void>((r) => (resolveFinished = r));
  const maybeFinished = (): void => {
    if (!settled || lingering.size > 0) return;
    timer?.cancel();
    // Work handed over later than this has no deadline left: it starts aborted.
    lingerController.abort(new LbError('ERR_LB_ABORTED', 'the health check is over'));
    resolveFinished();
  };
  const finish = (r: CheckResult | undefined): void => {
    if (settled) return;
    settled = true;
    resolve(r === undefined ? undefined : { ...r, durationMs: Math.max(0, Math.floor(clock.now() - start)) });
    maybeFinished();
  };
  const arm = (ms: number): void => {
    timer?.cancel();
    // The deadline is judged after the I/O already waiting has been read (setImmediate runs after the poll phase),
    // as HAProxy handles a check's I/O events before its expired task: a loaded event loop that wakes up late with
    // the reply in hand reports the reply, not a timeout.
    timer = clock.setTimeout(() => setImmediate(() => {
      if (timer !== current) return;
      const timedOut = !settled;
      finish(timeoutResult);
      const reason = new DOMException(`health check of ${server.name} timed out`, 'TimeoutError');
      if (timedOut) controller.abort(reason);
      lingerController.abort(reason);
    }), ms);
    const current = timer;
  };
  arm(o.connectBudgetMs);
  const context: ProbeContext = {
    host: o.host,
    port: o.port,
    clock,
    ...(o.sendProxy === undefined ? {} : { sendProxy: o.sendProxy }),
    connected: () => {
      if (connected || settled) return;
      connected = true;
      if (o.exchangeBudgetMs !== undefined) arm(o.exchangeBudgetMs);
    },
    setTimeoutResult: (r) => {
      timeoutResult = r;
    },
    linger: (work) => {
      let task: Promise<void>;
      try {
        task = Promise.resolve(work(lingerController.signal));
      } catch (err) {
        task = Promise.reject(err);
      }
      const tracked = task.then(() => {}, () => {}).finally(() => {
        lingering.delete(tracked);
        maybeFinished();
      });
      lingering.add(tracked);
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
    finished,
    cancel: () => {
      const reason = new LbError('ERR_LB_ABORTED', 'the health checker stopped');
      lingerController.abort(reason);
      if (settled) return;
      finish(undefined);
      controller.abort(reason);
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
