import { EventEmitter } from 'eventemitter3';
import type net from 'node:net';
import os from 'node:os';
import type { Balancer } from '../balancer.js';
import { LbError, type LbErrorCode, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { OutcomeSink } from '../outcome.js';
import type { ConnectionRecord, TcpProxyStats } from '../proxy/records.js';
import { TcpProxy } from '../proxy/tcp-proxy.js';
import {
  type ProxyCloseOptions,
  type ProxyListenOptions,
  TCP_PROXY_DEFAULTS,
  type TcpProxyOptions,
  resolveListenOptions,
  reusePortSupported,
} from '../proxy/tcp-proxy-options.js';
import type { Server } from '../server.js';
import { type WorkerListen, type WorkerToMain, placeOf } from './messages.js';
import { type LinkHost, WorkerLink } from './worker-link.js';

/** Options of {@link ProxyWorkers}: the proxy's options, less those that cannot cross to another thread. */
export interface ProxyWorkersOptions extends Omit<TcpProxyOptions, 'key' | 'clock' | 'retryBudget'> {
  /**
   * Worker threads that accept and relay connections, besides the main thread (see `acceptOnMainThread`).
   * @defaultValue one less than `os.availableParallelism()`, at least 1
   */
  readonly workers?: number;
  /**
   * The main thread accepts and relays connections too, on the same listeners, placing them with the balancer
   * directly (no message): N workers make N + 1 proxy threads, as HAProxy's `nbthread N + 1`. `false`: the
   * main thread only grants leases (and runs checks and the application). @defaultValue true
   */
  readonly acceptOnMainThread?: boolean;
}

/** Events of {@link ProxyWorkers}. */
export interface ProxyWorkersEvents {
  /**
   * A connection of a worker ended: its record, as `TcpProxy`'s (an `error` is rebuilt as an `LbError` with its
   * code). Forwarded only when a listener is attached before the first `listen()` (a message per connection).
   */
  'connection:close': [record: ConnectionRecord];
  /** A connection of a worker reached its server (name). Forwarded under the same condition. */
  'connection:open': [server: string];
  /** A worker thread failed (an uncaught error); its leases were given back. */
  'worker:error': [error: Error, worker: number];
}

/** Options a worker cannot take: functions and objects with methods do not cross threads. */
const MAIN_ONLY = ['key', 'clock', 'retryBudget'] as const;

/**
 * `TcpProxy` on several cores: N worker threads accept and relay connections on shared listeners, while the
 * main thread keeps the one {@link Balancer} (so one pool, one health checker, one queue): every connection's
 * lease is granted by that balancer, so a server never has more than `maxconn` sessions across all workers,
 * leastconn sees every worker's load, and roundrobin and the hashes keep one sequence (HAProxy with threads
 * takes a per-backend lock for the same reason). Connect outcomes go to the observer in the main thread;
 * `shutdown-sessions` reaches every worker. See docs/proxy.md, "Workers".
 *
 * @example
 * ```ts
 * const pool = new Pool('db', { servers: [{ name: 'db1', host: '10.0.0.1', port: 5432, maxconn: 100 }] })
 * const proxy = new ProxyWorkers(new Balancer(pool), { workers: 4, timeoutConnectMs: 2000, observer: new PassiveObserver(pool) })
 * await proxy.listen({ port: 6432, host: '0.0.0.0' })
 * // later
 * await proxy.close({ deadlineMs: 30_000 })
 * ```
 */
export class ProxyWorkers extends EventEmitter<ProxyWorkersEvents> {
  /** The balancer every worker's connections are placed by. */
  readonly balancer: Balancer;
  /** Number of worker threads. */
  readonly workers: number;
  /** Whether the main thread accepts and relays connections too. */
  readonly acceptOnMainThread: boolean;

  readonly #proxy: Record<string, unknown>;
  readonly #observer: OutcomeSink | undefined;
  readonly #onMarkedDown: 'none' | 'shutdown-sessions';
  readonly #onMarkedUp: 'none' | 'shutdown-backup-sessions';
  #links: WorkerLink[] | undefined;
  /** The main thread's own proxy (with `acceptOnMainThread`), on the same listeners and balancer. */
  readonly #local: TcpProxy | undefined;
  readonly #requests = new Map<number, (answer: Extract<WorkerToMain, { t: 'listening' }> | TcpProxyStats) => void>();
  #nextReq = 1;
  #address: net.AddressInfo | undefined;
  #closing: Promise<void> | undefined;
  #stopped = false;
  readonly #pending = new Set<WorkerLink>();
  readonly #unsubscribe: (() => void)[] = [];

  constructor(balancer: Balancer, options: ProxyWorkersOptions = {}) {
    super();
    const o = v.plainObject('proxy workers options', options);
    for (const k of MAIN_ONLY) {
      if (o[k] !== undefined) throw invalidArg(k, 'cannot be used with worker threads (it holds functions, which cannot cross threads)', o[k]);
    }
    const workers = v.integerInRange('workers', o['workers'] ?? Math.max(1, os.availableParallelism() - 1), 1, 256);
    const onMain = v.boolean('acceptOnMainThread', o['acceptOnMainThread'] ?? true);
    const proxy: Record<string, unknown> = { ...o };
    delete proxy['workers'];
    delete proxy['acceptOnMainThread'];
    // Validated as a TcpProxy in this thread would be, with the same messages; kept when the main thread serves.
    const local = new TcpProxy(balancer, proxy);
    if (onMain) this.#local = local;
    else local.destroy();
    this.balancer = balancer;
    this.workers = workers;
    this.acceptOnMainThread = onMain;
    this.#observer = proxy['observer'] as OutcomeSink | undefined;
    this.#onMarkedDown = (proxy['onMarkedDown'] ?? TCP_PROXY_DEFAULTS.onMarkedDown) as 'none' | 'shutdown-sessions';
    this.#onMarkedUp = (proxy['onMarkedUp'] ?? TCP_PROXY_DEFAULTS.onMarkedUp) as 'none' | 'shutdown-backup-sessions';
    delete proxy['observer'];
    delete proxy['onMarkedDown'];
    delete proxy['onMarkedUp'];
    this.#proxy = proxy;
  }

  /** The address of the first listener, once listening. */
  address(): net.AddressInfo | undefined {
    return this.#address;
  }

  /** True once {@link ProxyWorkers.close} or {@link ProxyWorkers.destroy} was called. */
  get closing(): boolean {
    return this.#stopped;
  }

  /**
   * Listens on an address in every proxy thread (HAProxy `bind`); starts the workers on the first call. On Node
   * 22.12+ each thread has a socket of its own on the port (SO_REUSEPORT, the kernel spreads connections); on
   * Node 20 the first thread's socket is polled by every thread (threads share the process's descriptors).
   */
  async listen(options: ProxyListenOptions = {}): Promise<net.AddressInfo> {
    if (this.#stopped) throw new LbError('ERR_LB_CLOSED', 'the proxy workers are closed');
    const lo = resolveListenOptions(options);
    const links = this.#start();
    const own = reusePortSupported();
    const base: WorkerListen = {
      host: lo.host,
      port: lo.port ?? 0,
      backlog: lo.backlog,
      ipv6Only: lo.ipv6Only,
      fd: undefined,
      reusePort: own,
    };
    let address: net.AddressInfo;
    let rest: WorkerListen;
    if (this.#local !== undefined) {
      address = await this.#local.listen({ ...options, ...(own ? { reusePort: true } : {}) });
      rest = own ? { ...base, port: address.port } : { ...base, fd: this.#local._lastListenerFd() };
      await Promise.all(links.map((l) => this.#listenOn(l, rest)));
    } else {
      const first = await this.#listenOn(links[0]!, base);
      address = first.address as net.AddressInfo;
      rest = own ? { ...base, port: address.port } : { ...base, fd: first.fd };
      await Promise.all(links.slice(1).map((l) => this.#listenOn(l, rest)));
    }
    this.#address ??= address;
    return address;
  }

  /** The proxy counters of every thread, added up (per server by name); after `close()`, those they finished with. */
  async stats(): Promise<TcpProxyStats> {
    return sumStats((await this.threadStats()).map((t) => t.stats));
  }

  /**
   * The proxy counters of each thread: the main thread's first (with `acceptOnMainThread`), then each worker's
   * by index. How evenly the kernel spreads the connections over the threads.
   */
  async threadStats(): Promise<{ readonly thread: 'main' | number; readonly stats: TcpProxyStats }[]> {
    const links = this.#links ?? [];
    const workers = await Promise.all(links.map(async (l) => ({
      thread: l.index,
      stats: l.finalStats !== undefined ? l.finalStats : await this.#ask<TcpProxyStats>(l, (req) => l.out.send({ t: 'stats', req })),
    })));
    return this.#local === undefined ? workers : [{ thread: 'main' as const, stats: this.#local.stats() }, ...workers];
  }

  /**
   * Stops accepting in every worker and resolves when every live connection has finished (with `deadlineMs`,
   * those still open then are destroyed, `KD`) and the workers have exited. Idempotent.
   */
  close(options: ProxyCloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const o = v.plainObject('close options', options);
    v.knownKeys('close options', o, ['deadlineMs']);
    const deadlineMs = v.durationMs('deadlineMs', o['deadlineMs'] ?? Infinity, { allowInfinite: true });
    return this.#stop((l) => l.out.send({ t: 'close', deadlineMs }), this.#local?.close({ deadlineMs }));
  }

  /** Stops accepting and destroys every live connection in every worker now; resolves when they have exited. */
  destroy(): Promise<void> {
    this.#local?.destroy();
    if (this.#closing && this.#stopped) {
      for (const l of this.#links ?? []) {
        l.out.send({ t: 'destroy' });
        l.out.flush();
      }
      return this.#closing;
    }
    return this.#stop((l) => l.out.send({ t: 'destroy' }), this.#local?.close());
  }

  /** Same as {@link ProxyWorkers.close} without a deadline. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stop(send: (l: WorkerLink) => void, local: Promise<void> | undefined): Promise<void> {
    this.#stopped = true;
    const links = this.#links ?? [];
    for (const l of links) {
      this.#pending.add(l);
      send(l);
      l.out.flush();
    }
    this.#closing = (async () => {
      await Promise.all([...links.map((l) => l.exited), local]);
      for (const off of this.#unsubscribe) off();
      this.#unsubscribe.length = 0;
    })();
    return this.#closing;
  }

  #start(): WorkerLink[] {
    if (this.#links !== undefined) return this.#links;
    const pool = this.balancer.pool;
    const host: LinkHost = {
      balancer: this.balancer,
      observer: this.#observer,
      listening: (req, m) => this.#answer(req, m),
      stats: (req, stats) => this.#answer(req, stats),
      record: (m) => {
        const error = m.e === undefined ? undefined : new LbError((m.e.code ?? 'ERR_LB_CONNECT_FAILED') as LbErrorCode, m.e.message, m.e.details === undefined ? {} : { details: m.e.details });
        this.emit('connection:close', error === undefined ? m.r : { ...m.r, error });
      },
      opened: (server) => this.emit('connection:open', server),
      closed: (link) => {
        // Drained: the thread can go. Its listeners are closed and it holds no lease any more.
        this.#pending.delete(link);
        void link.worker.terminate();
      },
      failed: (link, error) => {
        link.releaseAll();
        this.emit('worker:error', error, link.index);
      },
    };
    const data = {
      pool: pool.name,
      servers: pool.servers.map(placeOf),
      usesServerQueues: this.balancer.strategy.usesServerQueues === true,
      usesClientAddress: this.balancer.strategy.usesClientAddress !== false,
      proxy: this.#proxy,
      observe: this.#observer !== undefined,
      forward: { open: this.listenerCount('connection:open') > 0, close: this.listenerCount('connection:close') > 0 },
    };
    const links = (this.#links = Array.from({ length: this.workers }, (_, i) => new WorkerLink(i, data, host)));
    const local = this.#local;
    if (local !== undefined && data.forward.close) local.on('connection:close', (r) => this.emit('connection:close', r));
    if (local !== undefined && data.forward.open) local.on('connection:open', (c) => this.emit('connection:open', c.server!.name));
    const toAll = (m: Parameters<WorkerLink['out']['send']>[0]): void => {
      for (const l of links) l.out.send(m);
    };
    const onPlace = (server: Server): void => toAll({ t: 'server', server: placeOf(server) });
    const onRemoved = (server: Server): void => toAll({ t: 'remove', s: server.name });
    const onDown = (server: Server): void => {
      if ((server.onMarkedDown ?? this.#onMarkedDown) === 'shutdown-sessions') toAll({ t: 'kill', s: server.name, c: 'D' });
    };
    const onUp = (server: Server): void => {
      if ((server.onMarkedUp ?? this.#onMarkedUp) !== 'shutdown-backup-sessions' || server.backup || server.effectiveWeight <= 0) return;
      toAll({ t: 'kill', s: undefined, c: 'U' });
    };
    pool.on('server:lb', onPlace);
    pool.on('server:address', onPlace);
    pool.on('server:added', onPlace);
    pool.on('server:removed', onRemoved);
    pool.on('server:down', onDown);
    pool.on('server:up', onUp);
    this.#unsubscribe.push(() => {
      pool.off('server:lb', onPlace);
      pool.off('server:address', onPlace);
      pool.off('server:added', onPlace);
      pool.off('server:removed', onRemoved);
      pool.off('server:down', onDown);
      pool.off('server:up', onUp);
    });
    return links;
  }

  #ask<T>(link: WorkerLink, send: (req: number) => void): Promise<T> {
    const req = this.#nextReq++;
    return new Promise<T>((resolve, reject) => {
      const onExit = (): void => {
        if (this.#requests.delete(req)) reject(new LbError('ERR_LB_CLOSED', `proxy worker ${link.index} exited`));
      };
      void link.exited.then(onExit);
      this.#requests.set(req, (answer) => resolve(answer as T));
      send(req);
      link.out.flush();
    });
  }

  async #listenOn(link: WorkerLink, listen: WorkerListen): Promise<Extract<WorkerToMain, { t: 'listening' }>> {
    const m = await this.#ask<Extract<WorkerToMain, { t: 'listening' }>>(link, (req) => link.out.send({ t: 'listen', req, listen }));
    if (m.error !== undefined) {
      throw new LbError('ERR_LB_LISTEN', `proxy worker ${link.index} cannot listen on ${listen.host ?? '(every address)'}:${listen.port}: ${m.error.message}`, {
        details: { host: listen.host, port: listen.port, code: m.error.details?.['code'] ?? m.error.code },
      });
    }
    return m;
  }

  #answer(req: number, answer: Extract<WorkerToMain, { t: 'listening' }> | TcpProxyStats): void {
    const done = this.#requests.get(req);
    if (done === undefined) return;
    this.#requests.delete(req);
    done(answer);
  }
}

/** Adds up numbers key by key, recursively (the proxy counters of several workers). */
function sumStats(all: readonly TcpProxyStats[]): TcpProxyStats {
  const add = (into: Record<string, unknown>, from: Record<string, unknown>): void => {
    for (const [k, val] of Object.entries(from)) {
      if (typeof val === 'number') into[k] = ((into[k] as number | undefined) ?? 0) + val;
      else if (val !== null && typeof val === 'object') add((into[k] ??= {}) as Record<string, unknown>, val as Record<string, unknown>);
    }
  };
  const total: Record<string, unknown> = { current: 0, total: 0, bytesIn: 0, bytesOut: 0, connectErrors: 0, noServer: 0, retries: 0, redispatches: 0, terminations: {}, servers: {} };
  for (const s of all) add(total, s as unknown as Record<string, unknown>);
  return total as unknown as TcpProxyStats;
}
