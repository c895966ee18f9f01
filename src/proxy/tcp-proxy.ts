import { EventEmitter } from 'eventemitter3';
import net from 'node:net';
import tls from 'node:tls';
import type { TimerHandle } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { ConnectOutcome } from '../outcome.js';
import {
  CONNECT_DEFAULTS,
  CONNECT_POLICY_KEYS,
  type ConnectPolicy,
  type ConnectPolicyOptions,
  resolveConnectPolicy,
} from '../dial/dialer.js';
import type { LeaseSource } from '../lease.js';
import { ReadBuffers } from './pipe.js';
import { ProxyCounters } from './proxy-stats.js';
import type { TcpProxyEvents, TcpProxyStats } from './records.js';
import { Session, type SessionHost, type SessionSettings } from './session.js';
import type { StateCause } from '../state/check-result.js';
import type { Server } from '../server.js';

export type {
  ConnectionRecord,
  ProxyConnection,
  ProxyServerStats,
  RetryPlan,
  TcpProxyEvents,
  TcpProxyStats,
} from './records.js';

/** Options of {@link TcpProxy}: the connect policy (shared with `balancer.connect()`) plus the proxy's own. */
export interface TcpProxyOptions extends ConnectPolicyOptions {
  /**
   * Client-side inactivity timeout, ms (HAProxy `timeout client`): no byte read from or written to the
   * client for this long ends the connection (`cD`; `cQ`/`cC` while queued or connecting). `Infinity` = none,
   * as HAProxy without the setting. Inactivity timeouts are checked by one sweep per proxy every
   * min(timeout / 8, 500 ms): they fire up to a quarter of the timeout (at most 1 s) late, never early.
   * @defaultValue Infinity
   */
  readonly timeoutClientMs?: number;
  /** Server-side inactivity timeout, ms (HAProxy `timeout server`; ends with `sD`). @defaultValue Infinity */
  readonly timeoutServerMs?: number;
  /**
   * Once connected, replaces both inactivity timeouts (HAProxy `timeout tunnel`). `undefined` keeps them.
   * @defaultValue undefined
   */
  readonly timeoutTunnelMs?: number;
  /** Send a PROXY protocol header to the server before any client byte (HAProxy `send-proxy`, `send-proxy-v2`). @defaultValue false */
  readonly sendProxy?: 'v1' | 'v2' | false;
  /** `'shutdown-sessions'`: when a server goes down (health or maintenance), cut its connections (`DD`). @defaultValue 'none' */
  readonly onMarkedDown?: 'none' | 'shutdown-sessions';
  /**
   * `'shutdown-backup-sessions'`: when an active server with a weight comes up, cut every connection on a
   * backup server (`UD`), so clients reconnect to the active servers. @defaultValue 'none'
   */
  readonly onMarkedUp?: 'none' | 'shutdown-backup-sessions';
  /** Disable Nagle's algorithm on both sockets, as a proxy relaying small messages wants. @defaultValue true */
  readonly noDelay?: boolean;
  /** Affinity key for the hash strategies, from the accepted socket (tenant by port, SNI peeked elsewhere…). @defaultValue none: the client address is used */
  readonly key?: (socket: net.Socket) => string | number | undefined;
}

/** Default values of {@link TcpProxyOptions}. */
export const TCP_PROXY_DEFAULTS = Object.freeze({
  ...CONNECT_DEFAULTS,
  timeoutClientMs: Infinity,
  timeoutServerMs: Infinity,
  timeoutTunnelMs: undefined,
  sendProxy: false as const,
  onMarkedDown: 'none' as const,
  onMarkedUp: 'none' as const,
  noDelay: true,
});

const OPTION_KEYS = [
  ...CONNECT_POLICY_KEYS,
  'timeoutClientMs', 'timeoutServerMs', 'timeoutTunnelMs', 'sendProxy', 'onMarkedDown', 'onMarkedUp', 'noDelay', 'key',
] as const;

/** Options of {@link TcpProxy.listen}. */
export interface ProxyListenOptions {
  /** @defaultValue 0 (any free port) */
  readonly port?: number;
  /** @defaultValue all interfaces, as `net.Server.listen` */
  readonly host?: string;
  /** Accept queue length. @defaultValue Node's (511) */
  readonly backlog?: number;
  /** Listen on IPv6 only. @defaultValue false */
  readonly ipv6Only?: boolean;
}

/** Options of {@link TcpProxy.close}. */
export interface ProxyCloseOptions {
  /** After this many ms, connections still open are destroyed (`KD`). @defaultValue Infinity */
  readonly deadlineMs?: number;
}


