/**
 * The handle {@link buildFromHaproxyConfig} returns: every object of the configuration by section name, and
 * their shared lifecycle (start listening and checking, graceful close, abrupt destroy). The log wiring
 * (HAProxy's state-change lines and `tcplog` lines to the configured targets) lives here too.
 */
import http from 'node:http';
import net from 'node:net';
import type { Clock } from '../../clock.js';
import { LbError } from '../../errors.js';
import * as v from '../../internal/validate.js';
import {
  type BackendSection, type FrontendSection, type StatsSection, backendSections, proxiesInOrder, statsSections, targetBackendName,
} from '../config/library-options.js';
import type { HaproxyConfig, LogLevel } from '../config/types.js';
import { formatConnectFrom, formatConnectToUnix } from '../log/tcplog.js';
import { listenInWorkers, listenTargets, openListener, serveStatsPage } from './listeners.js';
import { followStateLines, followTrafficLines, syslogHostname } from './instance-logs.js';
import { loadServerStateFiles } from './server-state-file.js';
import type { HaproxyBackend, HaproxyCloseOptions, HaproxyFrontend } from './instance-types.js';
import { buildBackendObjects } from './backend-objects.js';
import { frontendProxies } from './frontend-proxies.js';

export type { HaproxyBackend, HaproxyCloseOptions, HaproxyFrontend } from './instance-types.js';
import { LogOutput, type LogTargets, proxyLogTargets } from '../log/output.js';

/** @internal What the instance needs of the runtime API it opens on start (HAProxy's `stats socket` lines). */
export interface StatsApi {
  readonly addresses: readonly (string | net.AddressInfo)[];
  start(): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

/** @internal Makes the runtime API of an instance; given by `buildFromHaproxyConfig`, which sits above both. */
export type StatsApiFactory = (
  instance: HaproxyInstance,
  sockets: HaproxyConfig['global']['statsSockets'],
  options: { readonly clock: Clock; readonly idleTimeoutMs: number },
) => StatsApi;

/** @internal Settled options of the builder. */
export interface InstanceSettings {
  readonly clock: Clock;
  readonly date: () => Date;
  readonly stderr: (text: string) => void;
  readonly stdout: (text: string) => void;
  readonly pid: number;
  readonly warnings: boolean;
  readonly statsSockets: boolean;
  readonly logTag: string;
  readonly version: string;
  readonly random: () => number;
  readonly onAccept: ((frontend: HaproxyFrontend, socket: net.Socket) => void) | undefined;
  readonly statsApi: StatsApiFactory;
  readonly statsPage: ((section: StatsSection, instance: HaproxyInstance) => http.RequestListener) | undefined;
}

interface MutableFrontend extends HaproxyFrontend {
  addresses: (net.AddressInfo | string)[];
}

/**
 * A running (or ready to run) configuration: the pools, balancers, checkers, observers and proxies by section
 * name, started and stopped together. Created by {@link buildFromHaproxyConfig}.
 */
export class HaproxyInstance {
  /** The configuration it was built from. */
  readonly config: HaproxyConfig;
  /** Backends and listen sections, by name, in declaration order. */
  readonly backends: ReadonlyMap<string, HaproxyBackend>;
  /** Frontends and listen sections, by name, in declaration order (not the ones that serve the stats page). */
  readonly frontends: ReadonlyMap<string, HaproxyFrontend>;
  /** The sections that serve the stats page (`mode http` + `stats …`); served on start when the builder has `statsPage`. */
  readonly statsSections: readonly StatsSection[];
  /** Process id shown in messages. */
  readonly pid: number;
  /** Version shown by `show info`. */
  readonly version: string;
  /** Clock time at which {@link HaproxyInstance.start} was called (`show info` uptime). */
  startedAtMs = 0;
  /** Wall-clock time of the start (`Start_time_sec`). */
  startedAt: Date | undefined;

  readonly #s: InstanceSettings;
  readonly #log: LogOutput;
  readonly #listeners: net.Server[] = [];
  readonly #pages: http.Server[] = [];
  readonly #pageAddresses: { readonly section: string; readonly address: net.AddressInfo }[] = [];
  readonly #unfollow: (() => void)[] = [];
  /** Accepted unix-socket clients and the id of the listener that accepted them (their tcplog name, `unix:<id>`). */
  readonly #unixClients = new WeakMap<object, number>();
  #api: StatsApi | undefined;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #stopping = false;
  #stateLoaded = false;

