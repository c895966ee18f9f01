/**
 * Opening the listening sockets of `bind` lines: TCP addresses (one listener per port of a range), unix sockets
 * (a stale socket file left by an earlier run is replaced, as HAProxy does by binding a temporary name and
 * renaming it over the old one), abstract sockets (`abns@`), and inherited listening sockets (`fd@<n>`:
 * systemd socket activation, a supervisor that pre-binds; Node's `listen({ fd })`).
 */
import type { ProxyWorkers } from '../../workers/proxy-workers.js';
import { fstatSync } from 'node:fs';
import http from 'node:http';
import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { LbError } from '../../errors.js';
import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { StatsSection } from '../config/library-options.js';
import type { BindAddress, HaproxyConfig } from '../config/types.js';
import { type BindFailure, formatBindFailure, systemErrorText } from '../log/bind-failure.js';

/** One listening socket a bind address asks for. */
export interface ListenTarget {
  /** What `net.Server.listen()` takes: `{ host, port }`, `{ path }` or a handle `{ fd }`. */
  readonly listen: { readonly host: string; readonly port: number } | { readonly path: string } | { readonly fd: number };
  /** How HAProxy's bind alert names it. */
  readonly address: BindFailure['address'] | { readonly kind: 'fd'; readonly fd: number };
  /** A unix socket file to replace when it is a stale socket. */
  readonly stalePath?: string;
}

/** The listening sockets of one bind address, in HAProxy's order (a port range gives one per port). */
export function listenTargets(bind: BindAddress): ListenTarget[] {
  if (bind.kind === 'fd') return [{ listen: { fd: bind.fd }, address: { kind: 'fd', fd: bind.fd } }];
  if (bind.kind === 'unix') {
    return bind.abstract
      ? [{ listen: { path: `\0${bind.path}` }, address: { kind: 'unix', path: bind.raw } }]
      : [{ listen: { path: bind.path }, address: { kind: 'unix', path: bind.path }, stalePath: bind.path }];
  }
  const out: ListenTarget[] = [];
  for (let port = bind.port; port <= bind.portEnd; port++) {
    out.push({ listen: { host: bind.host, port }, address: { kind: 'tcp', host: bind.host, port } });
  }
  return out;
}

/**
 * Makes `server` listen on `target`; rejects with HAProxy's alert (`formatBindFailure`), e.g.
 * `Binding [haproxy.cfg:9] for proxy web: cannot bind socket (Address already in use) for [127.0.0.1:8080]`.
 */
export async function openListener(server: net.Server, target: ListenTarget, where: Omit<BindFailure, 'address'>): Promise<void> {
  if (target.stalePath !== undefined) await removeStaleSocket(target.stalePath);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const a = target.address;
      const text = a.kind === 'fd'
        ? `Binding [${where.at.file}:${where.at.line}] for ${where.proxyType} ${where.proxyName}: cannot bind socket (${systemErrorText(err)}) for [fd@${a.fd}]`
        : formatBindFailure({ ...where, address: a }, err);
      reject(new LbError('ERR_LB_INVALID_STATE', text, { cause: err }));
    };
    server.once('error', onError);
    // `{ fd }` is the handle form of listen(); `{ host, port }` and `{ path }` the options form.
    server.listen(target.listen, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/**
 * Listens on a TCP `bind` address in a frontend's worker threads (`nbthread` > 1); rejects with HAProxy's alert,
 * as {@link openListener} does.
 */
export async function listenInWorkers(workers: ProxyWorkers, address: { readonly kind: 'tcp'; readonly host: string; readonly port: number }, where: Omit<BindFailure, 'address'>): Promise<net.AddressInfo> {
  try {
    return await workers.listen({ port: address.port, ...(address.host === '' ? {} : { host: address.host }) });
  } catch (err) {
    const code = LbError.is(err) ? (err.details['code'] as string | undefined) : undefined;
    throw new LbError('ERR_LB_INVALID_STATE', formatBindFailure({ ...where, address }, Object.assign(new Error(code ?? String(err)), { code })), { cause: err });
  }
}

/**
 * Serves one stats section's page on each of its `bind` addresses (plain HTTP/1.1); `opened` gets each server as
 * soon as it listens (with its address when it is a TCP one), so the caller can close them all if a later one fails.
 */
export async function serveStatsPage(section: StatsSection, handler: http.RequestListener, opened: (server: http.Server, address: net.AddressInfo | undefined) => void): Promise<void> {
  const clientMs = section.timeouts.clientMs;
  const proxyType = section.kind === 'listen' ? 'proxy' : 'frontend';
  for (const bind of section.binds) {
    for (const target of listenTargets(bind)) {
      const server = http.createServer({ requestTimeout: clientMs ?? 300_000, headersTimeout: Math.min(clientMs ?? 60_000, 60_000) }, handler);
      if (clientMs !== undefined) server.keepAliveTimeout = clientMs;
      server.on('error', () => {});
      server.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        else socket.destroy();
      });
      await openListener(server, target, { at: bind.source, proxyType, proxyName: section.name });
      const address = server.address();
      opened(server, address !== null && typeof address === 'object' ? address : undefined);
    }
  }
}

/** Removes `path` when it is a socket (left by an earlier run); anything else there is left for listen() to refuse. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch {
    // Nothing there.
  }
}

/**
 * HAProxy checks an `fd@<n>` address while it reads the file (`getsockname()`), so `haproxy -c` already refuses
 * a descriptor that is not open or not a socket. The parser does no I/O: this is that check, for `switchyard -c`
 * and the run mode, with HAProxy's alerts (`'bind' : cannot use file descriptor '3' : Socket operation on non-socket.`).
 */
export function inheritedSocketAlerts(config: Pick<HaproxyConfig, 'frontends' | 'listens'>): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  for (const p of [...config.frontends, ...config.listens]) {
    for (const bind of p.binds) {
      if (bind.kind !== 'fd') continue;
      const problem = socketProblem(bind.fd);
      if (problem === undefined) continue;
      const message = `'bind' : cannot use file descriptor '${bind.fd}' : ${problem}.`;
      out.push({ severity: 'alert', file: bind.source.file, line: bind.source.line, keyword: 'bind', message, text: `parsing [${bind.source.file}:${bind.source.line}] : ${message}` });
    }
  }
  return out;
}

function socketProblem(fd: number): string | undefined {
  try {
    return fstatSync(fd).isSocket() ? undefined : 'Socket operation on non-socket';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBADF' ? 'Bad file descriptor' : (err as Error).message;
  }
}