const LISTEN_KEYS = ['port', 'host', 'backlog', 'ipv6Only'] as const;

/**
 * HAProxy's `listen … mode tcp` in the process: accepts connections, picks a server with the
 * {@link Balancer}, connects (timeout, retries, turn-around, redispatch; every attempt reported to the
 * observer), and relays bytes both ways with backpressure and half-close until both sides are done.
 *
 * Connections come in three ways: {@link TcpProxy.listen} (the proxy's own listener),
 * {@link TcpProxy.attach} (a `net.Server` the application owns) and {@link TcpProxy.handle} (one socket).
 *
 * @example
 * ```ts
 * const pool = new Pool('db', { servers: [{ name: 'db1', host: '10.0.0.1', port: 5432 }, { name: 'db2', host: '10.0.0.2', port: 5432 }] })
 * const proxy = new TcpProxy(new Balancer(pool, { strategy: 'leastconn' }), { timeoutConnectMs: 2000, retries: 2, redispatch: true })
 * proxy.on('connection:close', (r) => console.log(r.clientAddress, r.server ?? '<NOSRV>', r.termination, r.bytesOut))
 * await proxy.listen({ port: 6432, host: '127.0.0.1' })
 * // later
 * await proxy.close({ deadlineMs: 30_000 })
 * ```
 */
export class TcpProxy extends EventEmitter<TcpProxyEvents> {
  /** The balancer that picks servers. */
  readonly balancer: LeaseSource;
  /** The validated connect policy. */
  readonly timeoutConnectMs: number;
  readonly retries: number;

  readonly #policy: ConnectPolicy;
  readonly #host: SessionHost;
  readonly #key: ((socket: net.Socket) => string | number | undefined) | undefined;
  readonly #live = new Set<Session>();
  readonly #listeners: net.Server[] = [];
  readonly #attached = new Set<net.Server>();
  readonly #onConnection = (socket: net.Socket): void => this.handle(socket);
  readonly #onServerDown: ((server: Server, cause: StateCause) => void) | undefined;
  readonly #onServerUp: ((server: Server, cause: StateCause) => void) | undefined;
  readonly #counters = new ProxyCounters();
  /** Interval of the inactivity sweep, ms; `Infinity` when no inactivity timeout is set. */
  readonly #sweepMs: number;
  #sweepTimer: TimerHandle | undefined;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  #deadline: TimerHandle | undefined;
  #stopped = false;

  constructor(balancer: LeaseSource, options: TcpProxyOptions = {}) {
    super();
    if (balancer === null || typeof balancer !== 'object' || typeof balancer.tryAcquire !== 'function' || typeof balancer.pool !== 'object') {
      throw invalidArg('balancer', 'must be a Balancer', balancer);
    }
    const o = v.plainObject('proxy options', options);
    v.knownKeys('proxy options', o, OPTION_KEYS);
    this.balancer = balancer;
    this.#policy = resolveConnectPolicy(o, balancer);
    this.timeoutConnectMs = this.#policy.timeoutConnectMs;
    this.retries = this.#policy.retries;
    const tunnel = o['timeoutTunnelMs'];
    const sendProxy = o['sendProxy'] ?? TCP_PROXY_DEFAULTS.sendProxy;
    if (sendProxy !== false && sendProxy !== 'v1' && sendProxy !== 'v2') throw invalidArg('sendProxy', "must be 'v1', 'v2' or false", sendProxy);
    const settings: SessionSettings = Object.freeze({
      timeoutClientMs: positiveDuration('timeoutClientMs', o['timeoutClientMs'] ?? TCP_PROXY_DEFAULTS.timeoutClientMs),
      timeoutServerMs: positiveDuration('timeoutServerMs', o['timeoutServerMs'] ?? TCP_PROXY_DEFAULTS.timeoutServerMs),
      timeoutTunnelMs: tunnel === undefined ? undefined : positiveDuration('timeoutTunnelMs', tunnel),
      sendProxy: sendProxy === false ? undefined : sendProxy,
      noDelay: v.boolean('noDelay', o['noDelay'] ?? TCP_PROXY_DEFAULTS.noDelay),
    });
    const shortest = Math.min(settings.timeoutClientMs, settings.timeoutServerMs, settings.timeoutTunnelMs ?? Infinity);
    this.#sweepMs = shortest === Infinity ? Infinity : Math.max(1, Math.min(shortest / 8, 500));
    const key = o['key'];
    if (key !== undefined && typeof key !== 'function') throw invalidArg('key', 'must be a function of the socket', key);
    this.#key = key as ((socket: net.Socket) => string | number | undefined) | undefined;
    const onMarkedDown = v.oneOf('onMarkedDown', o['onMarkedDown'] ?? TCP_PROXY_DEFAULTS.onMarkedDown, ['none', 'shutdown-sessions']);
    const onMarkedUp = v.oneOf('onMarkedUp', o['onMarkedUp'] ?? TCP_PROXY_DEFAULTS.onMarkedUp, ['none', 'shutdown-backup-sessions']);

    const buffers = new ReadBuffers();
    this.#host = {
      settings,
      buffers,
      onread: { buffer: buffers.take, callback: Session.onUpstreamRead },
      opened: (s) => this.#opened(s),
      retried: (s, server, outcome, redispatch, delayMs) => this.#retried(s, server, outcome, redispatch, delayMs),
      rejected: (s, error) => this.#rejected(s, error),
      closed: (s) => this.#closed(s),
    };
    if (onMarkedDown === 'shutdown-sessions') {
      this.#onServerDown = (server) => this.#killWhere((s) => (s.server ?? s.dialServer) === server, 'D');
      balancer.pool.on('server:down', this.#onServerDown);
    }
    if (onMarkedUp === 'shutdown-backup-sessions') {
      this.#onServerUp = (server) => {
        if (!server.backup && server.effectiveWeight > 0) this.#killWhere((s) => (s.server ?? s.dialServer)?.backup === true, 'U');
      };
      balancer.pool.on('server:up', this.#onServerUp);
    }
  }

