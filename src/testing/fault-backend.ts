import { EventEmitter } from 'eventemitter3';
import { once } from 'node:events';
import net from 'node:net';
import { type Clock, systemClock } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { BackendListener, listenerMode } from './backend-listener.js';
import { type Behaviour, type BehaviourSpec, resolveBehaviour, runFault } from './behaviour.js';
import { type FlapOptions, type Flapping, resolveFlapOptions, startFlapping } from './flap.js';

export type { FlapOptions, Flapping } from './flap.js';

/** Options of {@link faultBackend}. */
export interface FaultBackendOptions {
  /** Address to listen on. Loopback, so a test exposes nothing. @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** Port to listen on; the backend keeps it across `refuse`/`blackhole` and back. @defaultValue 0 (any free port) */
  readonly port?: number;
  /** What it does at first. @defaultValue 'serve' */
  readonly behaviour?: BehaviourSpec;
  /**
   * The healthy behaviour (`serve`): called with each accepted socket, already flowing. Sockets allow half-open.
   * @defaultValue an echo server that ends its side when the peer ends its own
   */
  readonly handler?: (socket: net.Socket) => void;
  /** Clock of the `slow` behaviour and of {@link FaultBackend.flap}; pass a `ManualClock` to drive them. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Events of a {@link FaultBackend}. */
export interface FaultBackendEvents {
  /** A new behaviour is in effect (the listener, if any, is ready). */
  'behaviour:change': [behaviour: Behaviour];
  /** A connection was accepted (before its behaviour runs). */
  'connection': [socket: net.Socket];
}

const OPTION_KEYS = ['host', 'port', 'behaviour', 'handler', 'clock'] as const;

function echo(socket: net.Socket): void {
  socket.pipe(socket);
}

/**
 * Starts a {@link FaultBackend}: a loopback TCP server that misbehaves on command.
 *
 * @example
 * ```ts
 * await using db = await faultBackend()               // an echo server on 127.0.0.1, any port
 * await db.set({ kind: 'close-after', bytes: 10 })    // new connections get 10 bytes, then a FIN
 * await db.kill()                                     // resets every connection, refuses new ones
 * await db.set('serve')                               // back, on the same port
 * ```
 */
export async function faultBackend(options: FaultBackendOptions = {}): Promise<FaultBackend> {
  const backend = new FaultBackend(options);
  await backend.ready;
  return backend;
}

/**
 * A loopback TCP server for failover tests: healthy (`serve`, an echo server unless given a handler) or
 * misbehaving in one of the ways a real backend does (see {@link Behaviour}): refusing, dropping SYNs,
 * accepting and hanging, resetting, closing early, greeting first, answering slowly, not reading. The
 * behaviour can change at any time and keeps the port, so a balancer pointing at it sees one server going
 * down and coming back. Each accepted connection keeps the behaviour in force when it was accepted.
 *
 * Make one with {@link faultBackend}. It owns every socket it accepted: `close()` ends them all and leaves no
 * handle behind.
 */
export class FaultBackend extends EventEmitter<FaultBackendEvents> {
  /** The address it listens on. */
  readonly host: string;
  /** Resolves once the first behaviour is in effect ({@link faultBackend} waits for it). */
  readonly ready: Promise<void>;
  readonly #handler: (socket: net.Socket) => void;
  readonly #clock: Clock;
  readonly #sockets = new Map<net.Socket, () => void>();
  #behaviour: Behaviour;
  readonly #listener: BackendListener;
  /** Transitions run one at a time, in call order. */
  #queue: Promise<void>;
  readonly #flapping = new Set<Flapping>();
  #accepted = 0;
  #bytesReceived = 0;
  #bytesSent = 0;
  #closing: Promise<void> | undefined;
  /** Set by close(): no transition starts after it. */
  #stopped = false;

