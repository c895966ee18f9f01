import pLimit, { type LimitFunction } from 'p-limit';
import type { Clock, TimerHandle } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';
import type { CheckResult } from '../state/check-result.js';
import type { Probe } from './probe.js';
import { runProbe } from './probe-run.js';
import { readAgentLine } from './probes/agent-line.js';
import { connectionErrorResult, isConnectionError } from './probes/socket-errors.js';

/** Where a server's agent listens and what it is sent: HAProxy's `agent-port`, `agent-addr`, `agent-send`, `agent-inter`. */
export interface AgentSettings {
  /** Interval between agent checks, ms (HAProxy `agent-inter`). @defaultValue the checker's `interMs` */
  readonly interMs?: number;
  /** Port of the agent (HAProxy `agent-port`). @defaultValue the checker's `port` */
  readonly port?: number;
  /** Address of the agent (HAProxy `agent-addr`). @defaultValue the server's host */
  readonly addr?: string;
  /** Text sent to the agent once connected (HAProxy `agent-send`). @defaultValue nothing */
  readonly send?: string;
}

/**
 * Asks a server's agent for its reply line: HAProxy's agent protocol over TCP by default; your own function returns
 * the same words (`'up 75%'`, `'drain'`, `'down #maintenance window'`), so a service can report its own load.
 */
export type AgentReporter = (server: Server, signal: AbortSignal) => Promise<string>;

/** Options of {@link AgentChecker}. */
export interface AgentCheckerOptions extends AgentSettings {
  /** How to ask an agent. @defaultValue HAProxy's TCP agent protocol at `addr`:`port`, sending `send` */
  readonly report?: AgentReporter;
  /** Interval between agent checks, ms (HAProxy `agent-inter`). @defaultValue 2000 */
  readonly interMs?: number;
  /** Settings of particular servers, by name. @defaultValue {} */
  readonly servers?: Readonly<Record<string, AgentSettings>>;
  /** Most agent checks running at once. @defaultValue 100 */
  readonly concurrency?: number;
  /** Start at once. @defaultValue true */
  readonly autoStart?: boolean;
  /** Source of time. @defaultValue the pool's clock */
  readonly clock?: Clock;
}

/** Default values of {@link AgentCheckerOptions}. */
export const AGENT_CHECKER_DEFAULTS = Object.freeze({ interMs: 2000, concurrency: 100, autoStart: true });

const OPTION_KEYS = ['report', 'interMs', 'port', 'addr', 'send', 'servers', 'concurrency', 'autoStart', 'clock'] as const;
const SETTING_KEYS = ['interMs', 'port', 'addr', 'send'] as const;

interface Entry {
  readonly server: Server;
  timer: TimerHandle | undefined;
  cancel: (() => void) | undefined;
}

function settingsOf(field: string, o: Record<string, unknown>): AgentSettings {
  v.knownKeys(field, o, SETTING_KEYS);
  return {
    ...(o['interMs'] === undefined ? {} : { interMs: v.durationMs(`${field}.interMs`, o['interMs'], { allowZero: false }) }),
    ...(o['port'] === undefined ? {} : { port: v.integerInRange(`${field}.port`, o['port'], 1, 65535) }),
    ...(o['addr'] === undefined ? {} : { addr: v.nonEmptyString(`${field}.addr`, o['addr']) }),
    ...(o['send'] === undefined ? {} : { send: typeof o['send'] === 'string' ? o['send'] : (() => { throw invalidArg(`${field}.send`, 'must be a string', o['send']); })() }),
  };
}

/**
 * HAProxy's agent check (`agent-check`): asks each server of a pool created with `agent: true` for a line of words
 * every `interMs`, and reports it to the pool (`pool.reportAgent()`), which applies the words — health (`up`,
 * `down`, `stopped`, `fail`), admin state (`ready`, `drain`, `maint`), weight (`N%`), `maxconn:N` — with HAProxy's
 * rules. The agent is asked in maintenance too (it may bring the server back with `ready`). Failing to reach it
 * (`L4CON`, `L4TOUT`) changes nothing but its status.
 *
 * @example
 * ```ts
 * // A service reports its own load.
 * const checker = agentChecker(pool, { interMs: 1000, report: async () => `up ${100 - cpuBusyPercent()}%` })
 * ```
 */
