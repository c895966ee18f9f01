import dns from 'node:dns';
import net from 'node:net';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { dnsError, failureOfCode } from './dns-error.js';
import { type DnsRecord, RR_TYPE, encodeName } from './dns-message.js';
import { type NameServer, parseNameServer, queryUdp } from './dns-udp-query.js';
import type { DiscoveredServer } from './server-list-source.js';

/** Which records a {@link DnsSource} asks for. */
export type DnsRecordType = 'A' | 'AAAA' | 'A+AAAA' | 'SRV';

/** Options of {@link DnsSource}. */
export interface DnsSourceOptions {
  /** The name to resolve: a host name for A/AAAA, a service name such as `_pg._tcp.db.internal` for SRV. */
  readonly name: string;
  /** Records to ask for. `A+AAAA` asks both and merges them. @defaultValue 'A' */
  readonly type?: DnsRecordType;
  /** Port of every server (A/AAAA only: SRV records carry their own). */
  readonly port?: number;
  /**
   * Name servers to ask, as node:dns `setServers` takes them (`'10.0.0.2'`, `'127.0.0.1:5353'`, `'[::1]:53'`).
   * @defaultValue the system's, from `dns.getServers()` when the source is created
   */
  readonly servers?: readonly string[];
  /** Shortest time between two resolutions, ms, whatever the TTL says (a TTL of 0 included). @defaultValue 1000 */
  readonly minRefreshMs?: number;
  /** Longest time between two resolutions, ms, whatever the TTL says. @defaultValue 30000 */
  readonly maxRefreshMs?: number;
  /** How long to wait for an answer from one name server, ms (HAProxy `timeout retry`). @defaultValue 2000 */
  readonly timeoutMs?: number;
  /**
   * What an SRV record's priority means. `ignore` is HAProxy's behaviour (every target is an active server);
   * `backup` follows RFC 2782: targets of the lowest priority are active, the others are backup servers.
   * @defaultValue 'ignore'
   */
  readonly srvPriority?: 'ignore' | 'backup';
  /** Source of time for refreshes and timeouts. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Default values of {@link DnsSourceOptions}. */
export const DNS_SOURCE_DEFAULTS = Object.freeze({
  type: 'A' as DnsRecordType,
  minRefreshMs: 1000,
  maxRefreshMs: 30_000,
  timeoutMs: 2000,
  srvPriority: 'ignore' as const,
});

/** The result of one resolution. */
export interface DnsAnswer {
  /** The servers, sorted by address and port, one per distinct `address:port`. */
  readonly servers: readonly DiscoveredServer[];
  /** The shortest TTL of every record used, in ms. */
  readonly ttlMs: number;
}

const OPTION_KEYS = ['name', 'type', 'port', 'servers', 'minRefreshMs', 'maxRefreshMs', 'timeoutMs', 'srvPriority', 'clock'] as const;

interface Found {
  readonly address: string;
  readonly port: number;
  readonly weight: number | undefined;
  readonly backup: boolean;
}

/**
 * Server lists from DNS: HAProxy's `server-template` + `resolvers`. Resolves A and/or AAAA records (with a
 * fixed port) or SRV records (each target's port and weight, the target's addresses from the answer's
 * additional section or resolved in turn), and re-resolves when the shortest TTL expires, bounded by
 * `minRefreshMs` and `maxRefreshMs`. A failed resolution throws an {@link LbError} (`details.reason` is a
 * {@link DnsFailure}); {@link followServers} then keeps the last good list and tries again.
 *
 * A/AAAA go through node:dns's `Resolver` (c-ares); SRV through a small UDP client, because node:dns gives
 * no TTL for SRV records. SRV weights map to server weights as HAProxy does: `floor(weight / 256) + 1`.
 *
 * @example
 * ```ts
 * const dnsSource = new DnsSource({ name: '_redis._tcp.cache.internal', type: 'SRV', servers: ['10.0.0.2'] })
 * const discovery = followServers(pool, dnsSource, { defaults: { check: true } })
 * ```
 */
export class DnsSource {
  /** The name resolved. */
  readonly name: string;
  /** The records asked for. */
  readonly type: DnsRecordType;
  /** Port of A/AAAA servers; `undefined` for SRV. */
  readonly port: number | undefined;
  /** Shortest refresh interval, ms. */
  readonly minRefreshMs: number;
  /** Longest refresh interval, ms. */
  readonly maxRefreshMs: number;
  /** Timeout per name server, ms. */
  readonly timeoutMs: number;
  /** Meaning of SRV priorities. */
  readonly srvPriority: 'ignore' | 'backup';

