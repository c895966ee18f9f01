/**
 * `createStatsHandler(options)`: HAProxy's stats page (`stats uri`) as a `(req, res)` request listener for
 * `node:http` / `node:https` servers, and, with its optional third argument `next`, as an express/connect
 * middleware. Serves the HTML page, `;csv` (`show stat`), `;json` and the Prometheus metrics; with `admin`,
 * takes the page's form posts (drain, maintenance, ready, health, weight) behind authentication and the
 * cross-site checks of {@link CsrfGuard}. Never throws: every bad request gets a 4xx with the reason in its body.
 */
import type http from 'node:http';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { PROMETHEUS_CONTENT_TYPE, type PrometheusOptions, toPrometheus } from '../metrics/prometheus.js';
import { applyAction, readActionForm } from './admin-actions.js';
import { BasicAuth, type StatsUser } from './basic-auth.js';
import { CsrfGuard } from './csrf-guard.js';
import { pageLink, renderPage } from './page-html.js';
import { STATS_PAGE_CSP } from './page-style.js';
import { readTarget } from './request-target.js';
import { type StatsPageSource, resolveSource } from './stats-source.js';

/** Options of {@link createStatsHandler}. */
export interface StatsHandlerOptions {
  /** What the page shows: a `HaproxyInstance`, or pools / balancers / `{ pool, balancer?, proxy? }` / snapshots (one or a list). */
  readonly source: StatsPageSource;
  /** The page's URI prefix (`stats uri`); `;csv`, `;json`… follow it. Behind an express mount point, give the path as express passes it. @defaultValue '/haproxy?stats' */
  readonly uri?: string;
  /** Where the Prometheus metrics are served, or `false` for nowhere. @defaultValue '/metrics' */
  readonly metricsUri?: string | false;
  /** Options of the Prometheus rendering. @defaultValue {} */
  readonly prometheus?: PrometheusOptions;
  /** Refresh period of the page (`stats refresh`), sent as the `Refresh` header; whole seconds, at least 1000. @defaultValue undefined (no refresh) */
  readonly refreshMs?: number;
  /** Users allowed to see the page (`stats auth`), checked with HTTP Basic authentication; empty: no authentication. @defaultValue [] */
  readonly auth?: readonly StatsUser[];
  /** The Basic authentication realm. @defaultValue 'HAProxy Statistics' */
  readonly realm?: string;
  /** Serve the admin actions (`stats admin if TRUE`). Requires `auth`. @defaultValue false */
  readonly admin?: boolean;
  /** Leave the version out of the page (`stats hide-version`). @defaultValue false */
  readonly hideVersion?: boolean;
  /** Proxy and server tooltips with capability, id and address (`stats show-legends`). @defaultValue false */
  readonly showLegends?: boolean;
  /** Server rows per backend table; larger backends are paged (`;page=<backend>:<n>`). @defaultValue 200 */
  readonly pageSize?: number;
  /** Longest request target accepted; longer ones get 414. @defaultValue 2048 */
  readonly maxUrlLength?: number;
  /** Largest admin form body accepted; larger ones get 413. @defaultValue 65536 */
  readonly maxBodyBytes?: number;
  /** Other origins whose posts are accepted (a page behind a proxy that changes the scheme or host), e.g. `['https://lb.example.com']`. @defaultValue [] */
  readonly trustedOrigins?: readonly string[];
  /** Key of the forms' tokens; give the same one to every process behind one address. @defaultValue 32 random bytes per handler */
  readonly csrfSecret?: Uint8Array;
  /**
   * Receives HAProxy's log line of each change an admin action makes (`Server web/s1 enters drain state. …`).
   * @defaultValue for pools: a `[WARNING]` line on stderr, as HAProxy prints it; for an instance: none (the instance logs its changes itself)
   */
  readonly log?: (line: string) => void;
}

