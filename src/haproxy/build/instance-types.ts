import type { ProxyWorkers } from '../../workers/proxy-workers.js';
import type net from 'node:net';
import type { Balancer } from '../../balancer.js';
import type { ActiveChecker } from '../../health/active-checker.js';
import type { AgentChecker } from '../../health/agent-checker.js';
import type { PassiveObserver } from '../../health/passive-observer.js';
import type { Pool } from '../../pool.js';
import type { TcpProxy } from '../../proxy/tcp-proxy.js';
import type { BackendConfig, FrontendConfig, ListenConfig } from '../config/types.js';

/** The objects of one `backend` (or the backend half of a `listen`). */
export interface HaproxyBackend {
  readonly name: string;
  readonly kind: 'backend' | 'listen';
  /** HAProxy's numeric proxy id (`iid` in `show stat`, `be_id` in `show servers state`): 2, 3… in declaration order. */
  readonly uuid: number;
  readonly config: BackendConfig | ListenConfig;
  readonly pool: Pool;
  readonly balancer: Balancer;
  /** Runs the checks of the servers with `check` (every backend has one; it has nothing to do without checked servers). */
  readonly checker: ActiveChecker;
  /** The agent checks (`agent-check` servers), when the backend has any. */
  readonly agent: AgentChecker | undefined;
  /** `observe layer4`, when a checked server has it. */
  readonly observer: PassiveObserver | undefined;
  /** True for HAProxy's dynamic algorithms (any weight and `add server` at runtime). */
  readonly dynamic: boolean;
  /**
   * `dispatch <addr>` (no `balance`): the balancer every frontend of this backend uses instead of `balancer`, over a
   * pool of one server named `DISPATCH_SERVER` at that address, which no view shows.
   */
  readonly dispatch?: { readonly pool: Pool; readonly balancer: Balancer };
}

/** The name of the one server of a `dispatch` pool: not a valid HAProxy server name, so it cannot clash. */
export const DISPATCH_SERVER = '<dispatch>';

/** The objects of one `frontend` (or the frontend half of a `listen`). */
export interface HaproxyFrontend {
  readonly name: string;
  readonly kind: 'frontend' | 'listen';
  readonly uuid: number;
  readonly config: FrontendConfig | ListenConfig;
  /** Where connections go; undefined for a frontend without backend (every connection is closed, `<NOSRV>`). */
  readonly backend: HaproxyBackend | undefined;
  /** Its proxy in the main thread: every connection with `nbthread 1`, the unix-socket binds' with more. */
  readonly proxy: TcpProxy;
  /** With `nbthread` > 1: the worker threads that serve its TCP binds (one balancer, in the main thread). */
  readonly workers: ProxyWorkers | undefined;
  /** The addresses it listens on, once started: TCP addresses, and unix socket paths (`unix@`, `abns@`, a unix `fd@`). */
  readonly addresses: readonly (net.AddressInfo | string)[];
}

/** Options of {@link HaproxyInstance.close}. */
export interface HaproxyCloseOptions {
  /** After this many ms, connections still open are destroyed. @defaultValue Infinity (wait for them all) */
  readonly deadlineMs?: number;
}

