import { EventEmitter } from 'eventemitter3';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { backoffMs, etcdCall, isLeaseNotFound } from './etcd-call.js';
import { type EtcdClient, checkClient } from './etcd-client.js';
import { LeaseKeeper } from './lease-keeper.js';
import { type JsonServerEntry, formatAddr, formatServerEntry } from './server-entry.js';

/** Options of {@link registerServer}. */
export interface RegistrationOptions {
  /** The etcd3 client (or a namespace of one). Yours to close, after the registration. */
  readonly client: EtcdClient;
  /** Key prefix of the service (the gRPC target name, or any prefix); the key is `<prefix>/<host:port>`. */
  readonly prefix: string;
  /** Address other instances connect to. */
  readonly host: string;
  readonly port: number;
  /** Value format (see {@link EntryFormat}). @defaultValue 'json' */
  readonly format?: 'json' | 'grpc';
  /** Server name in the followers' pools (JSON format). @defaultValue `host:port` */
  readonly name?: string;
  /** Weight 0–256 (JSON format). @defaultValue 1 */
  readonly weight?: number;
  /** Register as a backup server (JSON format). @defaultValue false */
  readonly backup?: boolean;
  /** Most concurrent connections, 0 = unlimited (JSON format). @defaultValue 0 */
  readonly maxconn?: number;
  /** Labels followers can select on (JSON format). @defaultValue [] */
  readonly tags?: readonly string[];
  /** gRPC `Metadata` (gRPC format). @defaultValue null */
  readonly metadata?: unknown;
  /** Lease TTL, whole seconds: how long a dead process stays listed. @defaultValue 10 */
  readonly leaseTtlSeconds?: number;
  /** Longest wait for one etcd request, ms. @defaultValue 5000 */
  readonly timeoutMs?: number;
  /** First delay before trying again after a failure, ms; doubles up to `maxRetryMs`. @defaultValue 1000 */
  readonly retryMs?: number;
  /** @defaultValue 30000 */
  readonly maxRetryMs?: number;
  /** Source of time. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Default values of {@link RegistrationOptions}. */
export const REGISTRATION_DEFAULTS = Object.freeze({ format: 'json' as const, leaseTtlSeconds: 10, timeoutMs: 5000, retryMs: 1000, maxRetryMs: 30_000 });

/** Events of a {@link Registration}. */
export interface RegistrationEvents {
  /** The key was written under a live lease (first time, after a drain, or again after the lease was lost). */
  'registration:up': [key: string, leaseId: string];
  /** The lease was lost (etcd unreachable for a TTL, or expired): followers drop this server; it registers again when etcd answers. */
  'registration:lost': [error: unknown];
  /** Writing failed; the next attempt is in `retryInMs`. */
  'registration:error': [error: unknown, retryInMs: number];
}

const OPTION_KEYS = [
  'client', 'prefix', 'host', 'port', 'format', 'name', 'weight', 'backup', 'maxconn', 'tags', 'metadata',
  'leaseTtlSeconds', 'timeoutMs', 'retryMs', 'maxRetryMs', 'clock',
] as const;

/**
 * Registers this service under `<prefix>/<host:port>` with a lease kept alive, and returns the handle. The key
 * disappears when the process dies (the lease expires after `leaseTtlSeconds`), at once on {@link Registration.close}
 * (the lease is revoked), and is written again whenever a lost lease is replaced.
 *
 * @example
 * ```ts
 * const registration = registerServer({ client: etcd, prefix: 'my-service', host: '10.0.0.7', port: 5432, weight: 10 })
 * process.once('SIGTERM', async () => {
 *   await registration.drain()       // followers stop sending new connections
 *   await server.closeWhenIdle()     // your own drain
 *   await registration.close()       // the key is deleted
 * })
 * ```
 */
export function registerServer(options: RegistrationOptions): Registration {
  return new Registration(options);
}

/** A running registration: see {@link registerServer}. */
export class Registration extends EventEmitter<RegistrationEvents> {
  /** The registration's key. */
  readonly key: string;
  readonly format: 'json' | 'grpc';
  readonly #client: EtcdClient;
  readonly #entry: JsonServerEntry;
  readonly #metadata: unknown;
  readonly #keeper: LeaseKeeper;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  #draining = false;
  #writtenWith: string | undefined;
  #chain: Promise<void> = Promise.resolve();
  #retry: TimerHandle | undefined;
  #failures = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #waiters: (() => void)[] = [];

