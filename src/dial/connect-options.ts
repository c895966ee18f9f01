import net from 'node:net';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import type { ConnectContext } from '../diagnostics-messages.js';
import type { Lease } from '../lease.js';
import type { Server } from '../server.js';
import type { LeaseSource } from '../lease.js';
import { closeWhenIdle } from './close-when-idle.js';
import { type ConnectPolicy, resolveConnectPolicy } from './connect-policy.js';
import { CONNECT_POLICY_KEYS, type ConnectPolicyOptions, Dialer } from './dialer.js';

/** Options of `balancer.connect()` and `balancer.createConnection()`. */
export interface BalancedConnectOptions extends ConnectPolicyOptions {
  /** The client's address, for the `source` strategy. @defaultValue none */
  readonly clientAddress?: string;
  /** An affinity key for the hash strategies (tenant, user id…). @defaultValue none */
  readonly key?: string | number;
  /** Cancels the queue wait, the attempts and the turn-around pauses (`ERR_LB_ABORTED`). @defaultValue none */
  readonly signal?: AbortSignal;
  /** `setNoDelay` on the socket. @defaultValue false (Node's default) */
  readonly noDelay?: boolean;
  /** `setKeepAlive` on the socket. @defaultValue false */
  readonly keepAlive?: boolean;
  /** Delay before the first keep-alive probe, ms. @defaultValue 0 (the system's) */
  readonly keepAliveInitialDelayMs?: number;
  /** Keep the writable side open after the server's FIN, as `net.Socket`'s option. @defaultValue false */
  readonly allowHalfOpen?: boolean;
  /**
   * When the lease is recycled (a `Rebalancer` asks it to go), the connection is ended once this long passes with
   * no byte either way: make it longer than your slowest silent request. @defaultValue 1000
   */
  readonly recycleQuietMs?: number;
}

/** Default values of the socket options of {@link BalancedConnectOptions}. */
export const BALANCED_CONNECT_DEFAULTS = Object.freeze({ recycleQuietMs: 1000 });

const OPTION_KEYS = [
  ...CONNECT_POLICY_KEYS,
  'clientAddress', 'key', 'signal', 'noDelay', 'keepAlive', 'keepAliveInitialDelayMs', 'allowHalfOpen', 'recycleQuietMs',
] as const;

/** @internal Validated {@link BalancedConnectOptions}. */
export interface ResolvedConnectOptions {
  readonly policy: ConnectPolicy;
  readonly clientAddress: string | undefined;
  readonly key: string | number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly socket: net.TcpNetConnectOpts;
  readonly allowHalfOpen: boolean;
  readonly recycleQuietMs: number;
}

/** @internal */
export function resolveConnectOptions(balancer: LeaseSource, options: BalancedConnectOptions): ResolvedConnectOptions {
  if (balancer === null || typeof balancer !== 'object' || typeof balancer.tryAcquireChecked !== 'function') {
    throw invalidArg('balancer', 'must be a Balancer', balancer);
  }
  const o = v.plainObject('connect options', options);
  v.knownKeys('connect options', o, OPTION_KEYS);
  const policy = resolveConnectPolicy(o, balancer);
  const { clientAddress, key, signal } = v.affinity(o);
  const allowHalfOpen = v.boolean('allowHalfOpen', o['allowHalfOpen'] ?? false);
  const socket: net.TcpNetConnectOpts = {
    port: 0,
    allowHalfOpen,
    noDelay: v.boolean('noDelay', o['noDelay'] ?? false),
    keepAlive: v.boolean('keepAlive', o['keepAlive'] ?? false),
    keepAliveInitialDelay: v.durationMs('keepAliveInitialDelayMs', o['keepAliveInitialDelayMs'] ?? 0),
  };
  return {
    policy,
    clientAddress,
    key,
    signal,
    socket,
    allowHalfOpen,
    recycleQuietMs: v.durationMs('recycleQuietMs', o['recycleQuietMs'] ?? BALANCED_CONNECT_DEFAULTS.recycleQuietMs),
  };
}

/** @internal A dial whose outcome goes to two callbacks; used by `connect()` and {@link BalancedSocket}. */
export class CallbackDialer extends Dialer {
  readonly #socketOptions: net.TcpNetConnectOpts;
  readonly #recycleQuietMs: number;
  readonly #onDialed: (socket: net.Socket, lease: Lease) => void;
  readonly #onFailed: (error: LbError) => void;
  /** The tracing context of `switchyard:connect`: the dial keeps its server and attempts current. */
  readonly context: ConnectContext;

  constructor(
    balancer: LeaseSource,
    o: ResolvedConnectOptions,
    context: ConnectContext,
    onDialed: (socket: net.Socket, lease: Lease) => void,
    onFailed: (error: LbError) => void,
  ) {
    super(balancer, o.policy, o.clientAddress, o.key);
    this.#socketOptions = o.socket;
    this.#recycleQuietMs = o.recycleQuietMs;
    this.context = context;
    this.#onDialed = onDialed;
    this.#onFailed = onFailed;
  }

  protected override attempting(server: Server): void {
    this.context.server = server;
    this.context.attempts = this.attempts;
  }

  protected createSocket(server: Server): net.Socket {
    return net.connect({ ...this.#socketOptions, port: server.port, host: server.host });
  }

  protected dialed(socket: net.Socket, lease: Lease): void {
    closeWhenIdle(lease, socket, this.policy.clock, this.#recycleQuietMs);
    this.#onDialed(socket, lease);
  }

  protected dialFailed(error: LbError): void {
    this.#onFailed(error);
  }
}

/** @internal A fresh `switchyard:connect` tracing context. */
export function connectContext(balancer: LeaseSource, clientAddress: string | undefined): ConnectContext {
  return { pool: balancer.pool, clientAddress, server: undefined, attempts: 0 };
}

/** @internal */
export function aborted(signal: AbortSignal): LbError {
  return new LbError('ERR_LB_ABORTED', 'connect was aborted', { cause: signal.reason });
}
