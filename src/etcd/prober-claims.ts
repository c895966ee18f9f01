import type { Clock } from '../clock.js';
import { etcdCall } from './etcd-call.js';
import type { EtcdClient } from './etcd-client.js';
import { type ClaimValue, type FleetKeys, type PublishedCheck, parseClaim } from './fleet-record.js';

/** The holder of a claim as etcd stores it. */
export interface ClaimHolder extends ClaimValue {
  /** The lease the claim is attached to. */
  readonly lease: string;
  /** Revision that created the claim: the prober's term. */
  readonly createRevision: number;
}

/** A claim this instance holds: the lease it was written with, and its term (create revision). */
export interface HeldClaim {
  readonly lease: string;
  readonly term: number;
}

/**
 * The etcd transactions of shared health, each one atomic on the server:
 * - **claim**: create `claims/<server>` with this instance's lease only if it does not exist (the election);
 * - **publish**: write `results/<server>` only if the claim still carries this instance's lease *and* was created
 *   at this term: a prober that lost its lease (paused, partitioned) and another instance's claim since are told
 *   apart by etcd, not by a clock, so a stale result is never written;
 * - **release**: delete the claim only if it is still this instance's;
 * - **join**: list this instance among the live ones (`members/<identity>`, on its lease).
 * @internal Used by {@link FleetHealth}.
 */
export class ProberClaims {
  readonly #client: EtcdClient;
  readonly #keys: FleetKeys;
  readonly #clock: Clock;
  readonly #timeoutMs: number;

  constructor(client: EtcdClient, keys: FleetKeys, clock: Clock, timeoutMs: number) {
    this.#client = client;
    this.#keys = keys;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** Tries to become the prober of `server`; on a loss, says who holds it (unless it vanished meanwhile). */
  async claim(server: string, value: ClaimValue, leaseId: string): Promise<{ won: true; term: number } | { won: false; holder: ClaimHolder | undefined }> {
    const key = this.#keys.claim(server);
    const client = this.#client;
    const res = await etcdCall(
      `claim ${key}`,
      () => client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(value)).lease(leaseId)).else(client.get(key)).commit(),
      this.#clock,
      this.#timeoutMs,
    );
    if (res.succeeded) return { won: true, term: Number(res.header.revision) };
    const kv = res.responses[0]?.response_range?.kvs[0];
    if (kv === undefined) return { won: false, holder: undefined };
    let claim: ClaimValue;
    try {
      claim = parseClaim(key, kv.value.toString('utf8'));
    } catch {
      claim = { by: '?', addr: '?' };
    }
    return { won: false, holder: { ...claim, lease: String(kv.lease), createRevision: Number(kv.create_revision) } };
  }

  /** Writes a result if this instance still holds the claim at `term`; returns the revision written, or `undefined` when fenced. */
  async publish(server: string, leaseId: string, term: number, record: PublishedCheck): Promise<number | undefined> {
    const claim = this.#keys.claim(server);
    const key = this.#keys.result(server);
    const client = this.#client;
    const res = await etcdCall(
      `publish ${key}`,
      () => client.if(claim, 'Lease', '==', leaseId).and(claim, 'Create', '==', term).then(client.put(key).value(JSON.stringify(record))).commit(),
      this.#clock,
      this.#timeoutMs,
    );
    return res.succeeded ? Number(res.header.revision) : undefined;
  }

  /** Deletes the claim if it is still held with `leaseId` (a graceful hand-over). */
  async release(server: string, leaseId: string): Promise<void> {
    const key = this.#keys.claim(server);
    const client = this.#client;
    await etcdCall(`release ${key}`, () => client.if(key, 'Lease', '==', leaseId).then(client.delete().key(key)).commit(), this.#clock, this.#timeoutMs);
  }

  /** Lists this instance as a live member of the fleet, for as long as `leaseId` lives. */
  async join(identity: string, leaseId: string): Promise<void> {
    const key = this.#keys.member(identity);
    await etcdCall(`join ${key}`, () => this.#client.put(key).value(JSON.stringify({ by: identity })).lease(leaseId).exec(), this.#clock, this.#timeoutMs);
  }

  /** Publishes a passive-observation report under `leaseId` (gone with the reporter). */
  async report(server: string, identity: string, leaseId: string, value: unknown): Promise<void> {
    const key = this.#keys.report(server, identity);
    await etcdCall(`report ${key}`, () => this.#client.put(key).value(JSON.stringify(value)).lease(leaseId).exec(), this.#clock, this.#timeoutMs);
  }
}