  /** @internal Use {@link registerServer}. */
  constructor(options: RegistrationOptions) {
    super();
    const o = v.plainObject('registration options', options);
    v.knownKeys('registration options', o, OPTION_KEYS);
    this.#client = checkClient(o['client']);
    const prefix = v.nonEmptyString('prefix', o['prefix']);
    const host = v.nonEmptyString('host', o['host']);
    const port = v.integerInRange('port', o['port'], 1, 65535);
    this.format = v.oneOf('format', o['format'] ?? REGISTRATION_DEFAULTS.format, ['json', 'grpc']);
    this.key = `${prefix.endsWith('/') ? prefix : `${prefix}/`}${formatAddr(host, port)}`;
    const tags = o['tags'] ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) throw invalidArg('tags', 'must be an array of non-empty strings', tags);
    this.#entry = {
      host,
      port,
      ...(o['name'] === undefined ? {} : { name: v.nonEmptyString('name', o['name']) }),
      ...(o['weight'] === undefined ? {} : { weight: v.integerInRange('weight', o['weight'], 0, 256) }),
      ...(o['backup'] === undefined ? {} : { backup: v.boolean('backup', o['backup']) }),
      ...(o['maxconn'] === undefined ? {} : { maxconn: v.nonNegativeInteger('maxconn', o['maxconn']) }),
      ...(tags.length === 0 ? {} : { tags: [...(tags as string[])] }),
    };
    this.#metadata = o['metadata'];
    this.#clock = (o['clock'] as Clock | undefined) ?? systemClock;
    this.#timeoutMs = v.durationMs('timeoutMs', o['timeoutMs'] ?? REGISTRATION_DEFAULTS.timeoutMs, { allowZero: false });
    this.#retryMs = v.durationMs('retryMs', o['retryMs'] ?? REGISTRATION_DEFAULTS.retryMs, { allowZero: false });
    this.#maxRetryMs = v.durationMs('maxRetryMs', o['maxRetryMs'] ?? REGISTRATION_DEFAULTS.maxRetryMs, { allowZero: false });
    const ttl = v.positiveInteger('leaseTtlSeconds', o['leaseTtlSeconds'] ?? REGISTRATION_DEFAULTS.leaseTtlSeconds);
    this.#keeper = new LeaseKeeper(this.#client, {
      ttlSeconds: ttl, timeoutMs: this.#timeoutMs, retryMs: this.#retryMs, maxRetryMs: this.#maxRetryMs, clock: this.#clock,
    });
    this.#keeper.on('lease:granted', () => this.#write());
    this.#keeper.on('lease:lost', (_id, error) => {
      this.#writtenWith = undefined;
      this.emit('registration:lost', error);
    });
    this.#keeper.on('lease:error', (error, retryInMs) => this.emit('registration:error', error, retryInMs));
    this.#keeper.start();
  }

  /** True while the key is written under a live lease. */
  get registered(): boolean {
    return this.#writtenWith !== undefined && this.#writtenWith === this.#keeper.leaseId;
  }

  /** True once {@link Registration.drain} was called. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The lease the key is attached to, while there is one. */
  get leaseId(): string | undefined {
    return this.#keeper.leaseId;
  }

  /** Resolves once the key is written (at once if it is), or rejects when the registration is closed first. */
  whenRegistered(): Promise<void> {
    if (this.registered) return Promise.resolve();
    if (this.#closed) return Promise.reject(new LbError('ERR_LB_CLOSED', 'the registration is closed'));
    return new Promise((resolve, reject) => {
      this.#waiters.push(() => (this.#closed ? reject(new LbError('ERR_LB_CLOSED', 'the registration is closed')) : resolve()));
    });
  }

  /**
   * Graceful shutdown, step one: followers stop giving this server new connections but keep the ones open.
   * JSON format: the value is rewritten with `"drain": true` (followers set weight 0; the server stays in their
   * pools and checks). gRPC format, which has no such state: the key is deleted (the lease stays until `close()`).
   * Resolves when etcd has the change.
   */
  drain(): Promise<void> {
    if (this.#closed) return Promise.reject(new LbError('ERR_LB_CLOSED', 'the registration is closed'));
    this.#draining = true;
    return this.#enqueue(async () => {
      if (this.format === 'grpc') {
        await etcdCall(`delete ${this.key}`, () => this.#client.delete().key(this.key).exec(), this.#clock, this.#timeoutMs);
      } else {
        await this.#put(this.#keeper.leaseId);
      }
    });
  }

  /** Step two: revokes the lease, so the key is deleted at once. Idempotent: returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#retry?.cancel();
      await this.#chain.catch(() => undefined);
      await this.#keeper.close(true);
      this.#writtenWith = undefined;
      for (const wake of this.#waiters.splice(0)) wake();
    })();
    return this.#closing;
  }

  /** Stops keeping the lease alive without revoking it, as a crash would: followers drop the key after the TTL. */
  destroy(): void {
    this.#closed = true;
    this.#retry?.cancel();
    void this.#keeper.close(false);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Same as {@link Registration.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #write(): void {
    this.#retry?.cancel();
    if (this.#closed || (this.#draining && this.format === 'grpc')) return;
    const leaseId = this.#keeper.leaseId;
    void this.#enqueue(() => this.#put(leaseId)).catch((err: unknown) => {
      if (this.#closed || leaseId !== this.#keeper.leaseId) return;
      this.#failures++;
      const delay = backoffMs(this.#failures, this.#retryMs, this.#maxRetryMs);
      this.emit('registration:error', err, delay);
      this.#retry = this.#clock.setTimeout(() => this.#write(), delay);
    });
  }

  async #put(leaseId: string | undefined): Promise<void> {
    if (leaseId === undefined || this.#closed) return;
    const entry = this.#draining ? { ...this.#entry, drain: true } : this.#entry;
    const value = formatServerEntry(this.format, entry, this.#metadata);
    try {
      await etcdCall(`put ${this.key}`, () => this.#client.put(this.key).value(value).lease(leaseId).exec(), this.#clock, this.#timeoutMs);
    } catch (err) {
      if (isLeaseNotFound(err)) this.#keeper.invalidate(leaseId, err);
      throw err;
    }
    if (leaseId !== this.#keeper.leaseId) return;
    this.#failures = 0;
    this.#writtenWith = leaseId;
    this.emit('registration:up', this.key, leaseId);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(task, task);
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
