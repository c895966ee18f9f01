/**
 * The keywords of `server` and `default-server` lines (`doc/configuration.txt` §5.2), with HAProxy 2.6's
 * error wording. Values are checked strictly: `maxconn 10x` is an error here, where HAProxy's `atol()`
 * would read 10.
 */
import { isHostLike } from './address.js';
import type { Mutable } from './draft.js';
import type { DefaultServerSettings } from './types.js';
import { suggest } from './did-you-mean.js';
import { own, SERVER_KEYWORDS, SERVER_UNSUPPORTED } from './keywords.js';
import { MAX_TIME_MS, parseTime } from './time-units.js';

/** Receives one error about one keyword of the line. */
export type ServerKeywordError = (keyword: string, message: string) => void;

/** The result of reading the keywords of one line. */
export interface ServerKeywords {
  readonly settings: Mutable<DefaultServerSettings>;
  /** `id <n>`, only on `server` lines. */
  readonly id?: number;
  /** The time values of the line as written, for lint warnings (`inter 4` → 4 ms). */
  readonly times: readonly { readonly keyword: string; readonly text: string; readonly ms: number }[];
}

const INTEGER = /^[0-9]+$/;
const ON_ERROR = ['fastinter', 'fail-check', 'sudden-death', 'mark-down'] as const;
const INIT_STATE = ['fully-up', 'up', 'down', 'fully-down'] as const;

