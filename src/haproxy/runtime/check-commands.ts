/**
 * `set server <b>/<s> check-addr <ip> [port <p>]`, `check-port <p>` and `ssl on|off`, with HAProxy 2.6's replies
 * (recorded from `haproxy` 2.6.12). Each returns the output without the final empty line.
 */
import net from 'node:net';
import type { Server } from '../../server.js';
import type { HaproxyBackend } from '../build/instance.js';

const NOT_ENABLED = 'health checks are not enabled on this server';

/**
 * HAProxy's `srv_update_check_addr_port()`: a numeric address only, a port from 0 to 65535 (0: the server's own),
 * both checked before either is applied; the checks connect there from the next one on.
 */
export function setServerCheck(b: HaproxyBackend, s: Server, what: 'check-addr' | 'check-port', args: readonly string[]): string {
  const value = args[0];
  if (value === undefined || value === '') {
    return what === 'check-addr' ? 'set server <b>/<s> check-addr requires an address and optionally a port.\n' : 'set server <b>/<s> check-port requires a port.\n';
  }
  if (!s.check) return NOT_ENABLED;
  let addr: string | undefined;
  let portText: string | undefined = value;
  if (what === 'check-addr') {
    if (net.isIP(value) === 0) return `invalid addr '${value}'`;
    addr = net.isIPv6(value) ? new URL(`http://[${value}]/`).hostname.slice(1, -1) : value;
    portText = args[1] === 'port' ? (args[2] ?? '') : undefined;
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^-?\d+$/.test(portText)) return 'provided port is not an integer';
    port = Number(portText);
    if (port < 0 || port > 65535) return 'provided port is invalid';
  }
  b.checker.updateServer(s.name, {
    ...(addr === undefined ? {} : { addr }),
    ...(port === undefined ? {} : { port: port === 0 ? null : port }),
  });
  return '';
}

/**
 * `set server <b>/<s> ssl …`: switchyard's configuration refuses the server `ssl` keyword, so no server has SSL
 * settings, and HAProxy 2.6.12 answers this (whatever follows `ssl`) for such a server.
 */
export function setServerSsl(): string {
  return "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n";
}
