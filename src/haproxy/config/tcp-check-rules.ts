/**
 * `tcp-check connect|send|send-binary|expect|comment` rules (`doc/configuration.txt` §4.2 tcp-check *),
 * with HAProxy 2.6's wording for its errors. Regular expressions are compiled here with JavaScript's
 * engine (what the checker will run), so a pattern PCRE accepts but JavaScript does not is an error now,
 * not a failed check later.
 */
import { isHostLike } from './address.js';
import type { SourceLocation, TcpCheckRule } from './types.js';
import { parseCount } from './server-keywords.js';
import { compileReplyCode, compileReplyText } from '../../health/probes/reply-format.js';

/** A rule, or HAProxy's message for what is wrong with the line. */
export type TcpCheckParse =
  | { readonly ok: true; readonly rule: TcpCheckRule }
  | { readonly ok: false; readonly message: string; readonly unsupported?: boolean };

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const UNSUPPORTED_ACTIONS: Readonly<Record<string, string>> = Object.freeze({
  'send-lf': 'log-format strings are not implemented',
  'send-binary-lf': 'log-format strings are not implemented',
  'set-var': 'variables are not implemented',
  'set-var-fmt': 'variables are not implemented',
  'unset-var': 'variables are not implemented',
});

/** Parses the words after `tcp-check`. Never throws. */
export function parseTcpCheck(args: readonly string[], source: SourceLocation): TcpCheckParse {
  const [action = '', ...rest] = args;
  const bare = action.replace(/\(.*$/, '');
  if (Object.hasOwn(UNSUPPORTED_ACTIONS, bare)) {
    return { ok: false, unsupported: true, message: `'tcp-check ${bare}' is not supported in switchyard: ${UNSUPPORTED_ACTIONS[bare] ?? ''}.` };
  }
  switch (action) {
    case 'comment':
      if (rest[0] === undefined) return { ok: false, message: `'tcp-check comment' expects a comment as argument.` };
      return { ok: true, rule: { type: 'comment', text: rest.join(' '), source } };
    case 'connect':
      return connect(rest, source);
    case 'send':
    case 'send-binary':
      return send(action, rest, source);
    case 'expect':
      return expect(rest, source);
    default:
      return {
        ok: false,
        message: `'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '${action}'`,
      };
  }
}

function connect(args: readonly string[], source: SourceLocation): TcpCheckParse {
  let port: number | undefined;
  let addr: string | undefined;
  let sendProxy = false;
  let linger = false;
  let comment: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const kw = args[i] ?? '';
    const value = args[i + 1];
    switch (kw) {
      case 'port':
        port = parseCount(value, 65535);
        if (port === undefined || port === 0) return { ok: false, message: `'tcp-check connect' : 'port' expects a port from 1 to 65535, got '${value ?? ''}'.` };
        i++;
        break;
      case 'addr':
        if (value === undefined || !isHostLike(value)) return { ok: false, message: `'tcp-check connect' : 'addr' expects an address, got '${value ?? ''}'.` };
        addr = value;
        i++;
        break;
      case 'send-proxy':
        sendProxy = true;
        break;
      case 'linger':
        linger = true;
        break;
      case 'default':
        // The server's own check settings; port and addr fall back to them anyway (no TLS, no SOCKS4 here).
        break;
      case 'comment':
        if (value === undefined) return { ok: false, message: `'tcp-check connect' : 'comment' expects a string as argument.` };
        comment = value;
        i++;
        break;
      case 'ssl': case 'sni': case 'alpn': case 'via-socks4': case 'proto':
        return { ok: false, unsupported: true, message: `'tcp-check connect' : '${kw}' is not supported in switchyard.` };
      default:
        return {
          ok: false,
          message: `'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '${kw}' as argument.`,
        };
    }
  }
  const rule: TcpCheckRule = { type: 'connect', sendProxy, source, ...(linger ? { linger } : {}), ...(port === undefined ? {} : { port }), ...(addr === undefined ? {} : { addr }), ...(comment === undefined ? {} : { comment }) };
  return { ok: true, rule };
}