export class AgentChecker {
  /** The pool whose agents are asked. */
  readonly pool: Pool;
  /** Interval between agent checks, ms. */
  readonly interMs: number;
  readonly #report: AgentReporter | undefined;
  readonly #defaults: AgentSettings;
  readonly #perServer = new Map<string, AgentSettings>();
  readonly #clock: Clock;
  readonly #limit: LimitFunction;
  readonly #entries = new Map<Server, Entry>();
  readonly #outstanding = new Set<Promise<void>>();
  readonly #onAdded = (server: Server): void => this.#track(server, 0);
  readonly #onRemoved = (server: Server): void => this.#untrack(server);
  #running = false;
  #closed = false;
  #stopping: Promise<void> | undefined;

  constructor(pool: Pool, options: AgentCheckerOptions = {}) {
    if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).reportAgent !== 'function') throw invalidArg('pool', 'must be a Pool', pool);
    const o = v.plainObject('agent checker options', options);
    v.knownKeys('agent checker options', o, OPTION_KEYS);
    this.pool = pool;
    const report = o['report'];
    if (report !== undefined && typeof report !== 'function') throw invalidArg('report', 'must be an async function (server, signal) returning the reply line', report);
    this.#report = report as AgentReporter | undefined;
    this.#defaults = settingsOf('agent checker options', Object.fromEntries(SETTING_KEYS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])));
    this.interMs = this.#defaults.interMs ?? AGENT_CHECKER_DEFAULTS.interMs;
    for (const [name, value] of Object.entries(v.plainObject('servers', o['servers'] ?? {}))) {
      this.#perServer.set(name, settingsOf(`servers.${name}`, v.plainObject(`servers.${name}`, value)));
    }
    const clock = o['clock'] ?? pool.clock;
    if (typeof clock !== 'object' || clock === null || typeof (clock as Clock).setTimeout !== 'function') throw invalidArg('clock', 'must be a Clock', clock);
    this.#clock = clock as Clock;
    this.#limit = pLimit(v.positiveInteger('concurrency', o['concurrency'] ?? AGENT_CHECKER_DEFAULTS.concurrency));
    if (v.boolean('autoStart', o['autoStart'] ?? AGENT_CHECKER_DEFAULTS.autoStart)) this.start();
  }

  /** The settings a server's agent is asked with (the checker's, overridden by its `servers` entry and {@link AgentChecker.setServer}). */
  settings(server: Server): Required<Omit<AgentSettings, 'port' | 'send'>> & Pick<AgentSettings, 'port' | 'send'> {
    const own = this.#perServer.get(server.name) ?? {};
    const port = own.port ?? this.#defaults.port;
    const send = own.send ?? this.#defaults.send;
    return {
      interMs: own.interMs ?? this.#defaults.interMs ?? AGENT_CHECKER_DEFAULTS.interMs,
      addr: own.addr ?? this.#defaults.addr ?? server.host,
      ...(port === undefined ? {} : { port }),
      ...(send === undefined ? {} : { send }),
    };
  }

  /** Changes where a server's agent is asked (HAProxy `set server … agent-addr|agent-port|agent-send`); from the next check on. */
  setServer(name: string, changes: Omit<AgentSettings, 'interMs'>): void {
    this.pool.get(name);
    const next = settingsOf('agent settings', v.plainObject('agent settings', changes));
    this.#perServer.set(name, { ...this.#perServer.get(name), ...next });
  }

  /** True while agent checks are scheduled. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts asking (done by the constructor unless `autoStart: false`): server `i` of `n` first after `interMs × i / n`. Idempotent. */
  start(): void {
    if (this.#closed) throw new LbError('ERR_LB_CLOSED', 'the agent checker is closed');
    if (this.#running) return;
    if (this.#stopping) throw new LbError('ERR_LB_INVALID_STATE', 'the agent checker is still stopping: await stop() before start()');
    this.#running = true;
    this.pool.on('server:added', this.#onAdded);
    this.pool.on('server:removed', this.#onRemoved);
    const agents = this.pool.servers.filter((s) => s.agent);
    agents.forEach((server, i) => this.#track(server, Math.floor((this.settings(server).interMs * i) / agents.length)));
  }

  /** Stops: cancels the timers, aborts the checks in flight (their results are dropped) and waits for them. */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (!this.#running) return Promise.resolve();
    this.#running = false;
    this.pool.off('server:added', this.#onAdded);
    this.pool.off('server:removed', this.#onRemoved);
    for (const server of [...this.#entries.keys()]) this.#untrack(server);
    this.#stopping = Promise.allSettled([...this.#outstanding]).then(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** Stops for good. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    return this.stop();
  }

  /** Stops for good without waiting. */
  destroy(): void {
    void this.close();
  }

  /** Same as {@link AgentChecker.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #track(server: Server, delayMs: number): void {
    if (!server.agent || this.#entries.has(server)) return;
    const entry: Entry = { server, timer: undefined, cancel: undefined };
    this.#entries.set(server, entry);
    this.#schedule(entry, delayMs);
  }

  #untrack(server: Server): void {
    const entry = this.#entries.get(server);
    if (entry === undefined) return;
    this.#entries.delete(server);
    entry.timer?.cancel();
    entry.cancel?.();
  }

  #schedule(entry: Entry, delayMs: number): void {
    entry.timer = this.#clock.setTimeout(() => {
      entry.timer = undefined;
      if (!this.#running || this.#entries.get(entry.server) !== entry) return;
      const task = this.#limit(() => this.#check(entry));
      this.#outstanding.add(task);
      void task.finally(() => this.#outstanding.delete(task));
    }, delayMs);
  }

  async #check(entry: Entry): Promise<void> {
    if (!this.#running || this.#entries.get(entry.server) !== entry) return;
    const { server } = entry;
    const settings = this.settings(server);
    let line: string | undefined;
    const probe: Probe = async (s, signal, ctx) => {
      if (this.#report !== undefined) {
        ctx.setTimeoutResult({ status: 'L7TOUT' });
        try {
          line = await this.#report(s, signal);
        } catch (err) {
          if (isConnectionError(err)) return connectionErrorResult(err);
          return { status: 'PROCERR', info: err instanceof Error ? err.message : String(err) };
        }
        if (typeof line !== 'string') return { status: 'PROCERR', info: 'the agent report resolved with something other than a string' };
        return { status: 'CHECKED' };
      }
      const read = await readAgentLine(ctx, signal, settings.send);
      if (typeof read === 'string') {
        line = read;
        return { status: 'CHECKED' };
      }
      // A line without its end: HAProxy keeps the previous status and says so.
      return read ?? { status: s.agentCheck?.status ?? 'INI', info: 'Ignoring incomplete line from agent' };
    };
    const port = settings.port ?? server.port;
    const run = runProbe({ probe, server, host: settings.addr, port, clock: this.#clock, connectBudgetMs: settings.interMs, exchangeBudgetMs: undefined });
    entry.cancel = run.cancel;
    const result = await run.result;
    entry.cancel = undefined;
    if (result === undefined || !this.#running || this.#entries.get(server) !== entry) return;
    this.pool.reportAgent(server, line !== undefined && result.status === 'CHECKED' ? withDuration(line, result) : { result });
    this.#schedule(entry, settings.interMs);
  }
}

function withDuration(line: string, result: CheckResult): { line: string; durationMs?: number } {
  return result.durationMs === undefined ? { line } : { line, durationMs: result.durationMs };
}

/** Creates an {@link AgentChecker} (same options). */
export function agentChecker(pool: Pool, options: AgentCheckerOptions = {}): AgentChecker {
  return new AgentChecker(pool, options);
}