  /** Use {@link faultBackend}, which also waits until it listens. */
  constructor(options: FaultBackendOptions = {}) {
    super();
    const o = v.plainObject('fault backend options', options);
    v.knownKeys('fault backend options', o, OPTION_KEYS);
    this.host = v.nonEmptyString('host', o['host'] ?? '127.0.0.1');
    if (net.isIP(this.host) === 0) throw invalidArg('host', 'must be an IP address', this.host);
    const port = v.integerInRange('port', o['port'] ?? 0, 0, 65535);
    const handler = o['handler'] ?? echo;
    if (typeof handler !== 'function') throw invalidArg('handler', 'must be a function of the socket', handler);
    this.#handler = handler as (socket: net.Socket) => void;
    const clock = o['clock'] ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof (clock as Clock).now !== 'function' || typeof (clock as Clock).setTimeout !== 'function') {
      throw invalidArg('clock', 'must be a Clock', clock);
    }
    this.#clock = clock as Clock;
    const first = resolveBehaviour(o['behaviour'] ?? 'serve');
    this.#behaviour = first;
    const listener = (this.#listener = new BackendListener(this.host, port, (socket) => this.#accept(socket)));
    this.#queue = this.ready = (async () => {
      // Listening first gives the backend its port, whatever it is told to do.
      await listener.start(listenerMode(first));
      this.emit('behaviour:change', first);
    })();
    // A failed start is reported by `ready`; the queue goes on for close().
    this.#queue = this.#queue.catch(() => {});
  }

  /** The port it listens on (kept across every behaviour). */
  get port(): number {
    return this.#listener.port;
  }

  /** `{ host, port }`, e.g. for a server's options. */
  get address(): { readonly host: string; readonly port: number } {
    return { host: this.host, port: this.#listener.port };
  }

  /** The behaviour in effect for new connections. */
  get behaviour(): Behaviour {
    return this.#behaviour;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Connections accepted since the start. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Bytes read from every connection, closed or open. */
  get bytesReceived(): number {
    let n = this.#bytesReceived;
    for (const s of this.#sockets.keys()) n += s.bytesRead;
    return n;
  }

  /** Bytes written to every connection, closed or open (including bytes still queued). */
  get bytesSent(): number {
    let n = this.#bytesSent;
    for (const s of this.#sockets.keys()) n += s.bytesWritten;
    return n;
  }

  /**
   * Changes the behaviour for new connections; open connections keep theirs. Resolves when it is in effect
   * (e.g. the port refuses). Calls are applied in order.
   */
  set(behaviour: BehaviourSpec): Promise<void> {
    let next: Behaviour;
    try {
      if (this.#stopped) throw new LbError('ERR_LB_CLOSED', 'the fault backend is closed');
      next = resolveBehaviour(behaviour);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueue(async () => {
      if (this.#stopped) return;
      await this.#listener.switchTo(listenerMode(next));
      this.#behaviour = next;
      this.emit('behaviour:change', next);
    });
  }

  /**
   * What a crashed process looks like: resets every open connection and takes `behaviour` (`refuse` unless
   * told otherwise, e.g. `blackhole` for a host that vanished).
   */
  kill(behaviour: BehaviourSpec = 'refuse'): Promise<void> {
    const done = this.set(behaviour);
    // Reset after the listener has gone, so no connection accepted in between survives.
    return done.then(() => this.resetConnections());
  }

  /** Resets (RST) every open connection. */
  resetConnections(): void {
    for (const s of [...this.#sockets.keys()]) s.resetAndDestroy();
  }

  /** Closes every open connection gracefully (FIN after what is queued). */
  endConnections(): void {
    for (const s of this.#sockets.keys()) s.end();
  }

  /**
   * Stops every open connection dead: nothing more is read from it or written to it, and it stays open (a host
   * that vanished mid-transfer, with `set('blackhole')` for new connections).
   */
  freezeConnections(): void {
    for (const s of this.#sockets.keys()) {
      s.pause();
      s.cork();
      // Handlers resume on 'drain' (pipe() does): a frozen socket stays paused.
      s.resume = () => s;
    }
  }

  /** Resolves when every transition asked so far is in effect. */
  settled(): Promise<void> {
    return this.#queue;
  }

  /**
   * Goes down and up on a schedule of the backend's clock: `upMs` up, `downMs` down, `cycles` times. Each
   * phase's time counts from the moment the previous transition took effect. With a `ManualClock`, advance the
   * clock and `await backend.settled()` to see each transition.
   */
  flap(options: FlapOptions): Flapping {
    const plan = resolveFlapOptions(options);
    if (this.#stopped) throw new LbError('ERR_LB_CLOSED', 'the fault backend is closed');
    const handle = startFlapping(
      {
        set: (behaviour) => this.set(behaviour),
        kill: (behaviour) => this.kill(behaviour),
        isStopped: () => this.#stopped,
        flapEnded: (flapping) => this.#flapping.delete(flapping),
      },
      this.#clock,
      plan,
    );
    this.#flapping.add(handle);
    return handle;
  }

  /** Stops flapping and listening, destroys every connection, and resolves when no handle is left. Idempotent. */
  close(): Promise<void> {
    this.#stopped = true;
    this.#closing ??= (async () => {
      await Promise.all([...this.#flapping].map((f) => f.stop()));
      await this.#queue;
      for (const s of this.#sockets.keys()) s.destroy();
      await this.#listener.close();
      if (this.#sockets.size > 0) await Promise.all([...this.#sockets.keys()].map((s) => (s.closed ? undefined : once(s, 'close'))));
    })();
    return this.#closing;
  }

  /** Same as {@link FaultBackend.close}, without waiting. */
  destroy(): void {
    void this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(step);
    this.#queue = run.catch(() => {});
    return run;
  }

  #accept(socket: net.Socket): void {
    this.#accepted++;
    const behaviour = this.#behaviour;
    let stop = noop;
    this.#sockets.set(socket, noop);
    socket.on('error', () => {});
    socket.once('close', () => {
      this.#sockets.get(socket)?.();
      this.#sockets.delete(socket);
      this.#bytesReceived += socket.bytesRead;
      this.#bytesSent += socket.bytesWritten;
    });
    this.emit('connection', socket);
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    if (behaviour.kind === 'serve') {
      socket.resume();
      this.#handler(socket);
    } else {
      stop = runFault(socket, behaviour, this.#clock);
      if (!socket.destroyed) this.#sockets.set(socket, stop);
    }
  }
}

function noop(): void {}
