import { type CheckResult, validCheckResult } from '../state/check-result.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';

/**
 * Where a fleet keeps its shared health, under `<prefix><pool>/` (names URI-encoded):
 * - `claims/<server>`: `{"by","addr"}` written with the prober's lease, created only if absent (the election);
 * - `results/<server>`: the last {@link PublishedCheck}, written only while the claim is the writer's (fenced);
 *   no lease, so the state outlives every instance and a restarting one starts from it;
 * - `reports/<server>/<instance>`: passive observation's `{"by","onError","result"}` with the reporter's lease
 *   (with `publishPassive`), asking the prober to check at once;
 * - `members/<instance>`: `{"by"}` with the instance's lease: the live instances, among which each server's
 *   preferred prober is chosen (`spreadProbers`).
 */
export class FleetKeys {
  /** `<prefix><pool>/`. */
  readonly base: string;

  constructor(prefix: string, pool: string) {
    this.base = `${prefix}${encodeURIComponent(pool)}/`;
  }

  claim(server: string): string {
    return `${this.base}claims/${encodeURIComponent(server)}`;
  }

  result(server: string): string {
    return `${this.base}results/${encodeURIComponent(server)}`;
  }

  report(server: string, identity: string): string {
    return `${this.base}reports/${encodeURIComponent(server)}/${encodeURIComponent(identity)}`;
  }

  member(identity: string): string {
    return `${this.base}members/${encodeURIComponent(identity)}`;
  }

  /**
   * What a key under {@link FleetKeys.base} is, or `undefined` for a key of no known kind. `name` is the server's
   * name (the instance's identity for `members`).
   */
  parse(key: string): { kind: 'claims' | 'results' | 'reports' | 'members'; name: string } | undefined {
    if (!key.startsWith(this.base)) return undefined;
    const parts = key.slice(this.base.length).split('/');
    const kind = parts[0];
    if ((kind !== 'claims' && kind !== 'results' && kind !== 'reports' && kind !== 'members') || parts[1] === undefined) return undefined;
    if (parts.length !== (kind === 'reports' ? 3 : 2)) return undefined;
    try {
      return { kind, name: decodeURIComponent(parts[1]) };
    } catch {
      return undefined;
    }
  }
}

/** The value of a claim key. */
export interface ClaimValue {
  /** Identity of the prober. */
  readonly by: string;
  /** `host:port` it probes. */
  readonly addr: string;
}

/**
 * One check result as the prober publishes it. Ordered by etcd's revision of the write, never by a clock, so
 * instances with skewed clocks agree; `term` (the create revision of the prober's claim) and `seq` (1, 2, … within
 * the term) let readers drop a duplicate written twice by a retried request.
 */
export interface PublishedCheck {
  readonly v: 1;
  /** Identity of the prober. */
  readonly by: string;
  /** `host:port` that was probed: readers whose server has another address ignore it. */
  readonly addr: string;
  readonly term: number;
  readonly seq: number;
  /** What the probe found (status, code, info, duration). */
  readonly result: CheckResult;
  /** The prober's health counter after the result, and its rise/fall. */
  readonly health: number;
  readonly rise: number;
  readonly fall: number;
  /** Whether the server was up (or starting, or NOLB) after the result, as the prober sees it. */
  readonly up: boolean;
}

/** Parses a published result; throws `ERR_LB_INVALID_ARG` naming the field. */
export function parsePublishedCheck(key: string, text: string): PublishedCheck {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw invalidArg(`value of ${key}`, 'must be JSON', text);
  }
  const o = v.plainObject(`value of ${key}`, data);
  if (o['v'] !== 1) throw invalidArg(`${key}: v`, 'must be 1', o['v']);
  const r = v.plainObject(`${key}: result`, o['result']);
  // Only the check's own fields: who ran it is the record's `by`.
  const result = validCheckResult({
    status: r['status'],
    ...(r['code'] === undefined ? {} : { code: r['code'] }),
    ...(r['info'] === undefined ? {} : { info: r['info'] }),
    ...(r['durationMs'] === undefined ? {} : { durationMs: r['durationMs'] }),
  } as CheckResult);
  return {
    v: 1,
    by: v.nonEmptyString(`${key}: by`, o['by']),
    addr: v.nonEmptyString(`${key}: addr`, o['addr']),
    term: v.positiveInteger(`${key}: term`, o['term']),
    seq: v.positiveInteger(`${key}: seq`, o['seq']),
    result,
    health: v.nonNegativeInteger(`${key}: health`, o['health']),
    rise: v.positiveInteger(`${key}: rise`, o['rise']),
    fall: v.positiveInteger(`${key}: fall`, o['fall']),
    up: v.boolean(`${key}: up`, o['up']),
  };
}

/** Parses a claim value; throws `ERR_LB_INVALID_ARG`. */
export function parseClaim(key: string, text: string): ClaimValue {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw invalidArg(`value of ${key}`, 'must be JSON', text);
  }
  const o = v.plainObject(`value of ${key}`, data);
  return { by: v.nonEmptyString(`${key}: by`, o['by']), addr: v.nonEmptyString(`${key}: addr`, o['addr']) };
}