/** Default values of {@link StatsHandlerOptions}. */
export const STATS_HANDLER_DEFAULTS = Object.freeze({
  uri: '/haproxy?stats',
  metricsUri: '/metrics',
  realm: 'HAProxy Statistics',
  admin: false,
  hideVersion: false,
  showLegends: false,
  pageSize: 200,
  maxUrlLength: 2048,
  maxBodyBytes: 65_536,
});

const OPTION_KEYS = ['source', 'uri', 'metricsUri', 'prometheus', 'refreshMs', 'auth', 'realm', 'admin', 'hideVersion', 'showLegends', 'pageSize',
  'maxUrlLength', 'maxBodyBytes', 'trustedOrigins', 'csrfSecret', 'log'] as const;

/** A request listener for `http.createServer()`, also usable as connect/express middleware (`next` is called for other paths). */
export type StatsHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: (err?: unknown) => void) => void;

const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': STATS_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the page's own form posts.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
});

/**
 * Creates the stats page handler.
 *
 * @example
 * ```ts
 * const stats = createStatsHandler({ source: [webBalancer, { pool: dbBalancer, proxy: dbProxy }], uri: '/stats', refreshMs: 5000 })
 * http.createServer(stats).listen(8404, '127.0.0.1')
 * ```
 */
export function createStatsHandler(options: StatsHandlerOptions): StatsHandler {
  const o = v.plainObject('stats handler options', options);
  v.knownKeys('stats handler options', o, OPTION_KEYS);
  const source = resolveSource(o['source']);
  const uri = uriOption('uri', o['uri'] ?? STATS_HANDLER_DEFAULTS.uri);
  const metricsRaw = o['metricsUri'] ?? STATS_HANDLER_DEFAULTS.metricsUri;
  const metricsUri = metricsRaw === false ? undefined : uriOption('metricsUri', metricsRaw);
  if (metricsUri === uri) throw invalidArg('metricsUri', 'must differ from uri', metricsUri);
  const refreshMs = o['refreshMs'] === undefined ? undefined : v.integerInRange('refreshMs', o['refreshMs'], 1000, 2_147_483_647);
  const users = usersOption(o['auth'] ?? []);
  const realm = v.nonEmptyString('realm', o['realm'] ?? STATS_HANDLER_DEFAULTS.realm);
  const admin = v.boolean('admin', o['admin'] ?? false);
  if (admin && users.length === 0) throw invalidArg('admin', 'needs auth: admin actions are never served without authentication', admin);
  const hideVersion = v.boolean('hideVersion', o['hideVersion'] ?? false);
  const showLegends = v.boolean('showLegends', o['showLegends'] ?? false);
  const pageSize = v.integerInRange('pageSize', o['pageSize'] ?? STATS_HANDLER_DEFAULTS.pageSize, 1, 100_000);
  const maxUrlLength = v.integerInRange('maxUrlLength', o['maxUrlLength'] ?? STATS_HANDLER_DEFAULTS.maxUrlLength, 64, 65_536);
  const maxBodyBytes = v.integerInRange('maxBodyBytes', o['maxBodyBytes'] ?? STATS_HANDLER_DEFAULTS.maxBodyBytes, 256, 16_777_216);
  const trusted = o['trustedOrigins'] ?? [];
  if (!Array.isArray(trusted) || !trusted.every((t) => typeof t === 'string' && /^https?:\/\/[^/]+$/.test(t))) {
    throw invalidArg('trustedOrigins', 'must be a list of origins such as https://lb.example.com', trusted);
  }
  const secret = o['csrfSecret'];
  if (secret !== undefined && (!(secret instanceof Uint8Array) || secret.length < 16)) throw invalidArg('csrfSecret', 'must be a Uint8Array of at least 16 bytes', secret);
  const log = o['log'] === undefined ? (source.logsItself ? undefined : stderrLog) : fnOption('log', o['log']);
  const prometheus = (o['prometheus'] ?? {}) as PrometheusOptions;
  toPrometheus([], prometheus); // validates the options once
  const auth = new BasicAuth(users, realm);
  const guard = new CsrfGuard(secret as Uint8Array | undefined, trusted as string[]);

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, next: ((err?: unknown) => void) | undefined): void => {
    const target = readTarget(req.url ?? '/', uri, metricsUri, maxUrlLength);
    if (target.kind === 'not-mine') {
      if (typeof next === 'function') next();
      else send(req, res, 404, 'text/plain; charset=utf-8', 'Not Found: this server only serves the stats page\n');
      return;
    }
    if (target.kind === 'refused') {
      send(req, res, target.status, 'text/plain; charset=utf-8', `${STATUS_TEXT[target.status]}: ${target.message}\n`);
      return;
    }
    const user = auth.enabled ? auth.check(header(req, 'authorization')) : '';
    if (user === undefined) {
      send(req, res, 401, 'text/plain; charset=utf-8', 'Unauthorized: this page needs a user name and password\n', { 'www-authenticate': auth.challenge });
      return;
    }
    const method = req.method ?? 'GET';
    const post = method === 'POST' && admin && target.kind === 'page' && target.view === 'html';
    if (method !== 'GET' && method !== 'HEAD' && !post) {
      const allow = admin && target.kind === 'page' && target.view === 'html' ? 'GET, HEAD, POST' : 'GET, HEAD';
      send(req, res, 405, 'text/plain; charset=utf-8', `Method Not Allowed: ${method.slice(0, 20)} (allowed: ${allow}${admin ? '' : '; admin actions are not enabled'})\n`, { allow });
      return;
    }
    if (post) {
      receiveAction(req, res, user);
      return;
    }
    if (target.kind === 'metrics') {
      send(req, res, 200, PROMETHEUS_CONTENT_TYPE, toPrometheus(source.prometheusInput(), prometheus));
      return;
    }
    if (target.view === 'csv') {
      send(req, res, 200, 'text/plain; charset=utf-8', source.csv());
      return;
    }
    if (target.view === 'json') {
      send(req, res, 200, 'application/json; charset=utf-8', `${JSON.stringify(source.records())}\n`);
      return;
    }
    const refreshSec = refreshMs === undefined ? undefined : Math.round(refreshMs / 1000);
    const html = renderPage({
      records: source.records(),
      version: hideVersion ? undefined : (source.version ?? 'switchyard'),
      pid: source.pid,
      uptimeSec: source.uptimeSec(),
      connections: source.connections(),
      uri,
      metricsUri,
      upOnly: target.up,
      noRefresh: target.norefresh,
      refreshSec,
      page: target.page,
      pageSize,
      done: target.done,
      showLegends,
      capability: source.capability,
      admin: admin ? { action: uri, token: guard.token(user) } : undefined,
    });
    send(req, res, 200, 'text/html; charset=utf-8', html, refreshSec === undefined || target.norefresh ? {} : { refresh: String(refreshSec) });
  };

  const receiveAction = (req: http.IncomingMessage, res: http.ServerResponse, user: string): void => {
    const early = guard.refuseHeaders(req);
    if (early !== undefined) {
      send(req, res, 403, 'text/plain; charset=utf-8', `Forbidden: ${early}; nothing changed\n`);
      return;
    }
    const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      send(req, res, 415, 'text/plain; charset=utf-8', 'Unsupported Media Type: admin actions are posted as application/x-www-form-urlencoded; nothing changed\n');
      return;
    }
    readBody(req, maxBodyBytes, (body) => {
      if (body === undefined) {
        send(req, res, 413, 'text/plain; charset=utf-8', `Content Too Large: the form is larger than ${maxBodyBytes} bytes; nothing changed\n`, { connection: 'close' });
        return;
      }
      const form = readActionForm(body);
      if (typeof form === 'string') {
        send(req, res, 400, 'text/plain; charset=utf-8', `Bad Request: ${form}; nothing changed\n`);
        return;
      }
      const refused = guard.refuseToken(user, form.token);
      if (refused !== undefined) {
        send(req, res, 403, 'text/plain; charset=utf-8', `Forbidden: ${refused}; nothing changed\n`);
        return;
      }
      const result = applyAction(source, form, log);
      if (!result.ok) {
        send(req, res, result.status, 'text/plain; charset=utf-8', `${STATUS_TEXT[result.status]}: ${result.message}; nothing changed\n`);
        return;
      }
      // Post/redirect/get, as HAProxy does: a reload does not post again.
      send(req, res, 303, 'text/plain; charset=utf-8', 'See Other\n', { location: pageLink(uri, { extra: 'st=DONE' }) });
    });
  };

  return (req, res, next) => {
    try {
      serve(req, res, next);
    } catch (err) {
      fail(req, res, err);
    }
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Content Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type',
};

