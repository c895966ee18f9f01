import { invalidArg } from '../../errors.js';
import type { Server } from '../../server.js';
import type { PickContext } from '../strategy.js';
import type { RingAvoidance } from './chash-ring.js';
import { HASH_KEY_KINDS, type HashKeyKind } from './server-hash-key.js';
import type { HashKeyOf } from './chash-ring.js';

/** Largest `hashBalanceFactor` accepted (HAProxy takes any unsigned int; 100 000 % is already no bound). */
const MAX_FACTOR = 100_000;

/** @internal Validates `hashBalanceFactor`: 0 (off) or an integer above 100, as HAProxy's parser requires. */
export function validateBalanceFactor(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_FACTOR || (value > 0 && value <= 100)) {
    throw invalidArg('hashBalanceFactor', `must be 0 (off) or an integer from 101 to ${MAX_FACTOR} (a percentage of the average load)`, value);
  }
  return value;
}

/** @internal Validates `hashKey`: one of `'id'`, `'addr'`, `'addr-port'`, or a function of the server returning one. */
export function validateHashKey(value: unknown): HashKeyOf | undefined {
  if (value === undefined || value === 'id') return undefined;
  if (typeof value === 'string' && (HASH_KEY_KINDS as readonly string[]).includes(value)) {
    const kind = value as HashKeyKind;
    return () => kind;
  }
  if (typeof value === 'function') {
    const of = value as (server: Server) => unknown;
    return (server) => {
      const kind = of(server);
      if (typeof kind !== 'string' || !(HASH_KEY_KINDS as readonly string[]).includes(kind)) {
        throw invalidArg(`hashKey(${server.name})`, "must return 'id', 'addr' or 'addr-port'", kind);
      }
      return kind as HashKeyKind;
    };
  }
  throw invalidArg('hashKey', "must be 'id', 'addr', 'addr-port' or a function of the server returning one", value);
}

/**
 * @internal
 * HAProxy's bounded-load consistent hashing (`hash-balance-factor`, `src/lb_chash.c chash_server_is_eligible()`,
 * after Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads"), as a ring avoidance: a
 * lookup walks past a server that already has its share of `⌈(served + 1) × factor / 100⌉` slots, `served` being
 * the connections of the strategy's servers (the one being placed counted). The slots are shared by effective
 * weight: `weight × ⌊slots / Σweight⌋` each, and the remainder spread by cumulative weight in declaration order;
 * a server always has at least one slot.
 *
 * O(1) per server looked at; the weight prefix is rebuilt (O(servers)) only after a change of membership or weight.
 */
export class BoundedLoad implements RingAvoidance {
  readonly factor: number;
  #served = 0;
  #ctx: PickContext | undefined = undefined;
  readonly #cumulative = new Map<Server, number>();
  #totalWeight = 0;
  #stale = true;
  #seen: readonly Server[] | undefined = undefined;
  #seenLength = -1;

  constructor(factor: number) {
    this.factor = factor;
  }

  /** Connections counted as served (what HAProxy keeps in the backend's `served`). */
  get served(): number {
    return this.#served;
  }

  /** Starts over: the servers' current connections are what is served. */
  reset(active: readonly Server[], backup: readonly Server[]): void {
    let served = 0;
    for (const s of active) served += s.currentConnections;
    for (const s of backup) served += s.currentConnections;
    this.#served = served;
    this.#stale = true;
  }

  /** Membership or weights changed: the weight prefix is rebuilt at the next pick. */
  changed(): void {
    this.#stale = true;
  }

  acquired(): void {
    this.#served++;
  }

  released(): void {
    if (this.#served > 0) this.#served--;
  }

  /** Before a lookup among `candidates` (declaration order): brings the weight prefix up to date. */
  prepare(candidates: readonly Server[], ctx: PickContext): this {
    this.#ctx = ctx;
    if (this.#stale || candidates !== this.#seen || candidates.length !== this.#seenLength) {
      this.#cumulative.clear();
      let total = 0;
      for (const s of candidates) {
        this.#cumulative.set(s, total);
        total += s.effectiveWeight;
      }
      this.#totalWeight = total;
      this.#seen = candidates;
      this.#seenLength = candidates.length;
      this.#stale = false;
    }
    return this;
  }

  isExcluded(server: Server): boolean {
    return this.#ctx?.isExcluded(server) === true || !this.eligible(server);
  }

  /** True while `server` has fewer connections than its slots (HAProxy `chash_server_is_eligible()`). */
  eligible(server: Server): boolean {
    const total = this.#totalWeight;
    if (total <= 0) return true;
    const slotsTotal = Math.floor(((this.#served + 1) * this.factor + 99) / 100);
    const perWeight = Math.floor(slotsTotal / total);
    const remainder = slotsTotal % total;
    const w = server.effectiveWeight;
    const before = this.#cumulative.get(server) ?? 0;
    let slots = w * perWeight + Math.floor(((before + w) * remainder) / total) - Math.floor((before * remainder) / total);
    if (slots === 0) slots = 1;
    return server.currentConnections < slots;
  }
}
