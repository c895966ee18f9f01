/**
 * Protection of the admin actions against cross-site requests, three checks that must all pass:
 * 1. `Sec-Fetch-Site`, when the browser sends it, must be `same-origin` (or `none`: typed by the user);
 * 2. `Origin`, when present, must be the page's own origin (or one of `trustedOrigins`, for a page behind a
 *    proxy that changes the host or the scheme);
 * 3. the form's `token` must be the one the page was rendered with: an HMAC of the authenticated user under a
 *    secret of the handler, which another site cannot read (same-origin policy) and so cannot forge.
 * Browsers send Basic credentials with cross-site form posts, so authentication alone would not do.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** @internal Issues and checks the tokens of one handler. */
export class CsrfGuard {
  readonly #secret: Buffer;
  readonly #trusted: ReadonlySet<string>;

  constructor(secret: Uint8Array | undefined, trustedOrigins: readonly string[]) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
    this.#trusted = new Set(trustedOrigins.map((o) => o.toLowerCase()));
  }

  /** The token of the forms shown to `user`. */
  token(user: string): string {
    return createHmac('sha256', this.#secret).update(`switchyard-stats\u0000${user}`, 'utf8').digest('base64url');
  }

  /** Why the request's headers mark it as cross-site (checks 1 and 2), or undefined. */
  refuseHeaders(req: http.IncomingMessage): string | undefined {
    const site = header(req, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return `cross-site request refused (Sec-Fetch-Site: ${site})`;
    const origin = header(req, 'origin');
    if (origin !== undefined) {
      const own = ownOrigin(req);
      const o = origin.toLowerCase();
      if (o !== own && !this.#trusted.has(o)) return `cross-site request refused (Origin: ${origin.slice(0, 100)})`;
    }
    return undefined;
  }

  /** Why the form's token is refused (check 3), or undefined. */
  refuseToken(user: string, token: string | undefined): string | undefined {
    if (token === undefined || token === '') return 'the form has no token: reload the page';
    const expected = Buffer.from(this.token(user));
    const given = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the form token is not valid: reload the page';
    return undefined;
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `http(s)://<Host>` of the request as the browser addressed it. */
function ownOrigin(req: http.IncomingMessage): string {
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? 'https' : 'http'}://${(header(req, 'host') ?? '').toLowerCase()}`;
}
