import { LbError, type LbErrorCode } from '../errors.js';
import { NOT_QUEUED, type Lease, type LeaseRequest, type LeaseSource, type QueuePositions, type RecycleReason } from '../lease.js';
import type { ConnectOutcome, OutcomeSink } from '../outcome.js';
import { Pool } from '../pool.js';
import type { Server } from '../server.js';
import type { Strategy } from '../strategies/strategy.js';
import type { MainToWorker, Outbox, SerializedError, ServerPlace, WorkerToMain } from './messages.js';

/** The hold a worker's copy of the pool puts on a server the main thread's pool does not use. */
const MAIN_HOLD = 'switchyard-main';

/** A lease granted by the main thread's balancer: the slot is counted there, this is its handle in the worker. */
class RemoteLease implements Lease {
  readonly server: Server;
  readonly queuedMs: number;
  readonly queuePositions: QueuePositions;
  readonly #id: number;
  readonly #out: Outbox<WorkerToMain>;
  #released = false;
  /** The main thread counts a granted lease as connecting at once (the dialer's first attempt follows the grant). */
  #open = true;

  constructor(id: number, server: Server, queuedMs: number, positions: QueuePositions, out: Outbox<WorkerToMain>) {
    this.#id = id;
    this.server = server;
    this.queuedMs = queuedMs;
    this.queuePositions = positions;
    this.#out = out;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): boolean {
    if (this.#released) return false;
    this.#released = true;
    // The main thread's lease ends its open connection itself when released.
    this.#out.send({ t: 'release', id: this.#id });
    return true;
  }

  bindTo(socket: { once(event: 'close', listener: () => void): unknown }): this {
    socket.once('close', () => this.release());
    return this;
  }

  _connecting(open: boolean): void {
    if (this.#released || this.#open === open) return;
    this.#open = open;
    this.#out.send({ t: 'open', id: this.#id, o: open });
  }

  [Symbol.dispose](): void {
    this.release();
  }

  // A proxied connection does not honour recycling (as in TcpProxy): nothing to ask.
  get recycleReason(): RecycleReason | undefined {
    return undefined;
  }
  get recyclable(): boolean {
    return false;
  }
  recycle(): boolean {
    return false;
  }
  onRecycle(): void {}
}

/** A pending acquire: the dialer's promise and its abort listener. */
interface Pending {
  readonly resolve: (lease: Lease) => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

/**
 * @internal
 * The worker's {@link LeaseSource}: every lease is asked of the main thread's balancer (one round trip), so
 * `maxconn`, the queue and the strategy's sequence stay those of one balancer for every worker. The worker keeps
 * a copy of the pool's servers (addresses, PROXY setting, whether usable) for the dialer's redispatch decisions.
 */
export class RemoteLeaseSource implements LeaseSource {
  readonly pool: Pool;
  readonly strategy: Strategy;
  readonly #out: Outbox<WorkerToMain>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(poolName: string, servers: readonly ServerPlace[], usesServerQueues: boolean, usesClientAddress: boolean, out: Outbox<WorkerToMain>) {
    this.#out = out;
    this.pool = new Pool(poolName, { servers: [] });
    // Only what the dialer and the proxy ask of a strategy: whether it keeps affinity, whether it reads the client's
    // address. Picking happens in the main thread.
    this.strategy = { name: 'remote', usesServerQueues, usesClientAddress, pick: () => undefined } as unknown as Strategy;
    for (const s of servers) this.server(s);
    // Every connection attempt counts in the main thread's server (HAProxy's stot).
    this.pool._counters.connectRetried = (server: Server): void => out.send({ t: 'retried', s: server.name });
  }

  /** The sink that reports every connect outcome to the main thread's observer. */
  readonly observer: OutcomeSink = {
    reportOutcome: (server: Server, outcome: ConnectOutcome): void => this.#out.send({ t: 'outcome', s: server.name, o: outcome }),
  };

  /** Adds or updates the copy of one server. */
  server(place: ServerPlace): void {
    const existing = this.pool.find(place.name);
    if (existing === undefined) {
      this.pool.add({ name: place.name, host: place.host, port: place.port, backup: place.backup, ...(place.sendProxy === undefined ? {} : { sendProxy: place.sendProxy }) });
    } else if (existing.host !== place.host || existing.port !== place.port) {
      this.pool.setAddress(place.name, place.host, place.port);
    }
    this.pool.setHold(place.name, MAIN_HOLD, place.usable ? undefined : 'out');
  }

  remove(name: string): void {
    if (this.pool.find(name) !== undefined) this.pool.remove(name);
  }

  tryAcquireChecked(): Lease | undefined {
    return undefined;
  }

  acquireChecked(request: LeaseRequest): Promise<Lease> {
    const id = this.#nextId++;
    const exclude = request.exclude;
    const x = exclude === undefined ? undefined : 'name' in exclude ? [(exclude as Server).name] : [...(exclude as ReadonlySet<Server>)].map((s) => s.name);
    return new Promise<Lease>((resolve, reject) => {
      const signal = request.signal;
      let onAbort: (() => void) | undefined;
      if (signal !== undefined) {
        onAbort = (): void => {
          if (!this.#pending.delete(id)) return;
          this.#out.send({ t: 'cancel', id });
          reject(new LbError('ERR_LB_ABORTED', 'the wait for a server was aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.#pending.set(id, { resolve, reject, signal, onAbort });
      this.#out.send({ t: 'acquire', id, a: request.clientAddress, k: request.key, x, p: request.previous?.name, q: request.timeoutQueueMs });
    });
  }

  /** A grant or a refusal from the main thread. */
  answer(m: Extract<MainToWorker, { t: 'grant' | 'deny' }>): void {
    const p = this.#pending.get(m.id);
    if (p === undefined) {
      // Cancelled meanwhile: the main thread releases a grant it made after the cancel itself.
      return;
    }
    this.#pending.delete(m.id);
    if (p.onAbort !== undefined) p.signal!.removeEventListener('abort', p.onAbort);
    if (m.t === 'deny') {
      p.reject(rebuildError(m.e));
      return;
    }
    const server = this.pool.find(m.s);
    if (server === undefined) {
      this.#out.send({ t: 'release', id: m.id });
      p.reject(new LbError('ERR_LB_NO_SERVER', `server ${m.s} is no longer in the pool`));
      return;
    }
    const positions = m.sp === 0 && m.bp === 0 ? NOT_QUEUED : { server: m.sp, balancer: m.bp };
    p.resolve(new RemoteLease(m.id, server, m.q, positions, this.#out));
  }

  /** Refuses every pending acquire (the proxy is going away). */
  rejectAll(): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      this.#out.send({ t: 'cancel', id });
      p.reject(new LbError('ERR_LB_CLOSED', 'the proxy workers are closing'));
    }
  }
}

function rebuildError(e: SerializedError): LbError {
  const code = (e.code ?? 'ERR_LB_NO_SERVER') as LbErrorCode;
  return new LbError(code, e.message, e.details === undefined ? {} : { details: e.details });
}
