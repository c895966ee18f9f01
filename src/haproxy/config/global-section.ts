/**
 * The `global` section (`doc/configuration.txt` §3): `log`, `stats socket|timeout`, `spread-checks`,
 * `max-spread-checks`. Keywords about the HAProxy daemon itself (`daemon`, `user`, `chroot`…) are accepted
 * with a warning; other known keywords are refused as not supported.
 */
import { parseAddress } from './address.js';
import type { ConfigLine } from './line.js';
import type { GlobalConfig, LogTarget, StatsSocket } from './types.js';
import { suggest } from './did-you-mean.js';
import { GLOBAL_IGNORED, GLOBAL_KEYWORDS, GLOBAL_PREFIXES, GLOBAL_UNSUPPORTED, hasPrefix, own } from './keywords.js';
import { parseLogTarget } from './log-keyword.js';
import { parseCount } from './server-keywords.js';
import { parseTime } from './time-units.js';

/** The global section being read. */
export interface GlobalDraft {
  log: LogTarget[];
  statsSockets: StatsSocket[];
  statsTimeoutMs: number;
  spreadChecksPercent?: number;
  maxSpreadChecksMs?: number;
  serverStateFile?: string;
  serverStateBase?: string;
  logSendHostname?: string | true;
  nbthread?: number;
}

/** A fresh global section with HAProxy's defaults. */
export function emptyGlobal(): GlobalDraft {
  return { log: [], statsSockets: [], statsTimeoutMs: 10_000 };
}

/** The frozen global section. */
export function freezeGlobal(g: GlobalDraft): GlobalConfig {
  return {
    log: g.log,
    statsSockets: g.statsSockets,
    statsTimeoutMs: g.statsTimeoutMs,
    nbthread: g.nbthread ?? 1,
    spreadChecksPercent: g.spreadChecksPercent ?? 0,
    ...(g.maxSpreadChecksMs === undefined ? {} : { maxSpreadChecksMs: g.maxSpreadChecksMs }),
    ...(g.serverStateFile === undefined ? {} : { serverStateFile: g.serverStateFile }),
    ...(g.serverStateBase === undefined ? {} : { serverStateBase: g.serverStateBase }),
    ...(g.logSendHostname === undefined ? {} : { logSendHostname: g.logSendHostname }),
  };
}

/** Applies one statement of the global section. */
export function applyGlobalLine(line: ConfigLine, g: GlobalDraft): void {
  const kw = line.words[0] ?? '';
  const args = line.words.slice(1);
  if (line.modifier !== 'none' && kw !== 'log') {
    line.alert(kw, 'negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.', 'reader');
    return;
  }
  switch (kw) {
    case 'log': {
      if (line.modifier === 'no') {
        g.log = [];
        return;
      }
      const parsed = parseLogTarget(args, line.at);
      if (parsed.ok) g.log.push(parsed.target);
      else line.alert(kw, parsed.message);
      return;
    }
    case 'stats':
      stats(line, g, args);
      return;
    case 'spread-checks': {
      if (g.spreadChecksPercent !== undefined) {
        line.nonFatalAlert(kw, 'spread-checks already specified. Continuing.', 'reader');
        return;
      }
      const n = parseCount(args[0]);
      if (n === undefined || n > 50 || args.length > 1) {
        line.alert(kw, `'spread-checks' needs a positive value in range 0..50.`, 'reader');
        return;
      }
      g.spreadChecksPercent = n;
      return;
    }
    case 'nbthread': {
      // HAProxy 2.6 cfgparse-global.c and parse_nbthread(): 1 to MAX_THREADS (64 on 64-bit builds).
      if (args.length > 1) {
        line.alert(kw, `'${kw}' cannot handle unexpected argument '${args[1]}'.`);
        return;
      }
      if (args[0] === undefined || args[0] === '') {
        line.alert(kw, `'${kw}' expects an integer argument.`);
        return;
      }
      const n = /^[0-9]+$/.test(args[0]) ? Number(args[0]) : NaN;
      if (!(n >= 1 && n <= 64)) {
        line.alert(kw, `'${kw}' '${args[0]}' is an invalid number of threads. Minimum value is 1, maximum value is 64.`);
        return;
      }
      g.nbthread = n;
      return;
    }
    case 'log-send-hostname': {
      if (g.logSendHostname !== undefined) {
        line.nonFatalAlert(kw, `'${kw}' already specified. Continuing.`);
        return;
      }
      // HAProxy takes the first argument and ignores the rest; none means the system's host name.
      g.logSendHostname = args[0] === undefined || args[0] === '' ? true : args[0];
      return;
    }
    case 'max-spread-checks': {
      const t = parseTime(args[0] ?? '');
      if (!t.ok || args.length > 1) {
        line.alert(kw, `'max-spread-checks' expects a delay in milliseconds, got '${args[0] ?? ''}'.`);
        return;
      }
      g.maxSpreadChecksMs = t.ms;
      return;
    }
    case 'server-state-file':
    case 'server-state-base': {
      const field = kw === 'server-state-file' ? 'serverStateFile' : 'serverStateBase';
      // HAProxy reports a second one as an [ALERT] yet carries on with the first (the configuration stays valid).
      if (g[field] !== undefined) line.nonFatalAlert(kw, `'${kw}' already specified. Continuing.`);
      else if (args[0] === undefined || args[0] === '') {
        line.alert(kw, kw === 'server-state-file' ? `'server-state-file' expect one argument: a file path.` : `'server-state-base' expects one argument: a directory path.`);
      } else g[field] = args[0];
      return;
    }
    default:
      break;
  }
  const ignored = own(GLOBAL_IGNORED, kw) ?? (hasPrefix(kw, GLOBAL_PREFIXES.ignored) ? 'tuning knobs of HAProxy have no equivalent' : undefined);
  if (ignored !== undefined) {
    line.warn(kw, `'${kw}' is ignored by switchyard: ${ignored}.`);
    return;
  }
  if ((GLOBAL_UNSUPPORTED as readonly string[]).includes(kw) || hasPrefix(kw, GLOBAL_PREFIXES.unsupported)) {
    line.alert(kw, `keyword '${kw}' is not supported in switchyard.`);
    return;
  }
  const close = suggest(kw, GLOBAL_KEYWORDS) ?? suggest(kw, [...Object.keys(GLOBAL_IGNORED), ...GLOBAL_UNSUPPORTED]);
  line.alert(kw, `unknown keyword '${kw}' in 'global' section${close === undefined ? '' : `; did you mean '${close}' maybe ?`}`);
}