  readonly #servers: readonly string[];
  readonly #nameServers: readonly NameServer[];
  readonly #clock: Clock;

  constructor(options: DnsSourceOptions) {
    const o = v.plainObject('dns source options', options);
    v.knownKeys('dns source options', o, OPTION_KEYS);
    this.name = v.nonEmptyString('name', o['name']);
    encodeName(this.name);
    this.type = v.oneOf('type', o['type'] ?? DNS_SOURCE_DEFAULTS.type, ['A', 'AAAA', 'A+AAAA', 'SRV']);
    if (this.type === 'SRV') {
      if (o['port'] !== undefined) throw invalidArg('port', 'must be left out for SRV records, which carry their own ports', o['port']);
      this.port = undefined;
    } else {
      this.port = v.integerInRange('port', o['port'], 1, 65535);
    }
    const servers = o['servers'] ?? dns.getServers();
    if (!Array.isArray(servers) || servers.length === 0) throw invalidArg('servers', 'must be a non-empty array of name server addresses', servers);
    this.#nameServers = servers.map((s: unknown) => parseNameServer(v.nonEmptyString('servers[]', s)));
    this.#servers = [...(servers as string[])];
    this.minRefreshMs = v.durationMs('minRefreshMs', o['minRefreshMs'] ?? DNS_SOURCE_DEFAULTS.minRefreshMs, { allowZero: false });
    this.maxRefreshMs = v.durationMs('maxRefreshMs', o['maxRefreshMs'] ?? DNS_SOURCE_DEFAULTS.maxRefreshMs, { allowZero: false });
    if (this.maxRefreshMs < this.minRefreshMs) {
      throw invalidArg('maxRefreshMs', `must be at least minRefreshMs (${this.minRefreshMs})`, this.maxRefreshMs);
    }
    this.timeoutMs = v.durationMs('timeoutMs', o['timeoutMs'] ?? DNS_SOURCE_DEFAULTS.timeoutMs, { allowZero: false });
    this.srvPriority = v.oneOf('srvPriority', o['srvPriority'] ?? DNS_SOURCE_DEFAULTS.srvPriority, ['ignore', 'backup']);
    this.#clock = (o['clock'] as Clock | undefined) ?? systemClock;
  }

  /** Name servers asked, as given. */
  get servers(): readonly string[] {
    return this.#servers;
  }

  /** When to resolve again after an answer whose shortest TTL is `ttlMs`. */
  refreshDelayMs(ttlMs: number): number {
    return Math.min(this.maxRefreshMs, Math.max(this.minRefreshMs, ttlMs));
  }

  /** Resolves once. Rejects with an {@link LbError}: a {@link DnsFailure} in `details.reason`, or `ERR_LB_ABORTED`. */
  async resolve(signal?: AbortSignal): Promise<DnsAnswer> {
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArg('signal', 'must be an AbortSignal', signal);
    const found = this.type === 'SRV' ? await this.#resolveSrv(signal) : await this.#resolveAddresses(this.name, this.type, signal);
    return toAnswer(found.items, found.ttl);
  }

