/**
 * The statements of `defaults`, `frontend`, `backend` and `listen` sections (`doc/configuration.txt` §4),
 * applied to the section's draft, with HAProxy 2.6's messages, capability warnings and errors.
 */
import { parseAddress } from './address.js';
import { parseBindAddress } from './bind-address.js';
import type { ProxyDraft } from './draft.js';
import type { ConfigLine } from './line.js';
import { describeSection } from './line.js';
import type { BalanceAlgorithm, ProxyTimeouts } from './types.js';
import { suggest } from './did-you-mean.js';
import {
  BALANCE_ALGORITHMS, BALANCE_UNSUPPORTED, BIND_PARAMETER_REASON, HAPROXY_TIMEOUTS, own, PROXY_HTTP_ONLY_IGNORED, PROXY_KEYWORDS,
  PROXY_UNSUPPORTED, SUPPORTED_TIMEOUTS,
} from './keywords.js';
import { parseLogTarget } from './log-keyword.js';
import { applyOption, setLogFormat } from './proxy-options.js';
import { applyServerLine, applyDefaultServerLine } from './server-line.js';
import { parseCount } from './server-keywords.js';
import { applyStatsLine } from './stats-keyword.js';
import { parseTcpCheck } from './tcp-check-rules.js';
import { MAX_TIME_MS, parseTime } from './time-units.js';

const FE = (d: ProxyDraft): boolean => d.kind !== 'backend';
const BE = (d: ProxyDraft): boolean => d.kind !== 'frontend';

const TIMEOUT_FIELD: Readonly<Record<(typeof SUPPORTED_TIMEOUTS)[number], keyof ProxyTimeouts>> = {
  connect: 'connectMs', client: 'clientMs', server: 'serverMs', tunnel: 'tunnelMs', queue: 'queueMs', check: 'checkMs',
  'client-fin': 'clientFinMs', 'server-fin': 'serverFinMs',
};
const FRONTEND_TIMEOUTS = new Set(['client', 'client-fin']);

