import { type FleetKeys, type PublishedCheck, parseClaim, parsePublishedCheck } from './fleet-record.js';
import type { EtcdEntry } from './prefix-watch.js';
import type { ClaimHolder } from './prober-claims.js';

/** What one key change meant, for {@link FleetHealth} to act on. */
export type ViewChange =
  | { readonly kind: 'claim'; readonly server: string }
  | { readonly kind: 'result'; readonly server: string; readonly record: PublishedCheck; readonly modRevision: number }
  | { readonly kind: 'invalid'; readonly server: string; readonly error: unknown }
  | { readonly kind: 'report'; readonly server: string }
  | { readonly kind: 'members' }
  | { readonly kind: 'none' };

/**
 * What etcd says about one pool's shared health, as the watch reports it: the live instances, who holds each
 * claim, the last published result of each server, and the last result applied here (its revision, term and
 * sequence, so a result is applied once and in revision order).
 * @internal Used by {@link FleetHealth}.
 */
export class FleetView {
  readonly #keys: FleetKeys;
  readonly #claims = new Map<string, ClaimHolder>();
  /** Identities of the live instances (their `members/` keys). */
  readonly #members = new Set<string>();
  readonly #records = new Map<string, { record: PublishedCheck; modRevision: number }>();
  readonly #applied = new Map<string, { modRevision: number; term: number; seq: number }>();

  constructor(keys: FleetKeys) {
    this.#keys = keys;
  }

  /** The identities of the live instances, as etcd last said. */
  members(): ReadonlySet<string> {
    return this.#members;
  }

  claim(server: string): ClaimHolder | undefined {
    return this.#claims.get(server);
  }

  /** Records a claim learnt from a transaction's answer, unless the watch already knows a newer one. */
  learnClaim(server: string, holder: ClaimHolder): void {
    if ((this.#claims.get(server)?.createRevision ?? 0) <= holder.createRevision) this.#claims.set(server, holder);
  }

  forgetClaim(server: string): void {
    this.#claims.delete(server);
  }

  record(server: string): { record: PublishedCheck; modRevision: number } | undefined {
    return this.#records.get(server);
  }

  records(): IterableIterator<[string, { record: PublishedCheck; modRevision: number }]> {
    return this.#records.entries();
  }

  /** Revision of the last result applied (or skipped as already known) for `server`, 0 if none. */
  appliedRevision(server: string): number {
    return this.#applied.get(server)?.modRevision ?? 0;
  }

  /** Marks `record` as known without applying it (read in a snapshot, or seen while checking locally). */
  markApplied(server: string, record: PublishedCheck, modRevision: number): void {
    this.#applied.set(server, { modRevision, term: record.term, seq: record.seq });
  }

  forgetApplied(server: string): void {
    this.#applied.delete(server);
  }

  /**
   * True when a published result is new and must be applied: a later revision than the last one, and not the
   * same result written twice by a retried request (same term, a sequence already seen). Marks it known either way.
   */
  accept(server: string, record: PublishedCheck, modRevision: number): boolean {
    const previous = this.#applied.get(server);
    if (previous !== undefined && modRevision <= previous.modRevision) return false;
    this.markApplied(server, record, modRevision);
    return previous === undefined || previous.term !== record.term || record.seq > previous.seq;
  }

  /** Starts over from a snapshot: claims and members are replaced; results are kept by key and updated. */
  reset(): void {
    this.#claims.clear();
    this.#members.clear();
  }

  /** Takes in one key (from a snapshot or a change) and says what it was. */
  ingest(entry: EtcdEntry, deleted: boolean): ViewChange {
    const what = this.#keys.parse(entry.key);
    if (what === undefined) return { kind: 'none' };
    const server = what.name;
    if (what.kind === 'members') {
      if (deleted) this.#members.delete(server);
      else this.#members.add(server);
      return { kind: 'members' };
    }
    if (what.kind === 'reports') return deleted ? { kind: 'none' } : { kind: 'report', server };
    if (what.kind === 'claims') {
      if (deleted) this.#claims.delete(server);
      else {
        let value;
        try {
          value = parseClaim(entry.key, entry.value);
        } catch {
          value = { by: '?', addr: '?' };
        }
        this.#claims.set(server, { ...value, lease: entry.lease, createRevision: entry.createRevision });
      }
      return { kind: 'claim', server };
    }
    if (deleted) {
      this.#records.delete(server);
      return { kind: 'none' };
    }
    try {
      const record = parsePublishedCheck(entry.key, entry.value);
      this.#records.set(server, { record, modRevision: entry.modRevision });
      return { kind: 'result', server, record, modRevision: entry.modRevision };
    } catch (error) {
      return { kind: 'invalid', server, error };
    }
  }
}