  /**
   * Resolves now and again whenever the TTL runs out, yielding the list each time it differs from the last
   * one yielded (the first always). Throws on the first failed resolution; ends quietly when `signal` fires.
   */
  async *watch(signal?: AbortSignal): AsyncGenerator<readonly DiscoveredServer[], void, undefined> {
    let last: string | undefined;
    while (!signal?.aborted) {
      let answer: DnsAnswer;
      try {
        answer = await this.resolve(signal);
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      // The refresh timer starts before the list is handed over, so the schedule does not depend on
      // how long the consumer takes (and tests driving a manual clock can advance as soon as they see it).
      const wake = this.#sleep(this.refreshDelayMs(answer.ttlMs), signal);
      try {
        const key = JSON.stringify(answer.servers);
        if (key !== last) {
          last = key;
          yield answer.servers;
        }
        await wake.promise;
      } finally {
        wake.cancel();
      }
    }
  }

  #sleep(ms: number, signal: AbortSignal | undefined): { promise: Promise<void>; cancel: () => void } {
    let timer: TimerHandle | undefined;
    let onAbort: (() => void) | undefined;
    const promise = new Promise<void>((resolve) => {
      onAbort = (): void => {
        timer?.cancel();
        resolve();
      };
      timer = this.#clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort!);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return {
      promise,
      cancel: () => {
        timer?.cancel();
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  async #resolveSrv(signal: AbortSignal | undefined): Promise<{ items: Found[]; ttl: number }> {
    const message = await queryUdp(this.#nameServers, this.name, RR_TYPE.SRV, 'SRV', this.timeoutMs, this.#clock, signal);
    const owner = this.name.replace(/\.$/, '').toLowerCase();
    const records = message.answers.filter((r) => r.type === RR_TYPE.SRV && r.name === owner);
    if (records.length === 0) throw dnsError('nodata', this.name, 'SRV', 'no SRV record in the answer');
    const lowest = Math.min(...records.map((r) => (r.data as { priority: number }).priority));
    let ttl = Math.min(...records.map((r) => r.ttl));
    const items: Found[] = [];
    const byTarget = new Map<string, Promise<{ addresses: string[]; ttl: number } | undefined>>();
    for (const record of records) {
      const srv = record.data as Extract<DnsRecord['data'], { kind: 'srv' }>;
      // RFC 2782: a target of "." means the service is decidedly not available at this name.
      if (srv.target === '' || srv.port === 0) continue;
      if (!byTarget.has(srv.target)) byTarget.set(srv.target, this.#targetAddresses(srv.target, message.additionals, signal));
    }
    const resolved = new Map<string, { addresses: string[]; ttl: number } | undefined>();
    for (const [target, p] of byTarget) resolved.set(target, await p);
    for (const record of records) {
      const srv = record.data as Extract<DnsRecord['data'], { kind: 'srv' }>;
      const r = resolved.get(srv.target);
      if (r === undefined) continue;
      ttl = Math.min(ttl, r.ttl);
      const weight = Math.floor(srv.weight / 256) + 1;
      const backup = this.srvPriority === 'backup' && srv.priority !== lowest;
      for (const address of r.addresses) items.push({ address, port: srv.port, weight, backup });
    }
    if (items.length === 0) throw dnsError('nodata', this.name, 'SRV', 'no SRV target resolved to an address');
    return { items, ttl };
  }

  /** A target's addresses: from the additional section when it has them, else resolved (A and AAAA); `undefined` if none. */
  async #targetAddresses(
    target: string,
    additionals: readonly DnsRecord[],
    signal: AbortSignal | undefined,
  ): Promise<{ addresses: string[]; ttl: number } | undefined> {
    if (net.isIP(target)) return { addresses: [target], ttl: Infinity };
    const glue = additionals.filter((r) => r.name === target && (r.type === RR_TYPE.A || r.type === RR_TYPE.AAAA));
    if (glue.length > 0) {
      return { addresses: glue.map((r) => (r.data as { address: string }).address), ttl: Math.min(...glue.map((r) => r.ttl)) };
    }
    try {
      const found = await this.#resolveAddresses(target, 'A+AAAA', signal);
      return { addresses: found.items.map((f) => f.address), ttl: found.ttl };
    } catch (err) {
      if (LbError.is(err) && (err.details['reason'] === 'nodata' || err.details['reason'] === 'nxdomain')) return undefined;
      throw err;
    }
  }

  async #resolveAddresses(name: string, type: 'A' | 'AAAA' | 'A+AAAA', signal: AbortSignal | undefined): Promise<{ items: Found[]; ttl: number }> {
    const families: ('A' | 'AAAA')[] = type === 'A+AAAA' ? ['A', 'AAAA'] : [type];
    const results = await Promise.allSettled(families.map((f) => this.#lookup(name, f, signal)));
    const items: Found[] = [];
    let ttl = Infinity;
    let firstError: unknown;
    for (const r of results) {
      if (r.status === 'rejected') {
        firstError ??= r.reason;
        continue;
      }
      for (const rec of r.value) {
        items.push({ address: rec.address, port: this.port ?? 0, weight: undefined, backup: false });
        ttl = Math.min(ttl, rec.ttl);
      }
    }
    if (items.length > 0) return { items, ttl };
    // Prefer the more telling error: a real failure over "no data" for one of the two families.
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as LbError);
    throw failures.find((e) => e.details?.['reason'] !== 'nodata') ?? firstError ?? dnsError('nodata', name, type, 'no address');
  }

  /** One A or AAAA lookup through a fresh c-ares channel, cancelled by our own clock so timeouts follow the injected clock. */
  #lookup(name: string, family: 'A' | 'AAAA', signal: AbortSignal | undefined): Promise<dns.RecordWithTtl[]> {
    if (signal?.aborted) return Promise.reject(new LbError('ERR_LB_ABORTED', `DNS ${family} ${name} was aborted`, { cause: signal.reason }));
    const resolver = new dns.promises.Resolver({ timeout: Math.max(1, Math.round(this.timeoutMs)), tries: 1 });
    resolver.setServers(this.#servers);
    let why: 'timeout' | 'abort' | undefined;
    const cancel = (reason: 'timeout' | 'abort'): void => {
      why ??= reason;
      resolver.cancel();
    };
    const timer = this.#clock.setTimeout(() => cancel('timeout'), this.timeoutMs * this.#servers.length);
    const onAbort = (): void => cancel('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    const query = family === 'A' ? resolver.resolve4(name, { ttl: true }) : resolver.resolve6(name, { ttl: true });
    return query.then(
      (records) => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        return records;
      },
      (err: NodeJS.ErrnoException) => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        if (why === 'abort') throw new LbError('ERR_LB_ABORTED', `DNS ${family} ${name} was aborted`, { cause: signal?.reason });
        if (why === 'timeout') throw dnsError('timeout', name, family, `no answer within ${this.timeoutMs} ms`, err);
        throw dnsError(failureOfCode(err.code), name, family, err.code ?? err.message, err);
      },
    );
  }
}

function toAnswer(items: readonly Found[], ttlSeconds: number): DnsAnswer {
  const unique = new Map<string, DiscoveredServer>();
  for (const f of items) {
    const key = `${f.address}|${f.port}`;
    const prev = unique.get(key);
    // One server per address:port; when two SRV records land on it, keep the larger weight and active over backup.
    if (prev !== undefined && (prev.weight ?? 1) >= (f.weight ?? 1) && !(prev.backup && !f.backup)) continue;
    unique.set(key, { host: f.address, port: f.port, ...(f.weight === undefined ? {} : { weight: f.weight }), ...(f.backup ? { backup: true } : {}) });
  }
  const servers = [...unique.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
  return { servers, ttlMs: Number.isFinite(ttlSeconds) ? ttlSeconds * 1000 : Infinity };
}
