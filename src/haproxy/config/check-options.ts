/**
 * The check options of a proxy (`option httpchk`, `option mysql-check|pgsql-check|redis-check|smtpchk|ldap-check|
 * ssl-hello-chk`), with HAProxy 2.6's messages (`src/tcpcheck.c proxy_parse_*_opt()`). Each one replaces the check
 * the section had, as in HAProxy.
 */
import type { ProxyDraft } from './draft.js';
import type { ConfigLine } from './line.js';
import type { HttpCheck, ProtocolCheck } from './types.js';

/** The protocol checks switchyard runs (HAProxy's built-in tcp-check rulesets). */
export const PROTOCOL_CHECK_OPTIONS = ['mysql-check', 'pgsql-check', 'redis-check', 'smtpchk', 'ldap-check', 'ssl-hello-chk'] as const;

/** Applies `option <name> <args…>` for a protocol check; false when `name` is not one. */
export function applyProtocolCheckOption(line: ConfigLine, draft: ProxyDraft, name: string, args: readonly string[]): boolean {
  if (!(PROTOCOL_CHECK_OPTIONS as readonly string[]).includes(name)) return false;
  const max = name === 'mysql-check' ? 3 : name === 'pgsql-check' || name === 'smtpchk' ? 2 : 0;
  if (args.length > max) {
    line.alert('option', `'option ${name}' cannot handle unexpected argument '${args[max] ?? ''}'.`);
    return true;
  }
  const check = protocolCheck(line, name, args);
  if (check === undefined) return true;
  draft.checkOption = 'protocol';
  draft.protocolCheck = check;
  return true;
}

function protocolCheck(line: ConfigLine, name: string, args: readonly string[]): ProtocolCheck | undefined {
  const [a, b, c] = args;
  switch (name) {
    case 'mysql-check':
      if (a === undefined) return { name, protocol: 'post-41' };
      if (a !== 'user') {
        line.alert('option', `'option mysql-check' only supports optional values: 'user' (got '${a}').`);
        return undefined;
      }
      if (b === undefined || b === '') {
        line.alert('option', `'option mysql-check user' expects <username> as argument.`);
        return undefined;
      }
      if (c !== undefined && c !== 'post-41' && c !== 'pre-41') {
        line.alert('option', `keyword 'user' only supports 'post-41' and 'pre-41' (got '${c}').`);
        return undefined;
      }
      return { name, user: b, protocol: c ?? 'post-41' };
    case 'pgsql-check':
      if (a === undefined || b === undefined || a === '' || b === '') {
        line.alert('option', `'option pgsql-check' expects 'user <username>' as argument.`);
        return undefined;
      }
      if (a !== 'user') {
        line.alert('option', `'option pgsql-check' only supports optional values: 'user'.`);
        return undefined;
      }
      return { name, user: b };
    case 'smtpchk':
      // HAProxy takes `HELO|EHLO <domain>` and silently falls back to `HELO localhost` for anything else.
      if ((a === 'HELO' || a === 'EHLO') && b !== undefined && b !== '') return { name, command: a, domain: b };
      return { name, command: 'HELO', domain: 'localhost' };
    default:
      return { name: name as 'redis-check' | 'ldap-check' | 'ssl-hello-chk' };
  }
}

/**
 * `option httpchk [<method>] [<uri>] [<version>]`: one argument is the URI; headers and a body may follow the
 * version after `\r\n` (deprecated in HAProxy 2.6, which warns; so does switchyard); a body is refused. Header
 * names are kept as written; the probe writes them in lower case, as HAProxy does.
 */
export function applyHttpchkOption(line: ConfigLine, draft: ProxyDraft, args: readonly string[]): void {
  if (args.length > 3) {
    line.alert('option', `'option httpchk' cannot handle unexpected argument '${args[3] ?? ''}'.`);
    return;
  }
  const [a, b, c] = args;
  let version = c ?? 'HTTP/1.0';
  let headerText: string | undefined;
  let body: string | undefined;
  if (c !== undefined) {
    let hdrs = c.indexOf('\r\n');
    const end = c.indexOf('\r\n\r\n');
    if (hdrs === end) hdrs = -1;
    if (end >= 0) body = c.slice(end + 4);
    if (hdrs >= 0) headerText = c.slice(hdrs + 2, end >= 0 ? end : undefined);
    const cut = hdrs >= 0 ? hdrs : end;
    if (cut >= 0) {
      version = c.slice(0, cut);
      line.warn('option', `'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.`, 'reader');
    }
  }
  const headers: { name: string; value: string }[] = [];
  for (const h of headerText === undefined ? [] : headerText.split('\r\n')) {
    const colon = h.indexOf(':');
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.slice(0, colon))) {
      line.alert('option', `'option httpchk' : unable to parse the request '${headerText}\r\n\r\n'.`);
      return;
    }
    headers.push({ name: h.slice(0, colon), value: h.slice(colon + 1).trim() });
  }
  if (body !== undefined && body !== '') {
    line.alert('option', `'option httpchk' : a body after the headers is not supported in switchyard.`);
    return;
  }
  const request: HttpCheck = {
    method: args.length >= 2 ? (a ?? 'OPTIONS') : 'OPTIONS',
    uri: args.length === 1 ? (a ?? '/') : (b ?? '/'),
    version,
    ...(headers.length === 0 ? {} : { headers }),
  };
  draft.checkOption = 'httpchk';
  draft.httpCheck = request;
}