/** Parses a non-negative decimal integer no larger than `max`; undefined when `text` is not one. */
export function parseCount(text: string | undefined, max = 2_147_483_647): number | undefined {
  if (text === undefined || !INTEGER.test(text) || text.length > 10) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/**
 * Reads `words` (the keywords after `server <name> <addr>`, or after `default-server`). `serverName` is
 * the server's name for messages, undefined on a `default-server` line. Errors go to `report`; reading
 * continues with the next keyword so every mistake on the line is reported.
 */
export function parseServerKeywords(words: readonly string[], serverName: string | undefined, report: ServerKeywordError): ServerKeywords {
  const s: Mutable<DefaultServerSettings> = {};
  let id: number | undefined;
  const times: { keyword: string; text: string; ms: number }[] = [];
  const of = serverName === undefined ? 'default-server' : `server ${serverName}`;

  for (let i = 0; i < words.length; i++) {
    const kw = words[i] ?? '';
    const arg = words[i + 1];
    const needs = (what: string): string | undefined => {
      if (arg === undefined || arg === '') {
        report(kw, `'${kw}' expects ${what} as argument.`);
        return undefined;
      }
      i++;
      return arg;
    };
    const time = (allowZero: boolean): number | undefined => {
      const text = needs('a delay');
      if (text === undefined) return undefined;
      const t = parseTime(text);
      if (t.ok) {
        if (t.ms === 0 && !allowZero) {
          report(kw, `invalid value 0 for argument '${kw}' of ${of}.`);
          return undefined;
        }
        times.push({ keyword: kw, text, ms: t.ms });
        return t.ms;
      }
      if (t.reason === 'overflow') {
        report(kw, `timer overflow in argument <${text}> to <${kw}> of ${of}, maximum value is ${MAX_TIME_MS} ms (~24.8 days).`);
      } else if (t.reason === 'trailing') {
        report(kw, `unexpected character '${t.char}' after the timer value '${text}', only (us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported.`);
      } else {
        report(kw, `unexpected character '${t.reason === 'empty' ? '' : t.char}' in '${kw}' argument of ${of}.`);
      }
      return undefined;
    };
    const count = (min: number, max: number, range: string): number | undefined => {
      const text = needs('an integer');
      if (text === undefined) return undefined;
      const n = parseCount(text);
      if (n === undefined) {
        report(kw, `'${kw}' expects an integer argument, got '${text}'.`);
        return undefined;
      }
      if (n < min || n > max) {
        report(kw, range.replace('%v', text));
        return undefined;
      }
      return n;
    };
    const oneOf = <T extends string>(allowed: readonly T[], expectation: string): T | undefined => {
      const text = needs(expectation);
      if (text === undefined) return undefined;
      if ((allowed as readonly string[]).includes(text)) return text as T;
      report(kw, `'${kw}' expects ${expectation} but got '${text}'.`);
      return undefined;
    };
    const set = <K extends keyof DefaultServerSettings>(key: K, value: DefaultServerSettings[K] | undefined): void => {
      if (value !== undefined) s[key] = value;
    };

    switch (kw) {
      case 'check': s.check = true; break;
      case 'no-check': s.check = false; break;
      case 'backup': s.backup = true; break;
      case 'no-backup': s.backup = false; break;
      case 'disabled': s.disabled = true; break;
      case 'enabled': s.disabled = false; break;
      case 'send-proxy': s.proxyProtocol = 'v1'; break;
      case 'send-proxy-v2': s.proxyProtocol = 'v2'; break;
      case 'no-send-proxy': case 'no-send-proxy-v2': s.proxyProtocol = 'none'; break;
      case 'agent-check': s.agentCheck = true; break;
      case 'no-agent-check': s.agentCheck = false; break;
      case 'agent-port': set('agentPort', count(1, 65535, `'agent-port' expects a port from 1 to 65535, got '%v'.`)); break;
      case 'agent-inter': set('agentInterMs', time(false)); break;
      case 'agent-send': set('agentSend', needs('a string')); break;
      case 'agent-addr': {
        const text = needs('an address');
        if (text !== undefined && !isHostLike(text)) report(kw, `parsing agent-addr failed. Check if '${text}' is correct address..`);
        else if (text !== undefined) s.agentAddr = text;
        break;
      }
      case 'inter': set('interMs', time(false)); break;
      case 'fastinter': set('fastinterMs', time(false)); break;
      case 'downinter': set('downinterMs', time(false)); break;
      case 'slowstart': set('slowstartMs', time(true)); break;
      case 'rise': set('rise', count(1, 2_147_483_647, `'rise' has to be > 0.`)); break;
      case 'fall': set('fall', count(1, 2_147_483_647, `'fall' has to be > 0.`)); break;
      case 'error-limit': set('errorLimit', count(1, 2_147_483_647, `'error-limit' has to be > 0.`)); break;
      case 'weight': set('weight', count(0, 256, `weight of ${of} is not within 0 and 256 (%v).`)); break;
      case 'maxconn': set('maxconn', count(0, 2_147_483_647, `'maxconn' is out of range (%v).`)); break;
      case 'maxqueue': set('maxqueue', count(0, 2_147_483_647, `'maxqueue' is out of range (%v).`)); break;
      case 'port': set('checkPort', count(1, 65535, `'port' expects a port from 1 to 65535, got '%v'.`)); break;
      case 'addr': {
        const text = needs('an address');
        if (text !== undefined && !isHostLike(text)) report(kw, `invalid address '${text}' for 'addr' of ${of}.`);
        else if (text !== undefined) s.checkAddr = text;
        break;
      }
      case 'observe': {
        const mode = oneOf(['none', 'layer4', 'layer7'], "one of 'none', 'layer4', 'layer7'");
        if (mode === 'layer7') report(kw, `'observe layer7' is not supported in switchyard: it needs mode http.`);
        else set('observe', mode);
        break;
      }
      case 'on-error': set('onError', oneOf(ON_ERROR, "one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down'")); break;
      case 'on-marked-down': set('onMarkedDown', oneOf(['shutdown-sessions'], "'shutdown-sessions'")); break;
      case 'on-marked-up': set('onMarkedUp', oneOf(['shutdown-backup-sessions'], "'shutdown-backup-sessions'")); break;
      case 'init-state': set('initState', oneOf(INIT_STATE, "one of 'fully-up', 'up', 'down' or 'fully-down'")); break;
      // HAProxy 3.0+ (2.6 refuses it): switchyard follows 3.0's placement, see docs/haproxy.md.
      case 'hash-key': set('hashKey', oneOf(['id', 'addr', 'addr-port'], "one of 'id', 'addr' or 'addr-port'")); break;
      case 'id': {
        if (serverName === undefined) {
          report(kw, `'id' option is not accepted in default-server sections`);
          if (arg !== undefined) i++;
          break;
        }
        const n = count(1, 2_147_483_647, `'id' must be a positive integer, got '%v'.`);
        if (n !== undefined) id = n;
        break;
      }
      default: {
        const reason = own(SERVER_UNSUPPORTED, kw);
        if (reason !== undefined) {
          report(kw, `keyword '${kw}' is not supported in switchyard: ${reason}.`);
          // Skip its argument when it has one, so one mistake gives one message.
          if (arg !== undefined && !isKeyword(arg)) i++;
          break;
        }
        const close = suggest(kw, SERVER_KEYWORDS);
        const hint = serverName === undefined && isHostLike(kw) && kw.includes(':') ? ' Hint: no address was expected for this server.' : '';
        report(kw, `unknown keyword '${kw}'${close === undefined ? '.' : `; did you mean '${close}' maybe ?`}${hint}`);
      }
    }
  }
  return id === undefined ? { settings: s, times } : { settings: s, id, times };
}

function isKeyword(word: string): boolean {
  return (SERVER_KEYWORDS as readonly string[]).includes(word) || own(SERVER_UNSUPPORTED, word) !== undefined;
}
