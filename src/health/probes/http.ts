import { invalidArg } from '../../errors.js';
import * as v from '../../internal/validate.js';
import type { Probe } from '../probe.js';
import { ProbeSocket, checkProxyHeader } from './probe-socket.js';
import { connectionErrorResult } from './socket-errors.js';

/** Options of {@link httpProbe}: HAProxy's `option httpchk <method> <uri> <version>` and `http-check expect status`. */
export interface HttpProbeOptions {
  /** Request method. @defaultValue 'OPTIONS' (HAProxy's default) */
  readonly method?: string;
  /** Request path. @defaultValue '/' */
  readonly path?: string;
  /** HTTP version of the request line. @defaultValue 'HTTP/1.0' */
  readonly version?: 'HTTP/1.0' | 'HTTP/1.1';
  /**
   * Extra request headers, written with lower-case names as HAProxy does; with HTTP/1.1 `connection: close` is
   * added unless given. @defaultValue {}
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Statuses that pass: codes and inclusive `[low, high]` ranges. @defaultValue [[200, 399]]
   * (HAProxy: any 2xx or 3xx)
   */
  readonly expectStatus?: readonly (number | readonly [number, number])[];
}

/** Default values of {@link HttpProbeOptions}. */
export const HTTP_PROBE_DEFAULTS = Object.freeze({
  method: 'OPTIONS',
  path: '/',
  version: 'HTTP/1.0' as const,
  expectStatus: Object.freeze([Object.freeze([200, 399] as const)]),
});

const OPTION_KEYS = ['method', 'path', 'version', 'headers', 'expectStatus'] as const;
/** Give up on a status line longer than this (HAProxy's check buffer is of this order). */
const MAX_STATUS_LINE = 16_384;
const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: ([^\r\n]*))?\r?$/;

/**
 * HAProxy's `option httpchk` on a TCP backend: sends one HTTP request on the check connection and judges the
 * status line. An expected status passes with `L7OK` and the code; another status fails with `L7STS`, the
 * code and the reason phrase (`Layer7 wrong status, code: 503, info: "Service Unavailable"`); a reply that is
 * not HTTP fails with `L7RSP`; silence fails with `L7TOUT`.
 *
 * @example
 * ```ts
 * const probe = httpProbe({ method: 'GET', path: '/health' })
 * ```
 */
export function httpProbe(options: HttpProbeOptions = {}): Probe {
  const o = v.plainObject('http probe options', options);
  v.knownKeys('http probe options', o, OPTION_KEYS);
  const method = o['method'] ?? HTTP_PROBE_DEFAULTS.method;
  if (typeof method !== 'string' || !/^[A-Z]+$/.test(method)) throw invalidArg('method', 'must be an upper-case HTTP method', method);
  const path = o['path'] ?? HTTP_PROBE_DEFAULTS.path;
  if (typeof path !== 'string' || !/^\S+$/.test(path)) throw invalidArg('path', 'must be a path without spaces', path);
  const version = v.oneOf('version', o['version'] ?? HTTP_PROBE_DEFAULTS.version, ['HTTP/1.0', 'HTTP/1.1']);
  const headers = v.plainObject('headers', o['headers'] ?? {});
  let head = `${method} ${path} ${version}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalidArg('headers', 'must have valid header names', name);
    if (typeof value !== 'string' || /[\r\n]/.test(value)) throw invalidArg(`headers.${name}`, 'must be a string without line breaks', value);
    // HAProxy's HTTP/1 output writes header names in lower case.
    head += `${name.toLowerCase()}: ${value}\r\n`;
  }
  if (version === 'HTTP/1.1' && !Object.keys(headers).some((h) => h.toLowerCase() === 'connection')) head += 'connection: close\r\n';
  const request = Buffer.from(`${head}\r\n`, 'latin1');
  const accepts = statusRanges(o['expectStatus'] ?? HTTP_PROBE_DEFAULTS.expectStatus);

  return async (_server, signal, ctx) => {
    ctx.setTimeoutResult({ status: 'L4TOUT' });
    let socket: ProbeSocket;
    try {
      socket = await ProbeSocket.connect(ctx.host, ctx.port, signal);
    } catch (err) {
      return connectionErrorResult(err);
    }
    try {
      ctx.connected();
      ctx.setTimeoutResult({ status: 'L7TOUT' });
      if (ctx.sendProxy !== undefined) socket.write(checkProxyHeader(ctx.sendProxy, socket));
      socket.write(request);
      for (;;) {
        const data = socket.received;
        const eol = data.indexOf(0x0a);
        if (eol < 0 && !socket.ended && data.length < MAX_STATUS_LINE) {
          await socket.more();
          continue;
        }
        const m = eol < 0 ? null : STATUS_LINE.exec(data.subarray(0, eol).toString('latin1'));
        if (m === null) return { status: 'L7RSP' };
        const code = Number(m[1]);
        if (accepts(code)) return { status: 'L7OK', code };
        const reason = (m[2] ?? '').trim();
        return reason === '' ? { status: 'L7STS', code } : { status: 'L7STS', code, info: reason };
      }
    } finally {
      socket.close();
    }
  };
}

function statusRanges(value: unknown): (code: number) => boolean {
  if (!Array.isArray(value) || value.length === 0) throw invalidArg('expectStatus', 'must be a non-empty array of codes or [low, high] ranges', value);
  const ranges = value.map((item: unknown, i): readonly [number, number] => {
    if (typeof item === 'number') {
      const code = v.integerInRange(`expectStatus[${i}]`, item, 100, 599);
      return [code, code];
    }
    if (!Array.isArray(item) || item.length !== 2) throw invalidArg(`expectStatus[${i}]`, 'must be a status code or a [low, high] range', item);
    const low = v.integerInRange(`expectStatus[${i}][0]`, item[0], 100, 599);
    const high = v.integerInRange(`expectStatus[${i}][1]`, item[1], low, 599);
    return [low, high];
  });
  return (code) => ranges.some(([low, high]) => code >= low && code <= high);
}
