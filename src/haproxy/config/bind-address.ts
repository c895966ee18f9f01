/**
 * One address of a `bind` line (`doc/configuration.txt` §4 `bind`, §11 address formats), with HAProxy 2.6's
 * messages: `host:port[-end]` with an optional `ipv4@`/`ipv6@`/`tcp@` family, a unix socket (`unix@<path>` or an
 * absolute path), an abstract socket (`abns@<name>`), or an inherited listening socket (`fd@<n>`). Pure: whether
 * descriptor `n` is a socket is checked when the configuration is checked or run (haproxy/build/listeners.ts).
 */
import net from 'node:net';
import { parseAddress, stripFamily } from './address.js';
import type { BindAddress, SourceLocation } from './types.js';

/** A parsed bind address, or HAProxy's message for what is wrong with it. */
export type BindAddressParse = { readonly ok: true; readonly address: BindAddress } | { readonly ok: false; readonly message: string };

const PREFIX = `'bind' : `;
const DGRAM = ['udp@', 'udp4@', 'udp6@'];

/** Parses one comma-separated element of a `bind` line. Never throws. */
export function parseBindAddress(raw: string, source: SourceLocation): BindAddressParse {
  if (raw.startsWith('fd@')) {
    const text = raw.slice(3);
    if (!/^[0-9]{1,9}$/.test(text)) return { ok: false, message: `${PREFIX}file descriptor '${text}' is not a valid integer in '${raw}'` };
    return { ok: true, address: { kind: 'fd', fd: Number(text), raw, source } };
  }
  if (raw.startsWith('unix@') || raw.startsWith('/') || raw.startsWith('abns@')) {
    const abstract = raw.startsWith('abns@');
    const path = raw.startsWith('/') ? raw : raw.slice(5);
    if (path === '') return { ok: false, message: `${PREFIX}missing socket path in '${raw}'` };
    return { ok: true, address: { kind: 'unix', path, abstract, raw, source } };
  }
  if (DGRAM.some((p) => raw.startsWith(p))) return { ok: false, message: `${PREFIX}dgram-type address not acceptable in '${raw}'` };
  if (raw.startsWith('sockpair@')) {
    return { ok: false, message: `${PREFIX}address '${raw}' is not supported in switchyard: a socket pair passes connections, not a listener.` };
  }
  const parsed = parseAddress(raw, { allowRange: true, prefix: PREFIX });
  if (!parsed.ok) return parsed;
  const family = stripFamily(raw)?.family ?? '';
  let host = parsed.host;
  if (family === 'ipv6' || family === 'tcp6') {
    // HAProxy: an IPv6 family takes only an IPv6 address; no address at all is `::`.
    if (/^(?:ipv6|tcp6)@\*?:/.test(raw)) host = '::';
    else if (net.isIPv4(host)) return { ok: false, message: `${PREFIX}invalid address: '${writtenHost(raw)}' in '${raw}'` };
  } else if ((family === 'ipv4' || family === 'tcp4') && net.isIPv6(host)) {
    return { ok: false, message: `${PREFIX}invalid address: '${writtenHost(raw)}' in '${raw}'` };
  }
  return { ok: true, address: { kind: 'tcp', host, port: parsed.port, portEnd: parsed.portEnd, raw, source } };
}

/** The host part as written (`[::1]` keeps its brackets), for HAProxy's "invalid address" message. */
function writtenHost(raw: string): string {
  const body = raw.slice(raw.indexOf('@') + 1);
  if (body.startsWith('[')) return body.slice(0, body.indexOf(']') + 1);
  return body.slice(0, body.lastIndexOf(':'));
}