  /** @internal Use {@link buildFromHaproxyConfig}. */
  constructor(config: HaproxyConfig, settings: InstanceSettings) {
    this.config = config;
    this.#s = settings;
    this.pid = settings.pid;
    this.version = settings.version;
    this.#log = new LogOutput({
      stderr: settings.stderr,
      stdout: settings.stdout,
      pid: settings.pid,
      warnings: settings.warnings,
      date: settings.date,
      tag: settings.logTag,
      ...syslogHostname(config.global),
    });
    const order = proxiesInOrder(config);
    const uuids = new Map(order.map((p, i) => [p, i + 2]));
    const backends = new Map<string, HaproxyBackend>();
    for (const section of backendSections(config).values()) {
      backends.set(section.name, this.#buildBackend(section, uuids.get(section) ?? 0));
    }
    const frontends = new Map<string, HaproxyFrontend>();
    for (const p of order) {
      if (p.kind === 'backend' || p.mode === 'http' || frontends.has(p.name)) continue;
      const targetName = targetBackendName(p);
      const backend = targetName === undefined ? undefined : backends.get(targetName);
      frontends.set(p.name, this.#buildFrontend(p, backend, uuids.get(p) ?? 0));
    }
    this.backends = backends;
    this.frontends = frontends;
    this.statsSections = statsSections(config);
  }

  /** The backend (or listen) section called `name`; throws `ERR_LB_INVALID_ARG` if there is none. */
  backend(name: string): HaproxyBackend {
    const b = this.backends.get(name);
    if (b === undefined) throw new LbError('ERR_LB_INVALID_ARG', `the configuration has no backend or listen section named ${JSON.stringify(name)}`);
    return b;
  }

  /** The frontend (or listen) section called `name`; throws `ERR_LB_INVALID_ARG` if there is none. */
  frontend(name: string): HaproxyFrontend {
    const f = this.frontends.get(name);
    if (f === undefined) throw new LbError('ERR_LB_INVALID_ARG', `the configuration has no frontend or listen section named ${JSON.stringify(name)}`);
    return f;
  }

  /** True once {@link HaproxyInstance.close}, {@link HaproxyInstance.softStop} or {@link HaproxyInstance.destroy} was called. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Live client connections over every frontend. */
  get connections(): number {
    let n = 0;
    for (const f of this.frontends.values()) n += f.proxy.connections;
    return n;
  }

  /** Live client connections of the frontends feeding `backend` (HAProxy's `beconn`); without backend, `frontend`'s own. */
  backendSessions(backend: HaproxyBackend | undefined, frontend?: HaproxyFrontend): number {
    if (backend === undefined) return frontend?.proxy.connections ?? 0;
    let n = 0;
    for (const f of this.frontends.values()) if (f.backend === backend) n += f.proxy.connections;
    return n;
  }

  /** Where the stats pages listen on TCP, once started: the section's name and the address. */
  get statsPageAddresses(): readonly { readonly section: string; readonly address: net.AddressInfo }[] {
    return this.#pageAddresses;
  }

  /** The address of the runtime API listeners, once started. */
  get statsAddresses(): readonly (string | net.AddressInfo)[] {
    return this.#api?.addresses ?? [];
  }

  /** Listening sockets open now: every `bind` address (a port of a range each), stats page and stats socket (`show info` `Listeners`). */
  get listenerCount(): number {
    return this.#listeners.length + this.#pages.length + this.statsAddresses.length;
  }

  /**
   * Starts everything: listens on every `bind` address, opens the `stats socket`s, starts the health checks.
   * Rejects (after undoing what was started) when a listener cannot be opened, with HAProxy 2.6's alert, e.g.
   * `Binding [haproxy.cfg:9] for frontend web: cannot bind socket (Address already in use) for [127.0.0.1:8080]`.
   * Idempotent.
   */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    if (this.#stopping) throw new LbError('ERR_LB_CLOSED', 'the configuration was closed');
    this.startedAtMs = this.#s.clock.now();
    this.startedAt = this.#s.date();
    await this._loadServerState();
    try {
      for (const f of this.frontends.values()) await this.#listen(f as MutableFrontend);
      const page = this.#s.statsPage;
      if (page !== undefined) {
        for (const section of this.statsSections) {
          await serveStatsPage(section, page(section, this), (server, address) => {
            this.#pages.push(server);
            if (address !== undefined) this.#pageAddresses.push({ section: section.name, address });
          });
        }
      }
      if (this.#s.statsSockets && this.config.global.statsSockets.length > 0) {
        this.#api = this.#s.statsApi(this, this.config.global.statsSockets, { clock: this.#s.clock, idleTimeoutMs: this.config.global.statsTimeoutMs });
        await this.#api.start();
      }
    } catch (err) {
      this.destroy();
      throw err;
    }
    for (const b of this.backends.values()) {
      b.checker.start();
      b.agent?.start();
    }
  }

  async #listen(f: MutableFrontend): Promise<void> {
    const targets = proxyLogTargets(f.config, this.config.global);
    const connectLine = f.config.logFormat === undefined && targets.length > 0;
    const proxyType = f.kind === 'listen' ? 'proxy' : 'frontend';
    // HAProxy numbers a proxy's listeners from 1 in declaration order (`luid`): a unix-socket client is named by it.
    let luid = 0;
    for (const bind of f.config.binds) {
      for (const target of listenTargets(bind)) {
        const id = ++luid;
        if (f.workers !== undefined && target.address.kind === 'tcp') {
          // nbthread > 1: the frontend's worker threads listen (they share the socket), the main thread does not.
          f.addresses.push(await listenInWorkers(f.workers, target.address, { at: bind.source, proxyType, proxyName: f.name }));
          continue;
        }
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false });
        server.on('connection', (socket) => {
          const unix = socket.remoteAddress === undefined;
          if (unix) this.#unixClients.set(socket, id);
          if (connectLine) {
            const line = unix ? formatConnectToUnix(id, f.name)
              : formatConnectFrom({ address: socket.remoteAddress, port: socket.remotePort }, { address: socket.localAddress, port: socket.localPort }, f.name);
            this.#log.send(targets, 'info', line);
          }
          this.#s.onAccept?.(f, socket);
          f.proxy.handle(socket);
        });
        server.on('error', () => {});
        await openListener(server, target, { at: bind.source, proxyType, proxyName: f.name });
        // Without a `Connect from` line or a `-d` trace to write, a TCP bind's connections go to the proxy as handles.
        if (!connectLine && this.#s.onAccept === undefined) f.proxy._acceptHandles(server);
        this.#listeners.push(server);
        const address = server.address();
        if (address !== null) f.addresses.push(address);
      }
    }
  }

  /**
   * HAProxy's soft stop (`SIGUSR1`): stop listening (frontends and runtime API) and finish the live connections,
   * then release everything. Same as `close()` without a deadline.
   */
  softStop(): Promise<void> {
    return this.close();
  }

  /**
   * Stops accepting connections and runtime API commands, waits for the live connections to finish (or destroys
   * them after `deadlineMs`), then stops the checks and releases every object. Idempotent: returns the same promise.
   */
  close(options: HaproxyCloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const o = v.plainObject('close options', options);
    v.knownKeys('close options', o, ['deadlineMs']);
    const deadlineMs = v.durationMs('deadlineMs', o['deadlineMs'] ?? Infinity, { allowInfinite: true });
    this.#stopping = true;
    this.#closing = this.#close(deadlineMs);
    return this.#closing;
  }

  async #close(deadlineMs: number): Promise<void> {
    await this.#started?.catch(() => {});
    this.#stopListening();
    const api = this.#api?.close();
    const deadline = deadlineMs === Infinity ? {} : { deadlineMs };
    await Promise.all([...this.frontends.values()].map((f) => Promise.all([f.proxy.close(deadline), f.workers?.close(deadline)])));
    await api;
    await this.#release();
  }

  /** Closes everything now: listeners, runtime API, live connections (`KD`), checks. */
  destroy(): void {
    this.#stopping = true;
    this.#stopListening();
    for (const page of this.#pages.splice(0)) page.closeAllConnections();
    this.#api?.destroy();
    for (const f of this.frontends.values()) {
      f.proxy.destroy();
      void f.workers?.destroy();
    }
    this.#closing ??= this.#release();
  }

  /**
   * @internal Loads the saved server states (`load-server-state-from-file`), once: `start()` does it before it
   * listens, `switchyard -c` too (`haproxy -c` loads them). Its lines are `config :` warnings, on stderr only.
   */
  async _loadServerState(): Promise<void> {
    if (this.#stateLoaded) return;
    this.#stateLoaded = true;
    for (const stop of this.#unfollow.splice(0)) stop();
    const previous = this.#log.context;
    this.#log.context = 'config : ';
    try {
      await loadServerStateFiles([...this.backends.values()], this.config.global, (m) => this.#log.warning(m));
    } finally {
      this.#log.context = previous;
      if (!this.#stopping) for (const b of this.backends.values()) this.#unfollow.push(followStateLines(b, this.#log, this.config.global));
    }
  }

  /** @internal Runs a command of an interactive runtime API session: its `[WARNING]` messages say `CLI : ` first, as HAProxy's do. */
  _inCliContext<T>(run: () => T): T {
    const previous = this.#log.context;
    this.#log.context = 'CLI : ';
    try {
      return run();
    } finally {
      this.#log.context = previous;
    }
  }

  /** @internal `[NOTICE]   (<pid>) : <message>` on stderr (runtime API notices). */
  _notice(message: string): void {
    this.#log.notice(message);
  }

  /** @internal `[ALERT]    (<pid>) : <message>` on stderr (runtime API alerts). */
  _alert(message: string): void {
    this.#log.alert(message);
  }

  /**
   * @internal A process message about a proxy: the `[WARNING]` copy on stderr (unless `stderr` is false) and the
   * line to the proxy's log targets at `level` (none when `proxyName` is undefined).
   */
  _warnAndLog(proxyName: string | undefined, message: string, options: { readonly level?: LogLevel; readonly stderr?: boolean } = {}): void {
    if (options.stderr ?? true) this.#log.warning(message);
    if (proxyName === undefined) return;
    const section = this.frontends.get(proxyName)?.config ?? this.backends.get(proxyName)?.config;
    if (section !== undefined) this.#log.send(proxyLogTargets(section, this.config.global), options.level ?? 'warning', message);
  }

  /** Same as {@link HaproxyInstance.close} without a deadline. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stopListening(): void {
    for (const server of this.#listeners.splice(0)) server.close();
    for (const page of this.#pages) {
      page.close();
      page.closeIdleConnections();
    }
  }

  async #release(): Promise<void> {
    for (const stop of this.#unfollow.splice(0)) stop();
    await Promise.all([...this.backends.values()].map(async (b) => {
      await Promise.all([b.checker.close(), b.agent?.close()]);
      await b.observer?.close();
      b.balancer.destroy();
      b.dispatch?.balancer.destroy();
    }));
    await this.#log.close();
  }

  #buildBackend(section: BackendSection, uuid: number): HaproxyBackend {
    const backend = buildBackendObjects(section, uuid, this.config.global, this.#s);
    this.#unfollow.push(followStateLines(backend, this.#log, this.config.global));
    return backend;
  }

  #buildFrontend(section: FrontendSection, backend: HaproxyBackend | undefined, uuid: number): HaproxyFrontend {
    const { proxy, workers } = frontendProxies(section, backend, this.config.global.nbthread, this.#s.clock);
    const frontend: MutableFrontend = { name: section.name, kind: section.kind, uuid, config: section, backend, proxy, workers, addresses: [] };
    followTrafficLines(frontend, this.#log, proxyLogTargets(section, this.config.global), {
      date: this.#s.date,
      pid: this.pid,
      processConnections: () => this.connections,
      backendSessions: () => this.backendSessions(backend, frontend),
      unixListener: (socket) => this.#unixClients.get(socket),
    });
    return frontend;
  }
}

export type { LogTargets };

