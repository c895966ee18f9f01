import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { Clock } from '../clock.js';
import { backoffMs, etcdCall, etcdError, pause } from './etcd-call.js';
import type { EtcdClient } from './etcd-client.js';

/** One key under a watched prefix, as etcd stores it. Revisions are etcd's (cluster-wide, never wall-clock time). */
export interface EtcdEntry {
  /** The full key (within the client's namespace). */
  readonly key: string;
  /** The value, as UTF-8 text. */
  readonly value: string;
  /** Revision of the last change of this key. */
  readonly modRevision: number;
  /** Revision at which this key was created (0 for a deleted key). */
  readonly createRevision: number;
  /** Lease the key is attached to, `'0'` for none. */
  readonly lease: string;
}

/** A change of one key seen by the watch. */
export interface EtcdChange extends EtcdEntry {
  readonly type: 'put' | 'delete';
}

/**
 * What {@link followPrefix} yields:
 * - `snapshot`: every key under the prefix at `revision` (the first item, and again after a resync: a reset);
 * - `changes`: the changes after the previous item, in revision order, none lost or repeated;
 * - `disconnected`: the watch stream broke; it is resumed from the last revision seen (`error` says why).
 */
export type PrefixEvent =
  | { readonly kind: 'snapshot'; readonly revision: number; readonly entries: ReadonlyMap<string, EtcdEntry> }
  | { readonly kind: 'changes'; readonly revision: number; readonly changes: readonly EtcdChange[] }
  | { readonly kind: 'disconnected'; readonly error: unknown };

/** Options of {@link followPrefix}. */
export interface FollowPrefixOptions {
  readonly clock: Clock;
  /** Longest wait for the range read and for the watch to be created, ms. */
  readonly timeoutMs: number;
  /** First delay before re-creating a broken watch, ms; doubles up to `maxRetryMs`. */
  readonly retryMs: number;
  readonly maxRetryMs: number;
}

/** Reads every key under `prefix` at one revision. */
export async function readPrefix(
  client: EtcdClient, prefix: string, o: Pick<FollowPrefixOptions, 'clock' | 'timeoutMs'>, signal?: AbortSignal,
): Promise<{ revision: number; entries: Map<string, EtcdEntry> }> {
  const res = await etcdCall(`range ${prefix}`, () => client.getAll().prefix(prefix).exec(), o.clock, o.timeoutMs, signal);
  const entries = new Map<string, EtcdEntry>();
  for (const kv of res.kvs) {
    const entry = toEntry(kv);
    entries.set(entry.key, entry);
  }
  return { revision: Number(res.header.revision), entries };
}

type Item = { kind: 'data'; res: IWatchResponse } | { kind: 'disconnected'; error: unknown } | { kind: 'error'; error: unknown };

/**
 * Follows every key under `prefix`, revision-consistently: one range read at revision R, then a watch from
 * R + 1, so no change between the read and the watch is lost. When the watch stream breaks it is created again
 * from the last revision seen + 1 (not from etcd3's own resume point, which can skip events); when etcd
 * refuses that revision (compacted) or cancels the watch, the prefix is read again and a new `snapshot` yielded.
 * Ends when `signal` aborts; a failed read throws an `ERR_LB_ETCD` error (`ERR_LB_ABORTED` when aborted during it).
 */
export async function* followPrefix(client: EtcdClient, prefix: string, signal: AbortSignal, o: FollowPrefixOptions): AsyncGenerator<PrefixEvent> {
  let snapshot = await readPrefix(client, prefix, o, signal);
  let revision = snapshot.revision;
  yield { kind: 'snapshot', revision, entries: snapshot.entries };
  let failures = 0;
  while (!signal.aborted) {
    const queue: Item[] = [];
    let wake: (() => void) | undefined;
    const push = (item: Item): void => {
      queue.push(item);
      wake?.();
    };
    // watcher() attaches at once and can be cancelled in any state (create() cannot while it waits).
    const watcher: Watcher = client.watch().prefix(prefix).startRevision(String(revision + 1)).watcher();
    const onData = (res: IWatchResponse): void => push({ kind: 'data', res });
    const onDisconnected = (error: unknown): void => push({ kind: 'disconnected', error });
    const onError = (error: unknown): void => push({ kind: 'error', error });
    const onAbort = (): void => wake?.();
    watcher.on('data', onData);
    watcher.on('disconnected', onDisconnected);
    watcher.on('error', onError);
    signal.addEventListener('abort', onAbort);
    let resync = false;
    try {
      for (;;) {
        while (queue.length === 0 && !signal.aborted) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (signal.aborted) return;
        const item = queue.shift()!;
        if (item.kind === 'data') {
          failures = 0;
          const changes = item.res.events.map((ev) => ({ type: ev.type === 'Delete' ? 'delete' : 'put', ...toEntry(ev.kv) }) as EtcdChange);
          // A catch-up batch may stop short of the header's revision (etcd sends at most 1 000 revisions at once):
          // resume after the last event received, or after the header when the answer carries none (progress).
          const last = changes.length > 0 ? changes[changes.length - 1]!.modRevision : Number(item.res.header.revision);
          if (last > revision) revision = last;
          if (changes.length > 0) yield { kind: 'changes', revision, changes };
        } else if (item.kind === 'disconnected') {
          failures++;
          yield { kind: 'disconnected', error: etcdError(`watch ${prefix}`, 'unavailable', item.error) };
          break;
        } else {
          resync = true;
          break;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      watcher.off('data', onData);
      watcher.off('disconnected', onDisconnected);
      watcher.off('error', onError);
      watcher.on('error', ignore);
      watcher.cancel().catch(ignore);
    }
    if (resync) {
      snapshot = await readPrefix(client, prefix, o, signal);
      revision = snapshot.revision;
      yield { kind: 'snapshot', revision, entries: snapshot.entries };
    } else {
      await pause(o.clock, backoffMs(failures, o.retryMs, o.maxRetryMs), signal);
    }
  }
}

function toEntry(kv: IKeyValue): EtcdEntry {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    lease: String(kv.lease ?? '0'),
  };
}

function ignore(): void {}
