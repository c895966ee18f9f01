import { Worker } from 'node:worker_threads';
import type { Lease, LeaseRequest } from '../lease.js';
import type { OutcomeSink } from '../outcome.js';
import type { Balancer } from '../balancer.js';
import type { TcpProxyStats } from '../proxy/records.js';
import type { Server } from '../server.js';
import { type MainToWorker, Outbox, type WorkerData, type WorkerToMain, serializeError } from './messages.js';

/**
 * Starts the worker entry next to this module: `proxy-worker.js` in the built package; when this module runs as
 * TypeScript (the tests, through tsx), a bootstrap that registers tsx's loader in the worker first (on Node 20
 * a worker does not apply `--import` hooks to its own entry).
 */
function startWorker(workerData: WorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    const execArgv = workerExecArgv(process.execArgv);
    return new Worker(new URL('./proxy-worker.js', import.meta.url), { workerData, ...(execArgv === undefined ? {} : { execArgv }) });
  }
  const entry = new URL('./proxy-worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData });
}

/**
 * The worker's Node options: inherited (undefined), except when the process was started with string input
 * (`node --input-type=module -e …`): a worker inheriting `--input-type` cannot load its file entry
 * (ERR_INPUT_TYPE_NOT_ALLOWED), so it gets the same options without the input type and the string.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  if (!execArgv.some((a) => a === '--input-type' || a.startsWith('--input-type='))) return undefined;
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (a === '--input-type' || a === '-e' || a === '--eval' || a === '-p' || a === '--print') i++;
    else if (!a.startsWith('--input-type=') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}

/** What a link tells its owner. */
export interface LinkHost {
  readonly balancer: Balancer;
  readonly observer: OutcomeSink | undefined;
  listening(req: number, m: Extract<WorkerToMain, { t: 'listening' }>): void;
  stats(req: number, stats: TcpProxyStats): void;
  record(m: Extract<WorkerToMain, { t: 'record' }>): void;
  opened(server: string): void;
  closed(link: WorkerLink): void;
  failed(link: WorkerLink, error: Error): void;
}

/**
 * @internal
 * The main thread's end of one proxy worker: grants it leases from the one balancer (so `maxconn`, the queue
 * and the strategy's sequence are those of one balancer for every worker), holds those leases until the
 * worker releases them, and passes its connect outcomes to the observer.
 */
export class WorkerLink {
  readonly index: number;
  readonly worker: Worker;
  readonly out: Outbox<MainToWorker>;
  readonly #host: LinkHost;
  readonly #leases = new Map<number, Lease>();
  readonly #waiting = new Map<number, AbortController>();
  #exited = false;
  /** The worker's proxy counters when it finished (what `stats()` reports for it after `close()`). */
  finalStats: TcpProxyStats | undefined;
  /** Resolves when the thread has exited. */
  readonly exited: Promise<void>;

  constructor(index: number, data: WorkerData, host: LinkHost) {
    this.index = index;
    this.#host = host;
    this.worker = startWorker(data);
    this.out = new Outbox<MainToWorker>((batch) => {
      if (!this.#exited) this.worker.postMessage(batch);
    });
    this.worker.on('message', (batch: WorkerToMain[]) => {
      for (const m of batch) this.#receive(m);
    });
    this.worker.on('error', (err) => host.failed(this, err));
    this.exited = new Promise<void>((resolve) => {
      this.worker.once('exit', () => {
        this.#exited = true;
        this.releaseAll();
        resolve();
      });
    });
  }

  /** Leases this worker holds now. */
  get leases(): number {
    return this.#leases.size;
  }

  /** Gives back every lease and stops every wait of this worker (it exited or is being stopped). */
  releaseAll(): void {
    for (const ac of this.#waiting.values()) ac.abort();
    this.#waiting.clear();
    for (const lease of this.#leases.values()) lease.release();
    this.#leases.clear();
  }

  #receive(m: WorkerToMain): void {
    switch (m.t) {
      case 'acquire':
        this.#acquire(m);
        break;
      case 'cancel': {
        const ac = this.#waiting.get(m.id);
        if (ac !== undefined) {
          this.#waiting.delete(m.id);
          ac.abort();
        } else this.#release(m.id);
        break;
      }
      case 'open':
        this.#leases.get(m.id)?._connecting(m.o);
        break;
      case 'release':
        this.#release(m.id);
        break;
      case 'outcome': {
        const server = this.#host.balancer.pool.find(m.s);
        if (server !== undefined) this.#host.observer?.reportOutcome(server, m.o);
        break;
      }
      case 'retried': {
        const server = this.#host.balancer.pool.find(m.s);
        if (server !== undefined) this.#host.balancer.pool._counters.connectRetried(server);
        break;
      }
      case 'listening':
        this.#host.listening(m.req, m);
        break;
      case 'stats':
        this.#host.stats(m.req, m.stats);
        break;
      case 'record':
        this.#host.record(m);
        break;
      case 'opened':
        this.#host.opened(m.s);
        break;
      case 'closed':
        this.finalStats = m.stats;
        this.#host.closed(this);
        break;
    }
  }

  #release(id: number): void {
    const lease = this.#leases.get(id);
    if (lease === undefined) return;
    this.#leases.delete(id);
    lease.release();
  }

  #acquire(m: Extract<WorkerToMain, { t: 'acquire' }>): void {
    const balancer = this.#host.balancer;
    const pool = balancer.pool;
    let exclude: Set<Server> | undefined;
    if (m.x !== undefined) {
      exclude = new Set();
      for (const name of m.x) {
        const s = pool.find(name);
        if (s !== undefined) exclude.add(s);
      }
    }
    const request: { -readonly [K in keyof LeaseRequest]: LeaseRequest[K] } = {
      clientAddress: m.a,
      key: m.k,
      exclude,
      previous: m.p === undefined ? undefined : pool.find(m.p),
      signal: undefined,
      bindTo: undefined,
      timeoutQueueMs: m.q,
    };
    let lease: Lease | undefined;
    try {
      lease = balancer.tryAcquireChecked(request);
    } catch (err) {
      this.out.send({ t: 'deny', id: m.id, e: serializeError(err) });
      return;
    }
    if (lease !== undefined) {
      this.#grant(m.id, lease);
      return;
    }
    const ac = new AbortController();
    this.#waiting.set(m.id, ac);
    request.signal = ac.signal;
    balancer.acquireChecked(request).then(
      (granted) => {
        if (this.#waiting.get(m.id) !== ac) {
          granted.release();
          return;
        }
        this.#waiting.delete(m.id);
        this.#grant(m.id, granted);
      },
      (err: unknown) => {
        if (this.#waiting.get(m.id) !== ac) return;
        this.#waiting.delete(m.id);
        this.out.send({ t: 'deny', id: m.id, e: serializeError(err) });
      },
    );
  }

  #grant(id: number, lease: Lease): void {
    if (this.#exited) {
      lease.release();
      return;
    }
    this.#leases.set(id, lease);
    // Counted as connecting now, as the worker's dialer starts its first attempt on the grant: the worker says
    // so only when an attempt fails and when it tries again (one message fewer per connection).
    lease._connecting(true);
    const p = lease.queuePositions;
    this.out.send({ t: 'grant', id, s: lease.server.name, q: lease.queuedMs, sp: p.server, bp: p.balancer });
  }
}
