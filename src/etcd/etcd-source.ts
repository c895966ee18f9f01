import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from '../clock.js';
import type { DiscoveredServer } from '../discovery/server-list-source.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { type EtcdClient, checkClient } from './etcd-client.js';
import { type EtcdEntry, followPrefix, readPrefix } from './prefix-watch.js';
import { type EntryFormat, formatAddr, parseServerEntry } from './server-entry.js';

/** Options of {@link EtcdSource}. */
export interface EtcdSourceOptions {
  /** The etcd3 client (or a namespace of one). Yours to close. */
  readonly client: EtcdClient;
  /**
   * Key prefix of the service: the gRPC target name (`my-service`, keys `my-service/<addr>`) or any prefix
   * (`services/pg`). A `/` is appended when missing, so `pg` does not also match `pg-old/…`.
   */
  readonly prefix: string;
  /** Value format: `auto` reads both (see {@link EntryFormat}). @defaultValue 'auto' */
  readonly format?: EntryFormat;
  /** Only registrations carrying every one of these tags (plain JSON format; gRPC entries have none). @defaultValue [] */
  readonly tags?: readonly string[];
  /** Longest wait for the range read and for the watch to start, ms. @defaultValue 5000 */
  readonly timeoutMs?: number;
  /** Source of time for the timeouts. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Default values of {@link EtcdSourceOptions}. */
export const ETCD_SOURCE_DEFAULTS = Object.freeze({ format: 'auto' as EntryFormat, timeoutMs: 5000 });

/** Events of an {@link EtcdSource}. */
export interface EtcdSourceEvents {
  /** A registration could not be read; it is left out of the list (the others still count). Once per key revision. */
  'entry:invalid': [key: string, error: unknown];
}

const OPTION_KEYS = ['client', 'prefix', 'format', 'tags', 'timeoutMs', 'clock'] as const;

/**
 * Servers registered under an etcd key prefix, as a source for `followServers`: one range read, then a
 * watch from the next revision (no registration added or removed in between is missed), yielding the full
 * list each time it changes. Reads etcd's gRPC naming format (Go services registered with the endpoints
 * manager) and switchyard's plain JSON format (weight, backup, tags, drain). When the watch breaks, `watch()`
 * throws an `ERR_LB_ETCD` error: `followServers` keeps the last good list, reports `discovery:error` and
 * reads again after its retry delay.
 *
 * @example
 * ```ts
 * const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' })
 * const discovery = followServers(pool, new EtcdSource({ client: etcd, prefix: 'my-service' }), { defaults: { check: true } })
 * ```
 */
export class EtcdSource extends EventEmitter<EtcdSourceEvents> {
  /** The key prefix, ending in `/`. */
  readonly prefix: string;
  readonly format: EntryFormat;
  readonly tags: readonly string[];
  readonly timeoutMs: number;
  readonly #client: EtcdClient;
  readonly #clock: Clock;
  readonly #reported = new Map<string, number>();

  constructor(options: EtcdSourceOptions) {
    super();
    const o = v.plainObject('etcd source options', options);
    v.knownKeys('etcd source options', o, OPTION_KEYS);
    this.#client = checkClient(o['client']);
    const prefix = v.nonEmptyString('prefix', o['prefix']);
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.format = v.oneOf('format', o['format'] ?? ETCD_SOURCE_DEFAULTS.format, ['auto', 'grpc', 'json']);
    const tags = o['tags'] ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) throw invalidArg('tags', 'must be an array of non-empty strings', tags);
    this.tags = Object.freeze([...(tags as string[])]);
    this.timeoutMs = v.durationMs('timeoutMs', o['timeoutMs'] ?? ETCD_SOURCE_DEFAULTS.timeoutMs, { allowZero: false });
    this.#clock = (o['clock'] as Clock | undefined) ?? systemClock;
  }

  /** Reads the registrations once: the servers and the etcd revision they were read at. */
  async list(signal?: AbortSignal): Promise<{ servers: DiscoveredServer[]; revision: number }> {
    const { revision, entries } = await readPrefix(this.#client, this.prefix, { clock: this.#clock, timeoutMs: this.timeoutMs }, signal);
    return { servers: this.#servers(entries), revision };
  }

  /** The async generator `followServers` uses: the full list first, then every time it changes. */
  async *watch(signal: AbortSignal): AsyncGenerator<DiscoveredServer[]> {
    const entries = new Map<string, EtcdEntry>();
    let last: string | undefined;
    const events = followPrefix(this.#client, this.prefix, signal, {
      clock: this.#clock, timeoutMs: this.timeoutMs, retryMs: 500, maxRetryMs: 5000,
    });
    for await (const ev of events) {
      if (ev.kind === 'disconnected') throw ev.error;
      if (ev.kind === 'snapshot') {
        entries.clear();
        for (const [key, entry] of ev.entries) entries.set(key, entry);
      } else {
        for (const change of ev.changes) {
          if (change.type === 'delete') entries.delete(change.key);
          else entries.set(change.key, change);
        }
      }
      const servers = this.#servers(entries);
      const text = JSON.stringify(servers);
      if (text === last) continue;
      last = text;
      yield servers;
    }
  }

  #servers(entries: ReadonlyMap<string, EtcdEntry>): DiscoveredServer[] {
    const out: DiscoveredServer[] = [];
    const names = new Set<string>();
    for (const key of [...entries.keys()].sort()) {
      const entry = entries.get(key)!;
      try {
        const parsed = parseServerEntry(key, entry.value, this.format);
        if (parsed === undefined || !this.tags.every((t) => parsed.tags.includes(t))) continue;
        const name = parsed.server.name ?? formatAddr(parsed.server.host, parsed.server.port);
        // Two keys for one server (say, a gRPC and a JSON registration): the first key wins.
        if (names.has(name)) throw invalidArg(`${key}: name`, 'is already registered under another key of the prefix', name);
        names.add(name);
        out.push(parsed.server);
      } catch (err) {
        if (this.#reported.get(key) !== entry.modRevision) {
          this.#reported.set(key, entry.modRevision);
          this.emit('entry:invalid', key, err);
        }
      }
    }
    return out;
  }
}