  /** Live connections. */
  get connections(): number {
    return this.#live.size;
  }

  /** True once {@link TcpProxy.close} or {@link TcpProxy.destroy} was called. */
  get closing(): boolean {
    return this.#stopped;
  }

  /** The address of the first listener made by {@link TcpProxy.listen}, if any. */
  address(): net.AddressInfo | undefined {
    const a = this.#listeners[0]?.address();
    return a !== null && typeof a === 'object' ? a : undefined;
  }

  /**
   * Listens on a port of its own (HAProxy `bind`). Resolves with the bound address. May be called more than
   * once for several addresses.
   */
  listen(options: ProxyListenOptions = {}): Promise<net.AddressInfo> {
    try {
      if (this.#stopped) throw new LbError('ERR_LB_CLOSED', 'the proxy is closed');
      const o = v.plainObject('listen options', options);
      v.knownKeys('listen options', o, LISTEN_KEYS);
      const port = v.integerInRange('port', o['port'] ?? 0, 0, 65535);
      const host = o['host'] === undefined ? undefined : v.nonEmptyString('host', o['host']);
      const backlog = o['backlog'] === undefined ? undefined : v.positiveInteger('backlog', o['backlog']);
      const ipv6Only = v.boolean('ipv6Only', o['ipv6Only'] ?? false);
      const server = net.createServer({ allowHalfOpen: true });
      return new Promise<net.AddressInfo>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen({ port, host, backlog, ipv6Only }, () => {
          server.removeListener('error', onError);
          if (this.#stopped) {
            server.close();
            reject(new LbError('ERR_LB_CLOSED', 'the proxy was closed while it started listening'));
            return;
          }
          server.on('error', (err) => this.emit('listener:error', err, server));
          server.on('connection', this.#onConnection);
          this.#listeners.push(server);
          resolve(server.address() as net.AddressInfo);
        });
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Proxies every connection of a `net.Server` the application owns (its other `connection` listeners, if
   * any, still run: give the proxy a server of its own for the traffic it should take). `close()` detaches
   * without closing that server. Returns the proxy. A `tls.Server` is refused (`ERR_LB_INVALID_ARG`): to
   * proxy decrypted traffic, pass its `secureConnection` sockets to {@link TcpProxy.handle}.
   */
  attach(server: net.Server): this {
    if (!(server instanceof net.Server)) throw invalidArg('server', 'must be a net.Server', server);
    // Its `connection` sockets are the encrypted ones, which the TLS layer reads too: proxying them would hang.
    if (server instanceof tls.Server) throw invalidArg('server', "must be a plain net.Server: for a tls.Server, call proxy.handle(socket) on its 'secureConnection' event", server);
    if (this.#stopped) throw new LbError('ERR_LB_CLOSED', 'the proxy is closed');
    if (this.#attached.has(server)) return this;
    this.#attached.add(server);
    server.on('connection', this.#onConnection);
    return this;
  }

  /**
   * Proxies one connected socket from anywhere (a `cluster` worker, `listen({ handle })`, another module).
   * The proxy owns it from now on. After `close()` the socket is destroyed at once.
   */
  handle(socket: net.Socket): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    // A socket that is already gone will never emit `close` again: nothing to proxy, nothing to track.
    if (socket.destroyed) return;
    let key: string | number | undefined;
    let keyError: unknown;
    try {
      key = this.#key?.(socket);
    } catch (err) {
      keyError = err;
    }
    const session = new Session(this.#host, this.balancer, this.#policy, socket, key);
    this.#live.add(session);
    this.#counters.total++;
    if (this.#sweepTimer === undefined && this.#sweepMs !== Infinity) this.#scheduleSweep();
    if (keyError === undefined) session.startDial();
    else session.abort(new LbError('ERR_LB_INVALID_ARG', 'the key option threw for this connection', { cause: keyError, details: { field: 'key' } }));
  }

  /** Counters, including the bytes of live connections. */
  stats(): TcpProxyStats {
    return this.#counters.snapshot(this.#live);
  }

  /**
   * Stops accepting (closes its own listeners, detaches from attached servers) and resolves when every live
   * connection has finished. With `deadlineMs`, connections still open then are destroyed (`KD`).
   * Idempotent: returns the same promise.
   */
  close(options: ProxyCloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const o = v.plainObject('close options', options);
    v.knownKeys('close options', o, ['deadlineMs']);
    const deadlineMs = v.durationMs('deadlineMs', o['deadlineMs'] ?? Infinity, { allowInfinite: true });
    this.#stopAccepting();
    this.#closing = new Promise<void>((resolve) => (this.#drained = resolve));
    if (this.#live.size === 0) this.#finishClose();
    else if (deadlineMs !== Infinity) {
      this.#deadline = this.#policy.clock.setTimeout(() => this.#killWhere(() => true, 'K'), deadlineMs, { keepAlive: true });
    }
    return this.#closing;
  }

  /** Stops accepting and destroys every live connection now (`K?` terminations). */
  destroy(): void {
    this.#stopAccepting();
    this.#closing ??= new Promise<void>((resolve) => (this.#drained = resolve));
    this.#killWhere(() => true, 'K');
    if (this.#live.size === 0) this.#finishClose();
  }

  /** Same as {@link TcpProxy.close} without a deadline. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stopAccepting(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const server of this.#listeners) {
      server.removeListener('connection', this.#onConnection);
      server.close();
    }
    for (const server of this.#attached) server.removeListener('connection', this.#onConnection);
    this.#attached.clear();
  }

  #finishClose(): void {
    this.#deadline?.cancel();
    this.#deadline = undefined;
    this.#sweepTimer?.cancel();
    this.#sweepTimer = undefined;
    if (this.#onServerDown) this.balancer.pool.off('server:down', this.#onServerDown);
    if (this.#onServerUp) this.balancer.pool.off('server:up', this.#onServerUp);
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }

  #scheduleSweep(): void {
    this.#sweepTimer = this.#policy.clock.setTimeout(() => {
      this.#sweepTimer = undefined;
      const now = this.#policy.clock.now();
      for (const s of this.#live) s.checkTimeouts(now);
      if (this.#live.size > 0) this.#scheduleSweep();
    }, this.#sweepMs);
  }

  #killWhere(test: (s: Session) => boolean, cause: 'K' | 'D' | 'U'): void {
    for (const s of [...this.#live]) if (test(s)) s.kill(cause);
  }

  #opened(s: Session): void {
    this.#counters.opened(s.server!);
    this.emit('connection:open', s);
  }

  #retried(s: Session, server: Server, outcome: ConnectOutcome, redispatch: boolean, delayMs: number): void {
    this.#counters.retried(server, redispatch);
    if (this.listenerCount('connection:retry') > 0) this.emit('connection:retry', s, server, outcome, { redispatch, delayMs });
  }

  #rejected(s: Session, error: LbError): void {
    this.#counters.rejected(error, this.balancer.pool);
    this.emit('connection:reject', error, s);
  }

  #closed(s: Session): void {
    this.#live.delete(s);
    const code = s.termination!;
    this.#counters.closed(s, code);
    if (this.listenerCount('connection:close') > 0) {
      this.emit('connection:close', {
        clientAddress: s.clientAddress,
        clientPort: s.clientPort,
        server: s.server?.name,
        termination: code,
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        queuedMs: s.queuedMs,
        connectMs: s.server === undefined ? -1 : s.connectMs,
        durationMs: s.closedAt - s.acceptedAt,
        attempts: s.attempts,
        retries: s.retries,
        redispatches: s.redispatches,
        error: s.error,
      });
    }
    if (this.#stopped && this.#live.size === 0) this.#finishClose();
  }
}

function positiveDuration(field: string, value: unknown): number {
  return v.durationMs(field, value, { allowInfinite: true, allowZero: false });
}