/** Applies one statement of a proxy or defaults section to its draft. */
export function applyProxyLine(line: ConfigLine, draft: ProxyDraft): void {
  const kw = line.words[0] ?? '';
  const args = line.words.slice(1);
  const section = draft.kind;
  const notInDefaults = (shape: 'parsing' | 'bare-location' = 'parsing'): boolean => {
    if (section !== 'defaults') return false;
    line.alert(kw, `'${kw}' not allowed in 'defaults' section.`, shape);
    return true;
  };
  const ignoredWithout = (cap: 'frontend' | 'backend', dot = '.'): boolean => {
    const has = cap === 'frontend' ? FE(draft) : BE(draft);
    if (has) return false;
    line.warn(kw, `'${kw}' ignored because ${describeSection(section, draft.name)} has no ${cap} capability${dot}`);
    return true;
  };
  const noExtra = (from: number): boolean => {
    if (args.length <= from) return true;
    line.alert(kw, `'${kw}' cannot handle unexpected argument '${args[from] ?? ''}'.`);
    return false;
  };

  if (line.modifier !== 'none' && kw !== 'option' && kw !== 'log') {
    line.alert(kw, 'negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.', 'reader');
    return;
  }

  switch (kw) {
    case 'bind':
      if (notInDefaults() || ignoredWithout('frontend')) return;
      bind(line, draft, args);
      return;
    case 'mode': {
      const mode = args[0] ?? '';
      if (mode === 'tcp') {
        if (noExtra(1)) draft.mode = 'tcp';
      } else if (mode === 'http' || mode === 'health') {
        const alert = line.alert(kw, `'mode ${mode}' is not supported in switchyard: only mode tcp is (HTTP-mode routing is a non-goal for now).`);
        // Withdrawn at the end if the section only serves the stats page (config-finish.ts).
        if (mode === 'http' && (section === 'frontend' || section === 'listen') && noExtra(1)) {
          draft.mode = 'http';
          draft.modeHttpAlert = alert;
        }
      } else {
        line.alert(kw, `unknown proxy mode '${mode}'.`);
      }
      return;
    }
    case 'balance':
      if (ignoredWithout('backend')) return;
      balance(line, draft, args);
      return;
    case 'dispatch': {
      if (notInDefaults() || ignoredWithout('backend')) return;
      const parsed = parseAddress(args[0] ?? '', { allowRange: false, prefix: `'${kw}' : ` });
      if (!parsed.ok) line.alert(kw, parsed.message);
      else if (noExtra(1)) draft.dispatch = { host: parsed.host, port: parsed.port };
      return;
    }
    case 'hash-type':
      if (ignoredWithout('backend')) return;
      hashType(line, draft, args);
      return;
    case 'hash-balance-factor': {
      if (ignoredWithout('backend')) return;
      const text = args[0];
      // HAProxy 2.6 reads it with atol() and refuses 1-100 (cfgparse-listen.c).
      if (text === undefined || text === '') line.alert(kw, `'${kw}' expects an integer argument.`);
      else if (!/^\d+$/.test(text) || Number(text) > 100_000) line.alert(kw, `'${kw}' expects an integer from 0 to 100000, got '${text}'.`);
      else if (Number(text) !== 0 && Number(text) <= 100) line.alert(kw, `'${kw}' must be 0 or greater than 100.`);
      else if (noExtra(1)) draft.hashBalanceFactor = Number(text);
      return;
    }
    case 'default_backend':
      if (ignoredWithout('frontend')) return;
      if (args[0] === undefined || args[0] === '') line.alert(kw, `'${kw}' expects a backend name.`);
      else if (noExtra(1)) draft.defaultBackend = { name: args[0], source: line.at };
      return;
    case 'use_backend':
      if (notInDefaults() || ignoredWithout('frontend')) return;
      if (args[0] === undefined || args[0] === '') line.alert(kw, `'${kw}' expects a backend name.`);
      else if (args[1] === 'if' || args[1] === 'unless') {
        line.alert(kw, `'use_backend' with a condition ('${args[1]} …') is not supported in switchyard: ACLs are HTTP-mode routing, a non-goal for now.`);
      } else if (noExtra(1)) draft.useBackends.push({ name: args[0], source: line.at });
      return;
    case 'server':
      if (notInDefaults('bare-location')) return;
      if (!BE(draft)) {
        line.alert(kw, `parsing [${line.at.file}:${line.at.line}] : 'server' not allowed because ${describeSection(section, draft.name)} has no backend capability.`, 'bare-location');
        return;
      }
      applyServerLine(line, draft);
      return;
    case 'default-server':
      if (!BE(draft)) {
        line.alert(kw, `'default-server' not allowed because ${describeSection(section, draft.name)} has no backend capability.`);
        return;
      }
      applyDefaultServerLine(line, draft);
      return;
    case 'timeout':
      timeout(line, draft, args);
      return;
    case 'retries': {
      if (ignoredWithout('backend')) return;
      const n = parseCount(args[0]);
      if (n === undefined) {
        line.alert(kw, `'retries' expects an integer argument (dispatch counts for one)${args[0] === undefined ? '' : `, got '${args[0]}'`}.`);
      } else if (noExtra(1)) {
        draft.retries = n;
      }
      return;
    }
    case 'option':
      applyOption(line, draft);
      return;
    case 'tcp-check': {
      if (ignoredWithout('backend')) return;
      const parsed = parseTcpCheck(args, line.at);
      if (!parsed.ok) {
        line.alert(kw, parsed.message);
        return;
      }
      if (draft.tcpCheckRulesInherited) {
        draft.tcpCheckRules = [];
        draft.tcpCheckRulesInherited = false;
      }
      draft.tcpCheckRules.push(parsed.rule);
      return;
    }
    case 'log':
      log(line, draft, args);
      return;
    case 'log-format':
      if (args[0] === undefined || args[0] === '') line.alert(kw, `${kw} expects an argument.`);
      else if (args.length > 1) line.alert(kw, `${kw} expects only one argument, don't forget to escape spaces!`);
      else {
        setLogFormat(line, draft, args[0], 'log-format');
        if (section === 'backend') line.warn(kw, `backend '${draft.name}' : 'log-format' directive is ignored in backends.`);
      }
      return;
    case 'description':
      return;
    case 'load-server-state-from-file': {
      if (ignoredWithout('backend')) return;
      const mode = args[0] ?? '';
      if (mode === 'global' || mode === 'local' || mode === 'none') draft.serverStateLoad = mode;
      else line.alert(kw, `'load-server-state-from-file' expects 'global', 'local' or 'none'. Got '${mode}'`);
      return;
    }
    case 'server-state-file-name':
      if (ignoredWithout('backend') || !noExtra(1)) return;
      if (args[0] === undefined || args[0] === '' || args[0] === 'use-backend-name') delete draft.serverStateFileName;
      else draft.serverStateFileName = args[0];
      return;
    case 'stats':
      applyStatsLine(line, draft);
      return;
    default:
      break;
  }
  if ((PROXY_HTTP_ONLY_IGNORED as readonly string[]).includes(kw)) {
    line.warn(kw, `'${kw}' ignored for ${describeSection(section, draft.name)} as it requires HTTP mode.`);
    return;
  }
  const reason = own(PROXY_UNSUPPORTED, kw);
  if (reason !== undefined) {
    line.alert(kw, `keyword '${kw}' is not supported in switchyard: ${reason}.`);
    return;
  }
  const close = suggest(kw, PROXY_KEYWORDS) ?? suggest(kw, Object.keys(PROXY_UNSUPPORTED));
  line.alert(kw, `unknown keyword '${kw}' in '${section}' section${close === undefined ? '' : `; did you mean '${close}' maybe ?`}`);
}

