import { EventEmitter } from 'eventemitter3';
import net from 'node:net';
import tls from 'node:tls';
import type { TimerHandle } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { ConnectOutcome } from '../outcome.js';
import { type ConnectPolicy, resolveConnectPolicy } from '../dial/connect-policy.js';
import type { LeaseSource } from '../lease.js';
import { ClientReader } from './client-read.js';
import { ReadBuffers } from './pipe.js';
import { loadRawHandles } from './raw-handles.js';
import type { ProxySocket, RelaySocket } from './relay-socket.js';
import { ProxyCounters } from './proxy-stats.js';
import type { TcpProxyEvents, TcpProxyStats } from './records.js';
import { Session, type SessionHost } from './session.js';
import { acceptHandles, listenerNoDelay } from './sockets.js';
import {
  type ProxyCloseOptions,
  type ProxyListenOptions,
  TCP_PROXY_DEFAULTS,
  TCP_PROXY_OPTION_KEYS,
  type TcpProxyOptions,
  resolveListenOptions,
  resolveSessionSettings,
} from './tcp-proxy-options.js';
import type { StateCause } from '../state/check-result.js';
import type { Server } from '../server.js';

export type {
  ConnectionRecord,
  LocalAddresses,
  ProxyConnection,
  ProxyServerStats,
  RetryPlan,
  TcpProxyEvents,
  TcpProxyStats,
} from './records.js';
export type { ProxySocket } from './relay-socket.js';
export { TCP_PROXY_DEFAULTS } from './tcp-proxy-options.js';
export type { ProxyCloseOptions, ProxyListenOptions, TcpProxyOptions } from './tcp-proxy-options.js';

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
  readonly #key: ((socket: ProxySocket) => string | number | undefined) | undefined;
  readonly #live = new Set<Session>();
  readonly #listeners: net.Server[] = [];
  readonly #attached = new Set<net.Server>();
  readonly #onConnection = (socket: net.Socket): void => this.handle(socket);
  /** For listeners whose accepted sockets inherit TCP_NODELAY from the listening socket (Linux). */
  readonly #onNoDelayConnection = (socket: net.Socket): void => this.#accept(socket, true);
  readonly #onServerDown: (server: Server, cause: StateCause) => void;
  readonly #onServerUp: (server: Server, cause: StateCause) => void;
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
    if (balancer === null || typeof balancer !== 'object' || typeof balancer.tryAcquireChecked !== 'function' || typeof balancer.pool !== 'object') {
      throw invalidArg('balancer', 'must be a Balancer', balancer);
    }
    const o = v.plainObject('proxy options', options);
    v.knownKeys('proxy options', o, TCP_PROXY_OPTION_KEYS);
    this.balancer = balancer;
    this.#policy = resolveConnectPolicy(o, balancer);
    this.timeoutConnectMs = this.#policy.timeoutConnectMs;
    this.retries = this.#policy.retries;
    const settings = resolveSessionSettings(o);
    const shortest = Math.min(settings.timeoutClientMs, settings.timeoutServerMs, settings.timeoutTunnelMs ?? Infinity);
    this.#sweepMs = shortest === Infinity ? Infinity : Math.max(1, Math.min(shortest / 8, 500));
    const key = o['key'];
    if (key !== undefined && typeof key !== 'function') throw invalidArg('key', 'must be a function of the socket', key);
    this.#key = key as ((socket: ProxySocket) => string | number | undefined) | undefined;
    const onMarkedDown = v.oneOf('onMarkedDown', o['onMarkedDown'] ?? TCP_PROXY_DEFAULTS.onMarkedDown, ['none', 'shutdown-sessions']);
    const onMarkedUp = v.oneOf('onMarkedUp', o['onMarkedUp'] ?? TCP_PROXY_DEFAULTS.onMarkedUp, ['none', 'shutdown-backup-sessions']);

    const buffers = new ReadBuffers();
    this.#host = {
      settings,
      buffers,
      onread: { buffer: buffers.take, callback: Session.onUpstreamRead },
      // Client reads are copied out at once: they can share the buffer that upstream reads start on.
      clientReader: ClientReader.create(buffers.shared, Session.onClientRead),
      raw: settings.relay === 'handles' ? loadRawHandles() : undefined,
      opened: (s) => this.#opened(s),
      retried: (s, server, outcome, redispatch, delayMs) => this.#retried(s, server, outcome, redispatch, delayMs),
      reassigned: (previous, moved) => this.#counters.reassigned(previous, moved),
      rejected: (s, error) => this.#rejected(s, error),
      closed: (s) => this.#closed(s),
    };
    // The action is the setting of the server changing state, its own or else the proxy's (HAProxy reads the
    // server's `onmarkeddown`/`onmarkedup`), so servers added later with their own setting are covered too.
    this.#onServerDown = (server) => {
      if ((server.onMarkedDown ?? onMarkedDown) === 'shutdown-sessions') this.#killWhere((s) => (s.server ?? s.dialServer) === server, 'D');
    };
    this.#onServerUp = (server) => {
      if ((server.onMarkedUp ?? onMarkedUp) !== 'shutdown-backup-sessions' || server.backup || server.effectiveWeight <= 0) return;
      this.#killWhere((s) => (s.server ?? s.dialServer)?.backup === true, 'U');
    };
    balancer.pool.on('server:down', this.#onServerDown);
    balancer.pool.on('server:up', this.#onServerUp);
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
      const listenOptions = resolveListenOptions(options);
      const server = net.createServer({ allowHalfOpen: true });
      return new Promise<net.AddressInfo>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, listenOptions));
        server.once('error', onError);
        server.listen(listenOptions, () => {
          server.removeListener('error', onError);
          if (this.#stopped) {
            server.close();
            reject(new LbError('ERR_LB_CLOSED', 'the proxy was closed while it started listening'));
            return;
          }
          server.on('error', (err) => this.emit('listener:error', err, server));
          if (!this._acceptHandles(server)) server.on('connection', this.#host.settings.noDelay && listenerNoDelay(server) ? this.#onNoDelayConnection : this.#onConnection);
          this.#listeners.push(server);
          resolve(server.address() as net.AddressInfo);
        });
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @internal The descriptor of the last listening socket made by {@link TcpProxy.listen} (`ProxyWorkers` on Node 20). */
  _lastListenerFd(): number | undefined {
    const fd = (this.#listeners.at(-1) as unknown as { _handle?: { fd?: number } } | undefined)?._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : undefined;
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
    this.#accept(socket, false);
  }

  /**
   * @internal Takes the TCP connections `server` (listening) accepts as Node's TCP handles, without a `net.Socket`
   * each (`relay: 'handles'`): `listen()`'s listeners, and `switchyard -f`'s when nothing else reads their
   * `connection` event. False, changing nothing, where that cannot be done: the caller uses `connection`.
   */
  _acceptHandles(server: net.Server): boolean {
    if (this.#host.raw === undefined) return false;
    const noDelay = this.#host.settings.noDelay && listenerNoDelay(server);
    return acceptHandles(server, this.#host.raw, (socket) => this.#accept(socket, noDelay));
  }

  /** `noDelayInherited`: the socket has TCP_NODELAY from its listener already. */
  #accept(socket: RelaySocket, noDelayInherited: boolean): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    // A socket that is already gone will never emit `close` again: nothing to proxy, nothing to track.
    if (socket.destroyed) return;
    let key: string | number | undefined;
    let keyError: LbError | undefined;
    if (this.#key !== undefined) {
      // The affinity key enters here, from the application's function: checked once, not again by the balancer.
      let value: unknown;
      try {
        value = this.#key(socket);
      } catch (err) {
        keyError = new LbError('ERR_LB_INVALID_ARG', 'the key option threw for this connection', { cause: err, details: { field: 'key' } });
      }
      if (keyError === undefined) {
        if (v.isAffinityKey(value)) key = value;
        else keyError = invalidArg('key', 'option must return a string, a finite number or undefined', value);
      }
    }
    // The address is looked up now only for a strategy that reads it or a record made after the socket closes.
    const addressNow = this.balancer.strategy.usesClientAddress !== false || this.listenerCount('connection:close') > 0;
    const session = new Session(this.#host, this.balancer, this.#policy, socket, key, addressNow, noDelayInherited);
    this.#live.add(session);
    this.#counters.total++;
    if (this.#sweepTimer === undefined && this.#sweepMs !== Infinity) this.#scheduleSweep();
    if (keyError === undefined) session.startDial();
    else session.abort(keyError);
  }

  /**
   * @internal Kills the live connections on the named server (`D`, shutdown-sessions) or, without a name, on
   * every backup server (`U`, shutdown-backup-sessions): how `ProxyWorkers` carries out in a worker what the
   * main thread's pool decided.
   */
  _shutdownSessions(serverName: string | undefined, cause: 'D' | 'U'): void {
    this.#killWhere((s) => {
      const server = s.server ?? s.dialServer;
      return serverName === undefined ? server?.backup === true : server?.name === serverName;
    }, cause);
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
      server.removeListener('connection', this.#onNoDelayConnection);
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
    this.balancer.pool.off('server:down', this.#onServerDown);
    this.balancer.pool.off('server:up', this.#onServerUp);
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
        assignedMs: s.assignedMs,
        serverQueuePosition: s.serverQueuePosition,
        balancerQueuePosition: s.balancerQueuePosition,
        connectMs: s.server === undefined ? -1 : s.connectMs,
        durationMs: s.closedAt - s.acceptedAt,
        attempts: s.attempts,
        retries: s.retries,
        redispatches: s.redispatches,
        error: s.error,
        ...(s.localAddresses === undefined ? {} : { localAddresses: s.localAddresses }),
      }, s);
    }
    if (this.#stopped && this.#live.size === 0) this.#finishClose();
  }
}

/** `proxy.listen()`'s failure as an `ERR_LB_LISTEN` naming the address and the system's reason. */
function listenError(err: NodeJS.ErrnoException, options: net.ListenOptions): LbError {
  const host = options.host ?? '(every address)';
  const port = options.port ?? 0;
  const why = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'the address is not local' : err.message;
  return new LbError('ERR_LB_LISTEN', `cannot listen on ${host}:${port}: ${why} (${err.code ?? 'error'})`, {
    cause: err,
    details: { host: options.host, port: options.port, code: err.code },
  });
}
