/**
 * The `log` keyword (global and proxy sections, `doc/configuration.txt` §3.1 / §4.2):
 * `log <address> [len <n>] [format <fmt>] [sample <ranges>:<size>] <facility> [<level> [<minlevel>]]`.
 */
import { parseAddress, stripFamily } from './address.js';
import type { LogAddress, LogLevel, LogTarget, SourceLocation } from './types.js';
import { parseCount } from './server-keywords.js';

/** Syslog facilities HAProxy accepts. */
export const LOG_FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'auth2', 'ftp', 'ntp', 'audit',
  'alert', 'cron2', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;

/** Syslog levels, most severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** Formats of `log … format <fmt>`. */
export const LOG_FORMATS = ['rfc3164', 'rfc5424', 'short', 'raw', 'timed', 'iso', 'priority', 'local'] as const;

/** A parsed log target or HAProxy's message. */
export type LogParse = { readonly ok: true; readonly target: LogTarget } | { readonly ok: false; readonly message: string };

/** Parses the arguments after `log` (not `global`). Never throws. */
export function parseLogTarget(args: readonly string[], source: SourceLocation): LogParse {
  const [addressText, ...rest] = args;
  if (addressText === undefined || addressText === '' || rest.length === 0) {
    return { ok: false, message: 'log : expects <address> and <facility>  as arguments' };
  }
  const address = parseLogAddress(addressText);
  if (typeof address === 'string') return { ok: false, message: `log : ${address}` };
  let maxLength = 1024;
  let format = 'rfc3164';
  let i = 0;
  for (;;) {
    const word = rest[i];
    if (word === 'len') {
      const n = parseCount(rest[i + 1]);
      if (n === undefined || n < 80 || n > 65535) {
        return { ok: false, message: `log : 'len' expects an integer from 80 to 65535, got '${rest[i + 1] ?? ''}'` };
      }
      maxLength = n;
      i += 2;
    } else if (word === 'format') {
      const f = rest[i + 1] ?? '';
      if (!(LOG_FORMATS as readonly string[]).includes(f)) return { ok: false, message: `log : unknown log format '${f}'` };
      format = f;
      i += 2;
    } else if (word === 'sample') {
      return { ok: false, message: `log : 'sample' is not supported in switchyard: log sampling is not implemented` };
    } else {
      break;
    }
  }
  const facility = rest[i];
  if (facility === undefined) return { ok: false, message: 'log : expects <address> and <facility>  as arguments' };
  if (!(LOG_FACILITIES as readonly string[]).includes(facility)) return { ok: false, message: `log : unknown log facility '${facility}'` };
  const levelText = rest[i + 1];
  const minText = rest[i + 2];
  if (rest.length > i + 3) return { ok: false, message: `log : unexpected argument '${rest[i + 3] ?? ''}'` };
  const level = levelText === undefined ? 'debug' : asLevel(levelText);
  if (level === undefined) return { ok: false, message: `log : unknown optional log level '${levelText ?? ''}'` };
  const minLevel = minText === undefined ? undefined : asLevel(minText);
  if (minText !== undefined && minLevel === undefined) return { ok: false, message: `log : unknown optional minimum log level '${minText}'` };
  const target: LogTarget = minLevel === undefined
    ? { address, facility, level, format, maxLength, source }
    : { address, facility, level, minLevel, format, maxLength, source };
  return { ok: true, target };
}

function asLevel(text: string): LogLevel | undefined {
  return LOG_LEVELS.find((l) => l === text);
}

/** A log address, or the message saying why it is not one. */
function parseLogAddress(text: string): LogAddress | string {
  if (text === 'stderr' || text === 'stdout') return { kind: text };
  if (text.startsWith('fd@')) {
    const fd = parseCount(text.slice(3));
    return fd === undefined ? `invalid file descriptor in '${text}'` : { kind: 'fd', fd };
  }
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  if (text.startsWith('unix@')) return { kind: 'unix', path: text.slice(5) };
  const family = stripFamily(text);
  if (family === undefined || family.family.startsWith('tcp')) {
    return `address '${text}' is not supported in switchyard: logs go to stderr, stdout, a unix socket or UDP syslog`;
  }
  // HAProxy defaults the syslog port to 514 when none is given.
  const withPort = family.rest.includes(':') && !family.rest.endsWith(']') ? text : `${text}:514`;
  const parsed = parseAddress(withPort, { allowRange: false, prefix: '' });
  return parsed.ok ? { kind: 'udp', host: parsed.host, port: parsed.port } : parsed.message;
}
