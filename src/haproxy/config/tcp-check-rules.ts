/**
 * `tcp-check connect|send|send-binary|expect|comment` rules (`doc/configuration.txt` §4.2 tcp-check *),
 * with HAProxy 2.6's wording for its errors. Regular expressions are compiled here with JavaScript's
 * engine (what the checker will run), so a pattern PCRE accepts but JavaScript does not is an error now,
 * not a failed check later.
 */
import { isHostLike } from './address.js';
import type { SourceLocation, TcpCheckRule } from './types.js';
import { parseCount } from './server-keywords.js';

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
      case 'comment':
        if (value === undefined) return { ok: false, message: `'tcp-check connect' : 'comment' expects a string as argument.` };
        comment = value;
        i++;
        break;
      case 'default': case 'ssl': case 'sni': case 'alpn': case 'via-socks4': case 'linger': case 'proto':
        return { ok: false, unsupported: true, message: `'tcp-check connect' : '${kw}' is not supported in switchyard.` };
      default:
        return {
          ok: false,
          message: `'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '${kw}' as argument.`,
        };
    }
  }
  const rule: TcpCheckRule = { type: 'connect', sendProxy, source, ...(port === undefined ? {} : { port }), ...(addr === undefined ? {} : { addr }), ...(comment === undefined ? {} : { comment }) };
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

function expect(args: readonly string[], source: SourceLocation): TcpCheckParse {
  let minRecv = -1;
  let negate = false;
  let comment: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const kw = args[i] ?? '';
    if (kw === 'min-recv') {
      const n = parseCount(args[i + 1]);
      if (n === undefined) return { ok: false, message: `'tcp-check expect' : 'min-recv' expects an integer as argument.` };
      minRecv = n;
      i++;
    } else if (kw === 'comment') {
      if (args[i + 1] === undefined) return { ok: false, message: `'tcp-check expect' : 'comment' expects a string as argument.` };
      comment = args[++i];
    } else if (kw === '!') {
      negate = true;
    } else if (['ok-status', 'error-status', 'tout-status', 'on-success', 'on-error', 'status-code'].includes(kw)) {
      return { ok: false, unsupported: true, message: `'tcp-check expect' : '${kw}' is not supported in switchyard.` };
    } else {
      break;
    }
  }
  const rawMatch = args[i] ?? '';
  const match = rawMatch.startsWith('!') ? rawMatch.slice(1) : rawMatch;
  if (rawMatch.startsWith('!')) negate = true;
  const pattern = args[i + 1];
  if (rawMatch === '') return { ok: false, message: `'tcp-check expect' : expects at least a matching pattern as arguments.` };
  if (match === 'string-lf' || match === 'binary-lf') {
    return { ok: false, unsupported: true, message: `'tcp-check expect' : '${match}' is not supported in switchyard: log-format strings are not implemented.` };
  }
  if (match !== 'string' && match !== 'rstring' && match !== 'binary' && match !== 'rbinary') {
    return {
      ok: false,
      message: `'tcp-check expect' : 'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '${rawMatch}' as argument.`,
    };
  }
  if (pattern === undefined || pattern === '') return { ok: false, message: `'tcp-check expect' : '${match}' expects <pattern> as argument.` };
  if (args.length > i + 2) {
    const extra = args[i + 2] ?? '';
    if (extra !== 'comment' || args[i + 3] === undefined) return { ok: false, message: `'tcp-check expect' : unexpected argument '${extra}' after the pattern.` };
    comment = args[i + 3];
  }
  if (match === 'binary' && !HEX.test(pattern)) {
    return { ok: false, message: `'tcp-check expect' : '${pattern}' is not a valid hexadecimal string (an even number of hex digits).` };
  }
  if (match === 'rstring' || match === 'rbinary') {
    try {
      new RegExp(pattern);
    } catch (err) {
      return { ok: false, message: `'tcp-check expect' : regex '${pattern}' is not valid in switchyard (JavaScript regular expressions): ${(err as Error).message}.` };
    }
  }
  const value = match === 'binary' ? pattern.toLowerCase() : pattern;
  return { ok: true, rule: { type: 'expect', match, pattern: value, negate, minRecv, source, ...(comment === undefined ? {} : { comment }) } };
}
