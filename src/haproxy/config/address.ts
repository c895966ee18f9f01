/**
 * HAProxy addresses (`bind`, `server`, `log`, `stats socket`): `host:port`, `[v6]:port`, `v6:port` (the last
 * colon separates the port), `*:port` / `:port` (any IPv4 address), `:::port` (any IPv6 address), optional
 * `ipv4@` / `ipv6@` / `tcp@` / `udp@` prefixes, port ranges `a-b` where allowed. Host names are kept as written:
 * the parser does no DNS (HAProxy resolves at start-up; Node resolves at connect time).
 */

/** A parsed address: host and port(s), or HAProxy's message for what is wrong. */
export type AddressParse =
  | { readonly ok: true; readonly host: string; readonly port: number; readonly portEnd: number }
  | { readonly ok: false; readonly message: string; readonly missingPort?: boolean };

/** What the address is for, which decides what is allowed. */
export interface AddressRules {
  /** Port ranges (`8000-8010`) are allowed (bind only). */
  readonly allowRange: boolean;
  /** Prefix for messages, e.g. `'bind' : ` (HAProxy's wording differs by keyword). */
  readonly prefix: string;
}

const PREFIXES = ['ipv4@', 'ipv6@', 'tcp@', 'tcp4@', 'tcp6@', 'udp@', 'udp4@', 'udp6@'];
const HOST_CHARS = /^[A-Za-z0-9._:%-]+$/;

/** Strips a supported `family@` prefix; returns undefined for other prefixes (`unix@`, `fd@`, `abns@`…). */
export function stripFamily(text: string): { readonly family: string; readonly rest: string } | undefined {
  const at = text.indexOf('@');
  if (at < 0) return { family: '', rest: text };
  const prefix = text.slice(0, at + 1);
  return PREFIXES.includes(prefix) ? { family: prefix.slice(0, -1), rest: text.slice(at + 1) } : undefined;
}

/** Parses `host:port` (or a range where allowed). Never throws. */
export function parseAddress(text: string, rules: AddressRules): AddressParse {
  const stripped = stripFamily(text);
  if (stripped === undefined) {
    return { ok: false, message: `${rules.prefix}unsupported address family in '${text}'` };
  }
  const body = stripped.rest;
  let host: string;
  let portText: string;
  if (body.startsWith('[')) {
    const close = body.indexOf(']');
    if (close < 0 || body.charAt(close + 1) !== ':') {
      return close < 0
        ? { ok: false, message: `${rules.prefix}invalid address: '${text}'` }
        : { ok: false, missingPort: true, message: `${rules.prefix}missing port specification in '${text}'` };
    }
    host = body.slice(1, close);
    portText = body.slice(close + 2);
  } else {
    const colon = body.lastIndexOf(':');
    if (colon < 0) return { ok: false, missingPort: true, message: `${rules.prefix}missing port specification in '${text}'` };
    host = body.slice(0, colon);
    portText = body.slice(colon + 1);
  }
  if (host === '' || host === '*') host = '0.0.0.0';
  else if (host === '::') host = '::';
  if (!HOST_CHARS.test(host)) return { ok: false, message: `${rules.prefix}invalid address '${host}' in '${text}'` };

  const dash = portText.indexOf('-', 1);
  const firstText = dash < 0 ? portText : portText.slice(0, dash);
  const lastText = dash < 0 ? portText : portText.slice(dash + 1);
  if (dash >= 0 && !rules.allowRange) {
    return { ok: false, message: `${rules.prefix}port range not permitted here in '${text}'` };
  }
  if (portText === '') return { ok: false, missingPort: true, message: `${rules.prefix}missing port specification in '${text}'` };
  if (firstText.startsWith('+') || firstText.startsWith('-')) {
    return { ok: false, message: `${rules.prefix}port offsets are not supported in switchyard in '${text}'` };
  }
  const port = parsePort(firstText);
  const portEnd = parsePort(lastText);
  for (const [value, raw] of [[port, firstText], [portEnd, lastText]] as const) {
    if (typeof value === 'string') {
      return { ok: false, message: `${rules.prefix}invalid character '${value}' in port number '${raw}' in '${text}'` };
    }
    if (value < 1 || value > 65535) return { ok: false, message: `${rules.prefix}invalid port '${raw}'` };
  }
  if ((portEnd as number) < (port as number)) return { ok: false, message: `${rules.prefix}invalid port range '${portText}'` };
  return { ok: true, host, port: port as number, portEnd: portEnd as number };
}

/** A port number, or the first character that is not a digit. */
function parsePort(text: string): number | string {
  if (text === '') return 0;
  for (const c of text) if (c < '0' || c > '9') return c;
  return text.length > 6 ? 100_000 : Number(text);
}

/** True for a plausible IP address or host name (letters, digits, `.`, `-`, `_`, `:` and `%` only). */
export function isHostLike(text: string): boolean {
  return text.length > 0 && HOST_CHARS.test(text);
}
