import type { Balancer } from '../balancer.js';
import type { ConnectContext } from '../diagnostics-messages.js';
import { traceConnectSync } from '../diagnostics.js';
import { LbError } from '../errors.js';
import type { Lease, LeaseRequest } from '../lease.js';
import { BalancedSocket } from '../dial/balanced-socket.js';
import type { LeaseSource } from '../lease.js';
import { type ResolvedConnectOptions, connectContext } from '../dial/connect-options.js';

/**
 * @internal
 * A lease source that holds every placement until {@link Gate.open}: a `BalancedSocket` built over it stays
 * unconnected (no lease, no socket, no timer) until the client calls `connect()`, as pg expects of its `stream`.
 * The dial sees "every server is full" and waits in `acquireChecked()`, which passes to the balancer once open.
 */
export class Gate implements LeaseSource {
  readonly #balancer: Balancer;
  #open = false;
  #waiting: (() => void)[] = [];

  constructor(balancer: Balancer) {
    this.#balancer = balancer;
  }

  get pool(): Balancer['pool'] {
    return this.#balancer.pool;
  }

  get strategy(): Balancer['strategy'] {
    return this.#balancer.strategy;
  }

  get circuitBreaker(): Balancer['circuitBreaker'] {
    return this.#balancer.circuitBreaker;
  }

  tryAcquireChecked(request: LeaseRequest): Lease | undefined {
    return this.#open ? this.#balancer.tryAcquireChecked(request) : undefined;
  }

  acquireChecked(request: LeaseRequest): Promise<Lease> {
    if (this.#open) return this.#balancer.acquireChecked(request);
    return this.#whenOpen(request.signal, () => this.#balancer.acquireChecked(request));
  }

  open(): void {
    if (this.#open) return;
    this.#open = true;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const go of waiting) go();
  }

  /** Waits for {@link Gate.open}, then acquires with `acquire`; rejects with `ERR_LB_ABORTED` when `signal` fires first. */
  #whenOpen(signal: AbortSignal | undefined, acquire: () => Promise<Lease>): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiting = this.#waiting.filter((w) => w !== go);
        reject(new LbError('ERR_LB_ABORTED', 'the connection was closed before connect() was called', { cause: signal?.reason }));
      };
      const go = (): void => {
        signal?.removeEventListener('abort', onAbort);
        acquire().then(resolve, reject);
      };
      this.#waiting.push(go);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * A {@link BalancedSocket} that starts dialing only when `connect()` is called (its arguments are ignored: the
 * balancer chooses the server), then emits `connect` like a `net.Socket`. What is written before is kept.
 */
export class DeferredBalancedSocket extends BalancedSocket {
  readonly #gate: Gate;

  /** @internal */
  constructor(gate: Gate, options: ResolvedConnectOptions, context: ConnectContext) {
    super(gate, options, context);
    this.#gate = gate;
  }

  /** Starts the dial to the server the balancer picks; the port and host given are ignored. */
  connect(..._ignored: unknown[]): this {
    this.#gate.open();
    return this;
  }
}

/** @internal An unconnected {@link DeferredBalancedSocket}, in the `switchyard:connect` tracing channel. */
export function deferredBalancedSocket(balancer: Balancer, options: ResolvedConnectOptions): DeferredBalancedSocket {
  const gate = new Gate(balancer);
  const context = connectContext(balancer, options.clientAddress);
  return traceConnectSync(context, () => new DeferredBalancedSocket(gate, options, context));
}
