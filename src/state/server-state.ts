import type { CheckResult } from './check-result.js';
import { type AdminState, type HoldKind, type OperationalState, WEIGHT_SCALE } from './server-options.js';

const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});
/** @internal The agent check's part of a server's state. */
export interface AgentState {
  enabled: boolean;
  health: number;
  last: CheckResult;
}

/**
 * @internal
 * Everything about a server that changes after it is created: configuration that can be changed at runtime,
 * admin and operational state, health, and the live counters. A `Server` reads it through getters; only its
 * {@link Pool} writes it (the Balancer's lease and queue counts go through the pool too), so there is one
 * writer of server state. A plain record on purpose: the pool's rules live in the pool, not here.
 */
export class ServerState {
  /** Where new connections go (`pool.setAddress()`). */
  host = '';
  port = 0;
  /** The pool that writes this state (set by the pool when it creates the server). */
  owner: object | undefined = undefined;
  weight = 0;
  maxconn = 0;
  maxqueue = 0;
  admin: AdminState = 'ready';
  op: OperationalState = 'up';
  health = 0;
  /** HAProxy's slow-start factor, 1–16 (16 = full weight). */
  slowstartFactor = WEIGHT_SCALE;
  /** HAProxy `CHK_ST_ENABLED`: checks run and their results apply (`enable|disable health`). */
  checksEnabled = true;
  /** HAProxy `SRV_ADMF_CMAINT`: in maintenance because of `disabled` at creation, until the admin state changes. */
  maintFromConfig = false;
  current = 0;
  /** Leases with a connection attempt under way or established (HAProxy `cur_sess`). */
  open = 0;
  max = 0;
  total = 0;
  /** Connection attempts beyond the first of each lease (a dialer's retries on the same server). */
  repeatedAttempts = 0;
  lbSelections = 0;
  queued = 0;
  maxQueued = 0;
  lastChangeMs = 0;
  lastCheck: CheckResult | undefined = undefined;
  checkFailures = 0;
  downTransitions = 0;
  observeFailures = 0;
  downtimeMs = 0;
  downSinceMs: number | undefined = undefined;
  /** The server's labels, frozen (replaced whole, never mutated). */
  tags: Readonly<Record<string, string>> = NO_TAGS;
  /**
   * HAProxy's agent check (`agent-check`), `undefined` for a server without one: whether it runs (`enable|disable
   * agent`), its health (rise and fall are 1: 1 up, 0 down) and its last result.
   */
  agent: AgentState | undefined = undefined;
  /** Holds by holder; `undefined` until the first one (most servers never have any). */
  holds: Map<string, HoldKind> | undefined = undefined;

  /** Sets the operational state, noting the time of the change. */
  setOperational(op: OperationalState | undefined, nowMs: number): void {
    if (op === undefined) return;
    this.op = op;
    this.lastChangeMs = nowMs;
  }

  /** A lease was granted; `picked` when the strategy chose the server (not when served from a queue). */
  leaseGranted(picked: boolean): void {
    this.current++;
    this.total++;
    if (picked) this.lbSelections++;
    if (this.current > this.max) this.max = this.current;
  }

  /** The server stopped being up (down or in maintenance: `chkdown`, downtime starts) or came back (downtime ends). */
  upChanged(isUp: boolean, nowMs: number): void {
    if (!isUp) {
      this.downTransitions++;
      this.downSinceMs = nowMs;
      return;
    }
    if (this.downSinceMs !== undefined) this.downtimeMs += Math.max(0, nowMs - this.downSinceMs);
    this.downSinceMs = undefined;
  }

  /** A caller entered (1) or left (-1) the server's own queue. */
  queueChanged(delta: 1 | -1): void {
    this.queued += delta;
    if (this.queued > this.maxQueued) this.maxQueued = this.queued;
  }
}