function bind(line: ConfigLine, draft: ProxyDraft, args: readonly string[]): void {
  const list = args[0];
  if (list === undefined || list === '') {
    line.alert('bind', `'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.`);
    return;
  }
  if (args.length > 1) {
    line.alert('bind', `'bind' : keyword '${args[1] ?? ''}' is not supported in switchyard: ${BIND_PARAMETER_REASON}.`);
    return;
  }
  for (const raw of list.split(',')) {
    const parsed = parseBindAddress(raw, line.at);
    if (!parsed.ok) line.alert('bind', parsed.message);
    else draft.binds.push(parsed.address);
  }
}

function balance(line: ConfigLine, draft: ProxyDraft, args: readonly string[]): void {
  const word = args[0] ?? '';
  const algorithm = word.replace(/\(.*$/, '');
  if ((BALANCE_UNSUPPORTED as readonly string[]).includes(algorithm)) {
    line.alert('balance', `'balance ${algorithm}' is not supported in switchyard: it hashes HTTP or RDP data, which needs mode http or content inspection.`);
    return;
  }
  if (!(BALANCE_ALGORITHMS as readonly string[]).includes(algorithm)) {
    // Only what switchyard runs is listed and suggested: pointing at an algorithm it refuses helps nobody.
    const close = suggest(algorithm, BALANCE_ALGORITHMS);
    const names = BALANCE_ALGORITHMS.map((n) => `'${n}'`);
    line.alert('balance', `'balance' supports ${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''} in switchyard (got '${algorithm}')${close === undefined ? '.' : `; did you mean '${close}' maybe ?`}`);
    return;
  }
  if (args.length > 1) {
    line.alert('balance', `'balance ${algorithm}' cannot handle unexpected argument '${args[1] ?? ''}'.`);
    return;
  }
  let result: BalanceAlgorithm;
  if (algorithm === 'random') {
    let draws = 2;
    if (word !== 'random') {
      const m = /^random\(([^)]*)\)$/.exec(word);
      const inner = m?.[1] ?? '';
      const bad = [...inner].find((c) => c < '0' || c > '9');
      if (m === null || bad !== undefined || inner === '') {
        line.alert('balance', `balance random : unexpected character '${bad ?? word.charAt(6 + inner.length + 1)}' after argument.`);
        return;
      }
      draws = inner.length > 4 ? 100_000 : Number(inner);
      if (draws < 1) {
        line.alert('balance', 'balance random : number of draws must be at least 1.');
        return;
      }
      if (draws > 100) {
        line.alert('balance', `balance random : switchyard supports at most 100 draws, got ${inner}.`);
        return;
      }
    }
    result = { name: 'random', draws };
  } else {
    if (word !== algorithm) {
      line.alert('balance', `'balance ${algorithm}' takes no argument, got '${word}'.`);
      return;
    }
    result = { name: algorithm as Exclude<BalanceAlgorithm['name'], 'random'> };
  }
  draft.balance = result;
  draft.balanceSet = true;
}

