import pLimit, { type LimitFunction } from 'p-limit';
import type { Clock, TimerHandle } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import {
  ACTIVE_CHECKER_DEFAULTS,
  ACTIVE_CHECKER_OPTION_KEYS,
  type ActiveCheckerOptions,
  type CheckSettings,
  resolveCheckSettings,
} from './active-checker-options.js';
import { checkInterval, firstCheckDelays, spreadInterval } from './check-schedule.js';
import type { Probe } from './probe.js';
import { runProbe } from './probe-run.js';
import { tcpConnectProbe } from './probes/tcp-connect.js';

export { ACTIVE_CHECKER_DEFAULTS } from './active-checker-options.js';
export type { ActiveCheckerOptions, ServerCheckOptions } from './active-checker-options.js';

interface Entry {
  readonly server: Server;
  readonly settings: CheckSettings;
  timer: TimerHandle | undefined;
  /** Clock time the scheduled check is due, while one is scheduled. */
  dueAt: number | undefined;
  /** Cancels the check in flight (aborts its probe and settles it without a result). */
  cancel: (() => void) | undefined;
}

/** Where a server's checks connect, changed at runtime ({@link ActiveChecker.updateServer}); `null` = the server's own. */
export interface CheckTargetUpdate {
  /** The check's own address (an IP or host name), or `null` for the server's host. */
  readonly addr?: string | null;
  /** The check's own port (1–65535), or `null` for the server's port. */
  readonly port?: number | null;
}

/** Counters of a checker. */
export interface ActiveCheckerStats {
  /** Probes running now. */
  readonly running: number;
  /** Checks due but waiting for a concurrency slot. */
  readonly waiting: number;
  /** Most probes seen running at once. */
  readonly maxRunning: number;
  /** Checks completed (results reported). */
  readonly completed: number;
  /** Servers being checked. */
  readonly servers: number;
}

/**
 * Runs health checks against the servers of a pool that have `check: true`, on HAProxy's schedule, and reports
 * every result to the pool (the only writer of server state), which applies the `rise`/`fall` counter and
 * emits `check:pass`, `check:fail`, `server:down`, `server:up`.
 *
 * Scheduling follows HAProxy: the first checks are spread over the interval in declaration order; the next check
 * of a server is due one interval after the previous one completed — `interMs` when fully up, `fastinterMs`
 * in transition, `downinterMs` when fully down — with optional `spreadChecks` jitter. Servers in maintenance
 * are not probed; one leaving maintenance is checked at its next regular time (HAProxy 2.6.12 measured: the
 * source says "check immediately", but the check task keeps its schedule). Probes run at most `concurrency` at a time.
 *
 * @example
 * ```ts
 * const pool = new Pool('redis', { servers: [{ name: 'r1', host: '10.0.0.1', port: 6379, check: true }] })
 * const checker = new ActiveChecker(pool, {
 *   interMs: 1000,
 *   probe: sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'string', pattern: '+PONG' }]),
 * })
 * pool.on('server:down', (server, cause) => console.warn(server.name, 'down', cause))
 * // later
 * await checker.close()
 * ```
 */
export class ActiveChecker {
  /** The pool whose servers are checked. */
  readonly pool: Pool;
  /** Interval while fully up, ms (validated `interMs`). */
  readonly interMs: number;
  /** Interval in transition, ms; `undefined` = `interMs`. */
  readonly fastinterMs: number | undefined;
  /** Interval while fully down, ms; `undefined` = `interMs`. */
  readonly downinterMs: number | undefined;
  /** Exchange timeout once connected, ms; `undefined` = the whole check within `interMs`. */
  readonly timeoutCheckMs: number | undefined;
  /** Connect bound used with `timeoutCheckMs`, ms. */
  readonly timeoutConnectMs: number | undefined;
  /** Jitter, ± percent of each interval. */
  readonly spreadChecks: number;
  /** Cap of the first-check spread, ms (0 = none). */
  readonly maxSpreadChecksMs: number;
  /** Most probes running at once. */
  readonly concurrency: number;

