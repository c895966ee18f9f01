import type net from 'node:net';
import type { ProxySocket } from './relay-socket.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { CONNECT_DEFAULTS, CONNECT_POLICY_KEYS, type ConnectPolicyOptions } from '../dial/dialer.js';

/** Options of {@link TcpProxy}: the connect policy (shared with `balancer.connect()`) plus the proxy's own. */
export interface TcpProxyOptions extends ConnectPolicyOptions {
  /**
   * Client-side inactivity timeout, ms (HAProxy `timeout client`): no byte read from or written to the
   * client for this long ends the connection (`cD`; `cQ`/`cC` while queued or connecting). `Infinity` = none,
   * as HAProxy without the setting. Inactivity timeouts are checked by one sweep per proxy every
   * min(timeout / 8, 500 ms): they fire up to a quarter of the timeout (at most 1 s) late, never early.
   * @defaultValue Infinity
   */
  readonly timeoutClientMs?: number;
  /** Server-side inactivity timeout, ms (HAProxy `timeout server`; ends with `sD`). @defaultValue Infinity */
  readonly timeoutServerMs?: number;
  /**
   * Once connected, replaces both inactivity timeouts (HAProxy `timeout tunnel`). `undefined` keeps them.
   * @defaultValue undefined
   */
  readonly timeoutTunnelMs?: number;
  /**
   * Send a PROXY protocol header to the server before any client byte (HAProxy `send-proxy`, `send-proxy-v2`).
   * The default for servers without a `sendProxy` of their own: a server's `ServerOptions.sendProxy` (including
   * `false`) wins. @defaultValue false
   */
  readonly sendProxy?: 'v1' | 'v2' | false;
  /**
   * `'shutdown-sessions'`: when a server goes down (health or maintenance), cut its connections (`D-`). The
   * default for servers without an `onMarkedDown` of their own; the server's setting wins. @defaultValue 'none'
   */
  readonly onMarkedDown?: 'none' | 'shutdown-sessions';
  /**
   * `'shutdown-backup-sessions'`: when an active server with a weight comes up, cut every connection on a
   * backup server (`U-`), so clients reconnect to the active servers. The default for servers without an
   * `onMarkedUp` of their own: the setting of the server that comes up decides. @defaultValue 'none'
   */
  readonly onMarkedUp?: 'none' | 'shutdown-backup-sessions';
  /** Disable Nagle's algorithm on both sockets, as a proxy relaying small messages wants. @defaultValue true */
  readonly noDelay?: boolean;
  /** Affinity key for the hash strategies, from the accepted socket (tenant by port, SNI peeked elsewhere…). @defaultValue none: the client address is used */
  readonly key?: (socket: ProxySocket) => string | number | undefined;
  /**
   * Keep the local address and port of both sockets in each connection's record (`record.localAddresses`: the
   * address the client reached and the source address towards the server, HAProxy's `%fi %fp %bi %bp`). Costs a
   * `getsockname()` per socket, so it is off unless a log needs them. @defaultValue false
   */
  readonly recordLocalAddresses?: boolean;
  /**
   * What relays the bytes. `'handles'`: the connections of the proxy's own listeners, and the sockets to servers
   * given by IP address, run on Node's TCP handles without `net.Socket` (about half the CPU per connection; the
   * `ProxyConnection` sockets are then the proxy's own {@link ProxySocket}s, not `net.Socket`s). `'sockets'`:
   * `net.Socket` everywhere. Sockets the application hands over (`handle()`, `attach()`) stay `net.Socket`s in
   * both. Where this Node lacks the handles' members, `'handles'` falls back to `'sockets'` (docs/proxy.md).
   * @defaultValue 'handles'
   */
  readonly relay?: 'handles' | 'sockets';
}

/** Default values of {@link TcpProxyOptions}. */
export const TCP_PROXY_DEFAULTS = Object.freeze({
  ...CONNECT_DEFAULTS,
  timeoutClientMs: Infinity,
  timeoutServerMs: Infinity,
  timeoutTunnelMs: undefined,
  sendProxy: false as const,
  onMarkedDown: 'none' as const,
  onMarkedUp: 'none' as const,
  noDelay: true,
  recordLocalAddresses: false,
  relay: 'handles' as const,
});

/** @internal The keys of {@link TcpProxyOptions}, for option validation. */
export const TCP_PROXY_OPTION_KEYS = [
  ...CONNECT_POLICY_KEYS,
  'timeoutClientMs', 'timeoutServerMs', 'timeoutTunnelMs', 'sendProxy', 'onMarkedDown', 'onMarkedUp', 'noDelay', 'key',
  'recordLocalAddresses', 'relay',
] as const;