function send(action: 'send' | 'send-binary', args: readonly string[], source: SourceLocation): TcpCheckParse {
  const [data, ...rest] = args;
  if (data === undefined || data === '') {
    return { ok: false, message: `'tcp-check ${action}' : '${action === 'send' ? 'string' : 'binary'}' expects a ${action === 'send' ? 'send' : 'hexadecimal string'} as argument.` };
  }
  let comment: string | undefined;
  if (rest.length > 0) {
    if (rest[0] !== 'comment' || rest[1] === undefined || rest.length > 2) {
      return { ok: false, message: `'tcp-check ${action}' : expects 'comment' but got '${rest[0] ?? ''}' as argument.` };
    }
    comment = rest[1];
  }
  let bytes: Uint8Array;
  if (action === 'send') {
    bytes = new TextEncoder().encode(data);
  } else {
    if (!HEX.test(data)) return { ok: false, message: `'tcp-check send-binary' : '${data}' is not a valid hexadecimal string (an even number of hex digits).` };
    bytes = Uint8Array.from(data.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  }
  return { ok: true, rule: { type: 'send', data: bytes, source, ...(comment === undefined ? {} : { comment }) } };
}

const OK_STATUS = ['L7OK', 'L7OKC', 'L6OK', 'L4OK'] as const;
const ERROR_STATUS = ['L7RSP', 'L7STS', 'L7OKC', 'L6RSP', 'L4CON'] as const;
const TIMEOUT_STATUS = ['L7TOUT', 'L6TOUT', 'L4TOUT'] as const;

/** `tcp-check expect …`: keywords in any order around one pattern (HAProxy `parse_tcpcheck_expect()`). */
function expect(args: readonly string[], source: SourceLocation): TcpCheckParse {
  const fail = (message: string, unsupported = false): TcpCheckParse => ({ ok: false, message: `'tcp-check expect' : ${message}`, unsupported });
  if (args.length === 0) return fail('expects at least a matching pattern as arguments.');
  let minRecv = -1;
  let negate = false;
  let match: 'string' | 'rstring' | 'binary' | 'rbinary' | undefined;
  let pattern: string | undefined;
  const extra: {
    okStatus?: (typeof OK_STATUS)[number]; errorStatus?: (typeof ERROR_STATUS)[number]; timeoutStatus?: (typeof TIMEOUT_STATUS)[number];
    onSuccess?: string; onError?: string; statusCode?: string; comment?: string;
  } = {};
  for (let i = 0; i < args.length; i++) {
    let kw = args[i] ?? '';
    const inPattern = kw.startsWith('!');
    while (kw.startsWith('!')) {
      negate = !negate;
      kw = kw.slice(1);
    }
    if (kw === '' && inPattern) kw = args[++i] ?? '';
    const value = args[i + 1];
    const status = <T extends string>(allowed: readonly T[], text: string): T | TcpCheckParse => {
      const found = allowed.find((a) => a.toLowerCase() === (value ?? '').toLowerCase());
      if (value === undefined || value === '') return fail(`'${kw}' expects a string as argument.`);
      return found ?? fail(`'${kw}' only supports ${text} status (got '${value}').`);
    };
    if (inPattern && !['string', 'rstring', 'binary', 'rbinary', 'string-lf', 'binary-lf'].includes(kw)) return fail(`[!] not supported with '${kw}'.`);
    switch (kw) {
      case 'min-recv': {
        if (value === undefined || value === '') return fail(`'min-recv' expects a integer as argument.`);
        const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
        if (!Number.isSafeInteger(n) || n < -1 || n > 2_147_483_647) return fail(`'min-recv' expects -1 or an integer from 0 to INT_MAX.`);
        minRecv = n;
        i++;
        break;
      }
      case 'string': case 'rstring': case 'binary': case 'rbinary':
        if (match !== undefined) return fail('only on pattern expected.');
        if (value === undefined || value === '') return fail(`'${kw}' expects a <pattern> as argument.`);
        match = kw;
        pattern = value;
        i++;
        break;
      case 'string-lf': case 'binary-lf':
        return fail(`'${kw}' is not supported in switchyard: log-format strings are not implemented.`, true);
      case 'custom':
        return fail(`'custom' is not supported in switchyard: custom expects belong to HAProxy's built-in checks.`, true);
      case 'comment': case 'on-success': case 'on-error': case 'status-code': {
        if (value === undefined || value === '') return fail(`'${kw}' expects ${kw === 'status-code' ? 'an expression' : 'a string'} as argument.`);
        const key = kw === 'comment' ? 'comment' : kw === 'on-success' ? 'onSuccess' : kw === 'on-error' ? 'onError' : 'statusCode';
        extra[key] = value;
        i++;
        break;
      }
      case 'ok-status': case 'error-status': case 'tout-status': {
        const allowed = kw === 'ok-status' ? OK_STATUS : kw === 'error-status' ? ERROR_STATUS : TIMEOUT_STATUS;
        const text = kw === 'ok-status' ? "'L4OK', 'L6OK', 'L7OK' or 'L7OKC'" : kw === 'error-status' ? "'L4CON', 'L6RSP', 'L7RSP' or 'L7STS'" : "'L4TOUT', 'L6TOUT' or 'L7TOUT'";
        const st = status<string>(allowed, text);
        if (typeof st !== 'string') return st;
        if (kw === 'ok-status') extra.okStatus = st as (typeof OK_STATUS)[number];
        else if (kw === 'error-status') extra.errorStatus = st as (typeof ERROR_STATUS)[number];
        else extra.timeoutStatus = st as (typeof TIMEOUT_STATUS)[number];
        i++;
        break;
      }
      default:
        return fail(`'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '${kw}' as argument.`);
    }
  }
  if (match === undefined || pattern === undefined) return fail('expects at least a matching pattern as arguments.');
  if (match === 'binary' && !HEX.test(pattern)) return fail(`'${pattern}' is not a valid hexadecimal string (an even number of hex digits).`);
  if (match === 'rstring' || match === 'rbinary') {
    try {
      new RegExp(pattern);
    } catch (err) {
      return fail(`regex '${pattern}' is not valid in switchyard (JavaScript regular expressions): ${(err as Error).message}.`);
    }
  }
  for (const [key, kw] of [['onSuccess', 'on-success'], ['onError', 'on-error'], ['statusCode', 'status-code']] as const) {
    const text = extra[key];
    if (text === undefined) continue;
    try {
      if (key === 'statusCode') compileReplyCode(kw, text);
      else compileReplyText(kw, text);
    } catch (err) {
      return fail(`'${kw}' '${text}' is not supported in switchyard: ${(err as Error).message.replace(/^\S+ /, '')}.`, true);
    }
  }
  const value = match === 'binary' ? pattern.toLowerCase() : pattern;
  return { ok: true, rule: { type: 'expect', match, pattern: value, negate, minRecv, source, ...extra } };
}