function stats(line: ConfigLine, g: GlobalDraft, args: readonly string[]): void {
  const sub = args[0] ?? '';
  if (sub === 'timeout') {
    const t = parseTime(args[1] ?? '');
    if (!t.ok || t.ms === 0 || args.length > 2) {
      line.alert('stats', `'stats timeout' expects a positive delay in milliseconds, got '${args[1] ?? ''}'.`);
      return;
    }
    g.statsTimeoutMs = t.ms;
    return;
  }
  if (sub === 'maxconn') {
    line.warn('stats', `'stats maxconn' is ignored by switchyard: runtime API connections are not limited.`);
    return;
  }
  if (sub !== 'socket') {
    line.alert('stats', `'stats' in the global section supports 'socket', 'timeout' and 'maxconn' (got '${sub}').`);
    return;
  }
  const addressText = args[1];
  if (addressText === undefined || addressText === '') {
    line.alert('stats', `'stats socket' in global section expects an address or a path to a UNIX socket`);
    return;
  }
  let address: StatsSocket['address'];
  if (addressText.startsWith('unix@')) {
    address = { kind: 'unix', path: addressText.slice(5) };
  } else if (!addressText.includes('@') && !addressText.includes(':')) {
    address = { kind: 'unix', path: addressText };
  } else if (addressText.startsWith('ipv4@') || addressText.startsWith('ipv6@') || !addressText.includes('@')) {
    const parsed = parseAddress(addressText, { allowRange: false, prefix: `'stats socket' : ` });
    if (!parsed.ok) {
      line.alert('stats', parsed.message);
      return;
    }
    const host = /^(?:ipv[46]@)?(?:\*)?:/.test(addressText) ? '127.0.0.1' : parsed.host;
    if (host !== parsed.host) {
      line.warn('stats', `'stats socket ${addressText}' listens on 127.0.0.1 only in switchyard (HAProxy: every address); write the address to choose another.`);
    }
    address = { kind: 'tcp', host, port: parsed.port };
  } else {
    line.alert('stats', `'stats socket' : address '${addressText}' is not supported in switchyard: use a unix path or ipv4@host:port.`);
    return;
  }
  let level: StatsSocket['level'] = 'operator';
  let mode = 0o600;
  for (let i = 2; i < args.length; i += 2) {
    const kw = args[i] ?? '';
    const value = args[i + 1] ?? '';
    if (kw === 'level') {
      if (value !== 'user' && value !== 'operator' && value !== 'admin') {
        line.alert('stats', `'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got '${value}')'`);
        return;
      }
      level = value;
    } else if (kw === 'mode') {
      if (!/^[0-7]{1,4}$/.test(value)) {
        line.alert('stats', `'stats socket' : 'mode' expects an octal file mode, got '${value}'.`);
        return;
      }
      mode = Number.parseInt(value, 8);
    } else if (['user', 'group', 'uid', 'gid', 'expose-fd', 'process', 'severity-output', 'name', 'accept-proxy', 'maxconn', 'ssl', 'crt'].includes(kw)) {
      line.alert('stats', `'stats socket' : keyword '${kw}' is not supported in switchyard.`);
      return;
    } else {
      const close = suggest(kw, ['level', 'mode']);
      line.alert('stats', `'stats socket' : unknown keyword '${kw}'.${close === undefined ? '' : ` Did you mean '${close}' maybe ?`}`);
      return;
    }
  }
  g.statsSockets.push({ address, level, mode, source: line.at });
}