  readonly #probe: Probe;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #defaults: CheckSettings;
  readonly #perServer: ReadonlyMap<string, CheckSettings>;
  readonly #limit: LimitFunction;
  readonly #entries = new Map<Server, Entry>();
  readonly #outstanding = new Set<Promise<void>>();
  /** Cancels of the runs whose probe left work going on after its result (an orderly close). */
  readonly #lingering = new Set<() => void>();
  readonly #onAdded = (server: Server): void => this.#track(server, 0);
  /** Runtime changes of where a server's checks connect (`updateServer()`), by server name. */
  readonly #targets = new Map<string, { addr: string | undefined; port: number | undefined }>();
  readonly #onRemoved = (server: Server): void => {
    this.#targets.delete(server.name);
    this.#untrack(server);
  };
  readonly #onObserveLimit = (server: Server): void => {
    const entry = this.#entries.get(server);
    if (entry?.settings.fastinterMs !== undefined) this.#expedite(server, entry.settings.fastinterMs);
  };
  #running = false;
  #closed = false;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #active = 0;
  #maxActive = 0;
  #completed = 0;

  constructor(pool: Pool, options: ActiveCheckerOptions = {}) {
    if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).reportCheck !== 'function') {
      throw invalidArg('pool', 'must be a Pool', pool);
    }
    const o = v.plainObject('checker options', options);
    v.knownKeys('checker options', o, ACTIVE_CHECKER_OPTION_KEYS);
    this.pool = pool;
    const probe = o['probe'] ?? tcpConnectProbe();
    if (typeof probe !== 'function') throw invalidArg('probe', 'must be an async function (server, signal, context)', probe);
    this.#probe = probe as Probe;
    this.#defaults = resolveCheckSettings('', o, undefined);
    this.interMs = this.#defaults.interMs;
    this.fastinterMs = this.#defaults.fastinterMs;
    this.downinterMs = this.#defaults.downinterMs;
    this.timeoutCheckMs = o['timeoutCheckMs'] === undefined ? undefined : v.durationMs('timeoutCheckMs', o['timeoutCheckMs'], { allowZero: false });
    this.timeoutConnectMs =
      o['timeoutConnectMs'] === undefined ? undefined : v.durationMs('timeoutConnectMs', o['timeoutConnectMs'], { allowZero: false, allowInfinite: true });
    this.spreadChecks = v.integerInRange('spreadChecks', o['spreadChecks'] ?? ACTIVE_CHECKER_DEFAULTS.spreadChecks, 0, 50);
    this.maxSpreadChecksMs = v.durationMs('maxSpreadChecksMs', o['maxSpreadChecksMs'] ?? ACTIVE_CHECKER_DEFAULTS.maxSpreadChecksMs);
    this.concurrency = v.positiveInteger('concurrency', o['concurrency'] ?? ACTIVE_CHECKER_DEFAULTS.concurrency);
    const servers = v.plainObject('servers', o['servers'] ?? {});
    const perServer = new Map<string, CheckSettings>();
    for (const [name, value] of Object.entries(servers)) {
      // An override of a server the pool does not have, or one without checks, would silently never apply.
      const server = pool.find(name);
      if (server === undefined) {
        throw new LbError('ERR_LB_UNKNOWN_SERVER', `servers.${name}: pool ${JSON.stringify(pool.name)} has no server named ${JSON.stringify(name)}`, {
          details: { pool: pool.name, server: name, field: `servers.${name}` },
        });
      }
      if (!server.check) throw invalidArg(`servers.${name}`, `names a server without check: true, which is never checked`, value);
      perServer.set(name, resolveCheckSettings(`servers.${name}.`, v.plainObject(`servers.${name}`, value), this.#defaults));
    }
    this.#perServer = perServer;
    const clock = o['clock'] ?? pool.clock;
    if (typeof clock !== 'object' || clock === null || typeof (clock as Clock).setTimeout !== 'function') {
      throw invalidArg('clock', 'must be a Clock', clock);
    }
    this.#clock = clock as Clock;
    const random = o['random'] ?? Math.random;
    if (typeof random !== 'function') throw invalidArg('random', 'must be a function returning numbers in [0, 1)', random);
    this.#random = random as () => number;
    this.#limit = pLimit(this.concurrency);
    if (v.boolean('autoStart', o['autoStart'] ?? ACTIVE_CHECKER_DEFAULTS.autoStart)) {
      if (pool.size > 0 && !pool.servers.some((s) => s.check)) {
        // Almost always a forgotten `check: true`: say so once rather than check nothing in silence. An empty pool
        // (servers still to come from discovery) is not warned about.
        process.emitWarning(
          `ActiveChecker over pool ${JSON.stringify(pool.name)}: none of its ${pool.size} server(s) has check: true, so nothing is checked ` +
            '(servers are checked only with check: true; servers added later with it will be)',
          { type: 'SwitchyardWarning', code: 'SWITCHYARD_NOTHING_TO_CHECK' },
        );
      }
      this.start();
    }
  }

  /** True while checks are scheduled. */
  get running(): boolean {
    return this.#running;
  }

  /** Counters: probes running and waiting, the most seen at once, checks completed. */
  stats(): ActiveCheckerStats {
    return {
      running: this.#active,
      waiting: this.#limit.pendingCount,
      maxRunning: this.#maxActive,
      completed: this.#completed,
      servers: this.#entries.size,
    };
  }

  /**
   * Starts checking (done by the constructor unless `autoStart: false`). The first checks are spread like
   * HAProxy's `start_checks()`: server `i` of `n` is first checked after `m × i / n`, where `m` is the larger of
   * the smallest interval of at least one second and the server's own current interval. Idempotent.
   */
  start(): void {
    if (this.#closed) throw new LbError('ERR_LB_CLOSED', 'the checker is closed');
    if (this.#running) return;
    if (this.#stopping) throw new LbError('ERR_LB_INVALID_STATE', 'the checker is still stopping: await stop() before start()');
    this.#running = true;
    this.pool.on('server:added', this.#onAdded);
    this.pool.on('server:removed', this.#onRemoved);
    this.pool.on('observe:limit', this.#onObserveLimit);
    const checked = this.pool.servers.filter((s) => s.check);
    const delays = firstCheckDelays(checked, (server) => this.#settingsOf(server), this.maxSpreadChecksMs);
    checked.forEach((server, position) => this.#track(server, delays[position]!));
  }

  /**
   * Stops checking: cancels every timer, aborts the probes in flight through their signal (their results are
   * dropped) and resolves once every check has settled. `start()` may be called again afterwards.
   */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (!this.#running) return Promise.resolve();
    this.#running = false;
    this.pool.off('server:added', this.#onAdded);
    this.pool.off('server:removed', this.#onRemoved);
    this.pool.off('observe:limit', this.#onObserveLimit);
    for (const server of [...this.#entries.keys()]) this.#untrack(server);
    const stopping = this.#drain().then(() => {
      this.#stopping = undefined;
    });
    this.#stopping = stopping;
    return stopping;
  }

  /** Stops for good (see {@link ActiveChecker.stop}). Idempotent: returns the same promise. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.stop();
    return this.#closing;
  }

  /**
   * Stops for good without waiting: in-flight probes are aborted and their results dropped, and connections still
   * closing after a check are destroyed at once.
   */
  destroy(): void {
    void this.close();
    for (const cancel of [...this.#lingering]) cancel();
  }

  /** Same as {@link ActiveChecker.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Checks `server` now (as soon as a concurrency slot is free), ahead of its schedule. */
  checkNow(server: Server): void {
    if (!this.#entries.has(server)) throw invalidArg('server', 'must be a checked server of this pool while the checker runs', server.name);
    this.#expedite(server, 0);
  }

  /**
   * Changes where a checked server's checks connect, from its next check on (HAProxy `set server … check-addr
   * <ip> [port <p>]`, `check-port <p>`): `addr`/`port` replace its check address and port, `null` goes back to the
   * server's own. Whether a check sends the server's PROXY header stays as it was when the checker was made.
   * @throws LbError `ERR_LB_UNKNOWN_SERVER` for a name the pool does not have, `ERR_LB_INVALID_ARG` for a server
   * without `check: true` or a bad value.
   */
  updateServer(name: string, changes: CheckTargetUpdate): void {
    const server = this.pool.get(name);
    if (!server.check) throw invalidArg('name', 'names a server without check: true, which is never checked', name);
    const o = v.plainObject('check target', changes);
    v.knownKeys('check target', o, ['addr', 'port']);
    const current = this.target(name);
    const addr = o['addr'] === undefined ? current.addr : o['addr'] === null ? undefined : v.nonEmptyString('addr', o['addr']);
    const port = o['port'] === undefined ? current.port : o['port'] === null ? undefined : v.integerInRange('port', o['port'], 1, 65535);
    this.#targets.set(name, { addr, port });
  }

  /** A checked server's own check address and port (`undefined`: the server's host or port is used). */
  target(name: string): { readonly addr: string | undefined; readonly port: number | undefined } {
    const server = this.pool.get(name);
    const settings = this.#settingsOf(server);
    return this.#targets.get(name) ?? { addr: settings.addr, port: settings.port };
  }

  /** Waits for every check task and every lingering close, including those that start while waiting. */
  async #drain(): Promise<void> {
    while (this.#outstanding.size > 0) await Promise.allSettled([...this.#outstanding]);
  }

  #settingsOf(server: Server): CheckSettings {
    return this.#perServer.get(server.name) ?? this.#defaults;
  }

  #track(server: Server, delayMs: number): void {
    if (!server.check || this.#entries.has(server)) return;
    const entry: Entry = { server, settings: this.#settingsOf(server), timer: undefined, dueAt: undefined, cancel: undefined };
    this.#entries.set(server, entry);
    this.#schedule(entry, delayMs);
  }

  #untrack(server: Server): void {
    const entry = this.#entries.get(server);
    if (entry === undefined) return;
    this.#entries.delete(server);
    entry.timer?.cancel();
    entry.timer = undefined;
    entry.dueAt = undefined;
    entry.cancel?.();
  }

  #schedule(entry: Entry, delayMs: number): void {
    entry.timer?.cancel();
    entry.dueAt = this.#clock.now() + delayMs;
    entry.timer = this.#clock.setTimeout(() => this.#due(entry), delayMs);
  }

  /** Pulls a scheduled check forward to now + `delayMs` if that is earlier (HAProxy `__health_adjust()`). */
  #expedite(server: Server, delayMs: number): void {
    const entry = this.#entries.get(server);
    if (entry === undefined || entry.dueAt === undefined) return;
    if (entry.dueAt > this.#clock.now() + delayMs) this.#schedule(entry, delayMs);
  }

  #due(entry: Entry): void {
    entry.timer = undefined;
    entry.dueAt = undefined;
    if (!this.#running || this.#entries.get(entry.server) !== entry) return;
    if (entry.server.adminState === 'maint' || !entry.server.checksEnabled) {
      // Checks are paused in maintenance and while disabled (`pool.setChecksEnabled()`); the schedule goes on,
      // so leaving either state checks at the next regular time.
      this.#next(entry);
      return;
    }
    const task = this.#limit(() => this.#check(entry));
    this.#outstanding.add(task);
    void task.finally(() => this.#outstanding.delete(task));
  }

  #next(entry: Entry): void {
    if (!this.#running || this.#entries.get(entry.server) !== entry) return;
    this.#schedule(entry, spreadInterval(checkInterval(entry.server, entry.settings), this.spreadChecks, this.#random));
  }

  /** Keeps a run's after-work (an orderly close, bounded by the check's deadline) for stop() to wait for. */
  #trackFinished(finished: Promise<void>, cancel: () => void): void {
    this.#lingering.add(cancel);
    const done = finished.finally(() => {
      this.#lingering.delete(cancel);
      this.#outstanding.delete(done);
    });
    this.#outstanding.add(done);
  }

  async #check(entry: Entry): Promise<void> {
    if (!this.#running || this.#entries.get(entry.server) !== entry) return;
    this.#active++;
    if (this.#active > this.#maxActive) this.#maxActive = this.#active;
    try {
      const { server, settings: st } = entry;
      const target = this.#targets.get(server.name) ?? st;
      const run = runProbe({
        probe: this.#probe,
        server,
        host: target.addr ?? server.host,
        port: target.port ?? server.port,
        clock: this.#clock,
        // HAProxy bounds a check by `inter` itself, whatever interval scheduled it (process_chk_conn()).
        connectBudgetMs: this.timeoutCheckMs === undefined ? st.interMs : Math.min(st.interMs, this.timeoutConnectMs ?? Infinity),
        exchangeBudgetMs: this.timeoutCheckMs,
        // HAProxy's checks send the server's PROXY header when they have no port or addr of their own (init_srv_check()).
        sendProxy: st.addr === undefined && st.port === undefined && server.sendProxy !== false ? server.sendProxy : undefined,
      });
      entry.cancel = run.cancel;
      this.#trackFinished(run.finished, run.cancel);
      const result = await run.result;
      entry.cancel = undefined;
      if (result === undefined || !this.#running || this.#entries.get(entry.server) !== entry) return;
      this.#completed++;
      this.pool.reportCheck(entry.server, result);
      this.#next(entry);
    } finally {
      this.#active--;
    }
  }
}