function hashType(line: ConfigLine, draft: ProxyDraft, args: readonly string[]): void {
  const [method, fn, modifier] = args;
  if (method !== 'map-based' && method !== 'consistent') {
    line.alert('hash-type', `'hash-type' only supports 'consistent' and 'map-based'.`);
    return;
  }
  const functions = ['sdbm', 'djb2', 'wt6', 'crc32', 'none'];
  if (fn !== undefined && !functions.includes(fn)) {
    line.alert('hash-type', `'hash-type ${method}' : unknown hash function '${fn}' (expects 'sdbm', 'djb2', 'wt6', 'crc32' or 'none').`);
    return;
  }
  if (modifier !== undefined && modifier !== 'avalanche') {
    line.alert('hash-type', `'hash-type ${method} ${fn ?? ''}' : unknown modifier '${modifier}' (expects 'avalanche').`);
    return;
  }
  if (args.length > 3) {
    line.alert('hash-type', `'hash-type' cannot handle unexpected argument '${args[3] ?? ''}'.`);
    return;
  }
  // switchyard reproduces HAProxy's defaults for each method: map-based without avalanche, consistent with it.
  const sameAsDefault = method === 'map-based' ? modifier === undefined : fn === undefined || modifier === 'avalanche';
  if (!sameAsDefault) {
    line.alert('hash-type', `'hash-type ${args.join(' ')}' is not supported in switchyard: only 'map-based' and 'consistent' with HAProxy's default hashing are.`);
    return;
  }
  draft.hashType = method;
}

function timeout(line: ConfigLine, draft: ProxyDraft, args: readonly string[]): void {
  const name = args[0] ?? '';
  const label = `timeout ${name}`;
  if (!(HAPROXY_TIMEOUTS as readonly string[]).includes(name)) {
    const close = suggest(name, SUPPORTED_TIMEOUTS);
    line.alert('timeout', `'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '${name}')${close === undefined ? '' : `; did you mean '${close}' maybe ?`}`);
    return;
  }
  const value = args[1];
  if (value === undefined || value === '') {
    line.alert('timeout', `'${label}' expects an integer value (in milliseconds)`);
    return;
  }
  if (args.length > 2) {
    line.alert('timeout', `'${label}' : unexpected extra argument '${args[2] ?? ''}' after value '${value}'.`);
    return;
  }
  const t = parseTime(value);
  if (!t.ok) {
    if (t.reason === 'overflow') {
      line.alert('timeout', `timer overflow in argument '${value}' to '${label}' (maximum value is ${MAX_TIME_MS} ms or ~24.8 days)`);
    } else if (t.reason === 'trailing') {
      line.alert('timeout', `unexpected character '${t.char}' after the timer value '${value}', only (us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported.`);
    } else {
      line.alert('timeout', `unexpected character '${t.reason === 'empty' ? '' : t.char}' in '${label}'`);
    }
    return;
  }
  if (!(SUPPORTED_TIMEOUTS as readonly string[]).includes(name)) {
    line.warn('timeout', `'${label}' ignored: it applies to mode http only.`);
    return;
  }
  const isFrontendTimeout = FRONTEND_TIMEOUTS.has(name);
  if (isFrontendTimeout ? !FE(draft) : !BE(draft)) {
    line.warn('timeout', `'${label}' will be ignored because ${describeSection(draft.kind, draft.name)} has no ${isFrontendTimeout ? 'frontend' : 'backend'} capability`);
    return;
  }
  const field = TIMEOUT_FIELD[name as (typeof SUPPORTED_TIMEOUTS)[number]];
  draft.timeouts[field] = t.ms;
}

function log(line: ConfigLine, draft: ProxyDraft, args: readonly string[]): void {
  if (line.modifier === 'no') {
    if (args.length > 0) line.alert('log', `'no log' cannot handle unexpected argument '${args[0] ?? ''}'.`);
    draft.logGlobal = false;
    draft.logTargets = [];
    return;
  }
  if (line.modifier === 'default') {
    line.alert('log', `'default log' is not supported in switchyard: use 'no log' then 'log …'.`);
    return;
  }
  if (args[0] === 'global') {
    if (args.length > 1) line.alert('log', `'log global' cannot handle unexpected argument '${args[1] ?? ''}'.`);
    else draft.logGlobal = true;
    return;
  }
  const parsed = parseLogTarget(args, line.at);
  if (parsed.ok) draft.logTargets.push(parsed.target);
  else line.alert('log', parsed.message);
}
