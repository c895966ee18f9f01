import type { ConnectOutcome } from '../outcome.js';
import type { ConnectionRecord, TcpProxyStats } from '../proxy/records.js';
import type { Server } from '../server.js';
import type { SendProxy } from '../state/server-options.js';

/**
 * @internal
 * What a worker needs of a server of the main thread's pool: where to connect and its PROXY header setting.
 * Everything else (weights, limits, health, counts) stays with the main thread's pool.
 */
export interface ServerPlace {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly backup: boolean;
  readonly sendProxy: SendProxy | undefined;
  readonly usable: boolean;
}

/** @internal */
export function placeOf(server: Server): ServerPlace {
  return { name: server.name, host: server.host, port: server.port, backup: server.backup, sendProxy: server.sendProxy, usable: server.usable };
}

/** @internal The listen request of one address, as every worker carries it out. */
export interface WorkerListen {
  readonly host: string | undefined;
  readonly port: number;
  readonly backlog: number | undefined;
  readonly ipv6Only: boolean | undefined;
  /** Node 20: the listening socket of the first worker, which the others poll too (threads share the fd table). */
  readonly fd: number | undefined;
  /** Node ≥ 22.12: a socket per worker, SO_REUSEPORT. */
  readonly reusePort: boolean;
}

/** @internal Sent by a worker to the main thread (several per message, in order). */
export type WorkerToMain =
  | { readonly t: 'acquire'; readonly id: number; readonly a: string | undefined; readonly k: string | number | undefined; readonly x: readonly string[] | undefined; readonly p: string | undefined; readonly q: number | undefined }
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'open'; readonly id: number; readonly o: boolean }
  | { readonly t: 'release'; readonly id: number }
  | { readonly t: 'outcome'; readonly s: string; readonly o: ConnectOutcome }
  | { readonly t: 'retried'; readonly s: string }
  | { readonly t: 'listening'; readonly req: number; readonly address: { readonly address: string; readonly family: string; readonly port: number } | undefined; readonly fd: number | undefined; readonly error: SerializedError | undefined }
  | { readonly t: 'stats'; readonly req: number; readonly stats: TcpProxyStats }
  | { readonly t: 'record'; readonly r: ConnectionRecord; readonly e: SerializedError | undefined }
  | { readonly t: 'opened'; readonly s: string }
  | { readonly t: 'closed'; readonly stats: TcpProxyStats };

/** @internal Sent by the main thread to a worker. */
export type MainToWorker =
  | { readonly t: 'grant'; readonly id: number; readonly s: string; readonly q: number; readonly sp: number; readonly bp: number }
  | { readonly t: 'deny'; readonly id: number; readonly e: SerializedError }
  | { readonly t: 'server'; readonly server: ServerPlace }
  | { readonly t: 'remove'; readonly s: string }
  | { readonly t: 'kill'; readonly s: string | undefined; readonly c: 'D' | 'U' }
  | { readonly t: 'listen'; readonly req: number; readonly listen: WorkerListen }
  | { readonly t: 'stats'; readonly req: number }
  | { readonly t: 'close'; readonly deadlineMs: number }
  | { readonly t: 'destroy' };

/** @internal An error as it crosses threads (an `LbError` is rebuilt with its code on the other side). */
export interface SerializedError {
  readonly code: string | undefined;
  readonly message: string;
  readonly details: Record<string, unknown> | undefined;
}

/** @internal What the worker entry receives as `workerData`. */
export interface WorkerData {
  readonly pool: string;
  readonly servers: readonly ServerPlace[];
  readonly usesServerQueues: boolean;
  /** Whether the main thread's strategy reads the client's address (else a worker looks it up only when asked). */
  readonly usesClientAddress: boolean;
  /** The proxy's options that a worker applies itself (plain data: timeouts, retries, redispatch, PROXY header…). */
  readonly proxy: Record<string, unknown>;
  /** Whether the main thread has an observer: connect outcomes are sent only then. */
  readonly observe: boolean;
  /** Events the main thread listens to, which the worker forwards (a message per connection each). */
  readonly forward: { readonly open: boolean; readonly close: boolean };
}

/**
 * @internal
 * Messages queued during one turn of the event loop and posted together: one `postMessage` (a structured
 * clone and a wake-up of the other thread) per turn instead of one per message.
 */
export class Outbox<M> {
  #queue: M[] = [];
  #scheduled = false;
  readonly #post: (batch: M[]) => void;
  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length > 0) this.#post(batch);
  };

  constructor(post: (batch: M[]) => void) {
    this.#post = post;
  }

  send(message: M): void {
    this.#queue.push(message);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Posts what is queued now. */
  flush(): void {
    if (this.#queue.length > 0) this.#flush();
  }
}

/** @internal */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; details?: unknown };
    let details: Record<string, unknown> | undefined;
    if (e.details !== null && typeof e.details === 'object') {
      // Only what survives a structured clone: servers become names.
      details = {};
      for (const [k, val] of Object.entries(e.details)) {
        if (val === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof val)) details[k] = val;
        else if (k === 'queuePositions') details[k] = { ...(val as object) };
      }
    }
    return { code: typeof e.code === 'string' ? e.code : undefined, message: e.message, details };
  }
  return { code: undefined, message: String(err), details: undefined };
}