/** Options of {@link TcpProxy.listen}. */
export interface ProxyListenOptions {
  /** @defaultValue 0 (any free port) */
  readonly port?: number;
  /** @defaultValue all interfaces, as `net.Server.listen` */
  readonly host?: string;
  /** Accept queue length. @defaultValue Node's (511) */
  readonly backlog?: number;
  /** Listen on IPv6 only. @defaultValue false */
  readonly ipv6Only?: boolean;
  /**
   * SO_REUSEPORT: several listening sockets (processes, threads) on one port, the kernel spreading connections
   * among them (HAProxy binds this way for its threads and for seamless reloads). Needs Node 22.12+ or 23.1+, where
   * `net.Server.listen()` reads it; on an older Node it is refused with `ERR_LB_INVALID_ARG` rather than ignored.
   * @defaultValue false
   */
  readonly reusePort?: boolean;
}

/** True when this Node's `net.Server.listen()` knows `reusePort` (22.12+, 23.1+; older versions ignore the option). */
export function reusePortSupported(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** Options of {@link TcpProxy.close}. */
export interface ProxyCloseOptions {
  /** After this many ms, connections still open are destroyed (`KD`). @defaultValue Infinity */
  readonly deadlineMs?: number;
}

const LISTEN_KEYS = ['port', 'host', 'backlog', 'ipv6Only', 'reusePort'] as const;

/** @internal The per-connection settings of a proxy, validated. */
export interface SessionSettings {
  /** Client inactivity timeout, ms; `Infinity` = none. */
  readonly timeoutClientMs: number;
  /** Server inactivity timeout, ms; `Infinity` = none. */
  readonly timeoutServerMs: number;
  /** Replaces both once connected, when set. */
  readonly timeoutTunnelMs: number | undefined;
  readonly sendProxy: 'v1' | 'v2' | undefined;
  readonly noDelay: boolean;
  readonly recordLocalAddresses: boolean;
  readonly relay: 'handles' | 'sockets';
}

/** @internal Validates the session part of the proxy's options (the caller checks for unknown keys). */
export function resolveSessionSettings(o: Record<string, unknown>): SessionSettings {
  const tunnel = o['timeoutTunnelMs'];
  const sendProxy = o['sendProxy'] ?? TCP_PROXY_DEFAULTS.sendProxy;
  if (sendProxy !== false && sendProxy !== 'v1' && sendProxy !== 'v2') throw invalidArg('sendProxy', "must be 'v1', 'v2' or false", sendProxy);
  return Object.freeze({
    timeoutClientMs: positiveDuration('timeoutClientMs', o['timeoutClientMs'] ?? TCP_PROXY_DEFAULTS.timeoutClientMs),
    timeoutServerMs: positiveDuration('timeoutServerMs', o['timeoutServerMs'] ?? TCP_PROXY_DEFAULTS.timeoutServerMs),
    timeoutTunnelMs: tunnel === undefined ? undefined : positiveDuration('timeoutTunnelMs', tunnel),
    sendProxy: sendProxy === false ? undefined : sendProxy,
    noDelay: v.boolean('noDelay', o['noDelay'] ?? TCP_PROXY_DEFAULTS.noDelay),
    recordLocalAddresses: v.boolean('recordLocalAddresses', o['recordLocalAddresses'] ?? TCP_PROXY_DEFAULTS.recordLocalAddresses),
    relay: v.oneOf('relay', o['relay'] ?? TCP_PROXY_DEFAULTS.relay, ['handles', 'sockets']),
  });
}

/** @internal Validated {@link ProxyListenOptions}, as `net.Server.listen` takes them. */
export function resolveListenOptions(options: ProxyListenOptions): net.ListenOptions {
  const o = v.plainObject('listen options', options);
  v.knownKeys('listen options', o, LISTEN_KEYS);
  const port = v.integerInRange('port', o['port'] ?? 0, 0, 65535);
  const host = o['host'] === undefined ? undefined : v.nonEmptyString('host', o['host']);
  const backlog = o['backlog'] === undefined ? undefined : v.positiveInteger('backlog', o['backlog']);
  const ipv6Only = v.boolean('ipv6Only', o['ipv6Only'] ?? false);
  const reusePort = v.boolean('reusePort', o['reusePort'] ?? false);
  if (reusePort && !reusePortSupported()) throw invalidArg('reusePort', `needs Node 22.12+ or 23.1+, this is ${process.version}`, reusePort);
  // @types/node 20 does not know reusePort (Node 22.12+ reads it).
  return reusePort ? ({ port, host, backlog, ipv6Only, reusePort } as net.ListenOptions) : { port, host, backlog, ipv6Only };
}

function positiveDuration(field: string, value: unknown): number {
  return v.durationMs(field, value, { allowInfinite: true, allowZero: false });
}