function send(req: http.IncomingMessage, res: http.ServerResponse, status: number, type: string, body: string, extra: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) return;
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...SECURITY_HEADERS, ...extra, 'content-type': type, 'content-length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  try {
    send(req, res, 500, 'text/plain; charset=utf-8', `Internal Server Error: ${(err as Error)?.message ?? String(err)}\n`);
  } catch {
    res.destroy();
  }
}

/** Collects a body of at most `max` bytes; `undefined` when it is larger (the rest is not read). */
function readBody(req: http.IncomingMessage, max: number, done: (body: string | undefined) => void): void {
  const pre = (req as { body?: unknown }).body;
  // A body parser ran before us (express.urlencoded / express.text): use what it read.
  if (typeof pre === 'string') return done(Buffer.byteLength(pre) > max ? undefined : pre);
  if (typeof pre === 'object' && pre !== null && req.readableEnded) {
    const params = new URLSearchParams();
    for (const [k, val] of Object.entries(pre as Record<string, unknown>)) for (const x of Array.isArray(val) ? val : [val]) params.append(k, String(x));
    const text = params.toString();
    return done(Buffer.byteLength(text) > max ? undefined : text);
  }
  const declared = Number(header(req, 'content-length') ?? '0');
  if (declared > max) return done(undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (body: string | undefined): void => {
    if (finished) return;
    finished = true;
    req.off('data', onData);
    done(body);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > max) {
      req.pause();
      finish(undefined);
      return;
    }
    chunks.push(chunk);
  };
  req.on('data', onData);
  req.once('end', () => finish(Buffer.concat(chunks).toString('utf8')));
  req.once('error', () => {
    finished = true;
  });
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function uriOption(field: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 256 || /[\s\\#]/.test(value)) {
    throw invalidArg(field, 'must be a path starting with / (at most 256 characters, no space, backslash or #)', value);
  }
  return value;
}

function usersOption(value: unknown): StatsUser[] {
  if (!Array.isArray(value)) throw invalidArg('auth', 'must be a list of { user, password }', value);
  return value.map((u: unknown, i) => {
    const o = v.plainObject(`auth[${i}]`, u);
    v.knownKeys(`auth[${i}]`, o, ['user', 'password']);
    const user = v.nonEmptyString(`auth[${i}].user`, o['user']);
    if (user.includes(':')) throw invalidArg(`auth[${i}].user`, 'must not contain a colon', user);
    if (typeof o['password'] !== 'string') throw invalidArg(`auth[${i}].password`, 'must be a string', o['password']);
    return { user, password: o['password'] };
  });
}

function fnOption(field: string, value: unknown): (line: string) => void {
  if (typeof value !== 'function') throw invalidArg(field, 'must be a function', value);
  return value as (line: string) => void;
}

function stderrLog(line: string): void {
  process.stderr.write(`[WARNING]  (${process.pid}) : ${line}\n`);
}
