/**
 * HTTP Basic authentication against the `stats auth <user>:<password>` list. Passwords are compared through
 * their SHA-256 digests with `timingSafeEqual`, so the time taken says nothing about how much of one matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** One `stats auth` entry. */
export interface StatsUser {
  readonly user: string;
  readonly password: string;
}

/** @internal A user list ready for checking. */
export class BasicAuth {
  readonly #users: ReadonlyMap<string, Buffer>;
  /** The `WWW-Authenticate` value of a 401. */
  readonly challenge: string;

  constructor(users: readonly StatsUser[], realm: string) {
    this.#users = new Map(users.map((u) => [u.user, digest(u.password)]));
    this.challenge = `Basic realm="${realm.replace(/["\\]/g, '')}", charset="UTF-8"`;
  }

  /** True when a user list is configured. */
  get enabled(): boolean {
    return this.#users.size > 0;
  }

  /** The user named by a valid `Authorization: Basic …` header, or undefined. */
  check(header: string | undefined): string | undefined {
    if (header === undefined || header.length > 4096) return undefined;
    const m = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
    if (m === null) return undefined;
    const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const expected = this.#users.get(user);
    // Compare even for an unknown user, so both cases take the same time.
    const ok = timingSafeEqual(digest(decoded.slice(colon + 1)), expected ?? digest('\u0000unknown user'));
    return ok && expected !== undefined ? user : undefined;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
