/**
 * HAProxy 2.6's alert for a listener it cannot open (`protocol_bind_all()`), checked against Debian's
 * haproxy 2.6.12:
 *
 * ```
 * Binding [haproxy.cfg:9] for proxy web: cannot bind socket (Address already in use) for [127.0.0.1:8080]
 * Binding [haproxy.cfg:2] for frontend GLOBAL: cannot bind UNIX socket (No such file or directory) [/run/x/admin.sock]
 * Binding [haproxy.cfg:7] for frontend web: cannot bind socket (Address already in use) for [::1:8080]
 * ```
 */
import type { SourceLocation } from '../config/types.js';

/** `strerror()` of the errors a bind can meet; anything else shows Node's message. */
const STRERROR: Readonly<Record<string, string>> = {
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EINVAL: 'Invalid argument',
};

/** Where the listener was declared and what it binds. */
export interface BindFailure {
  readonly at: SourceLocation;
  /** HAProxy's `proxy_type_str()`: `frontend`, or `proxy` for a `listen` section. The runtime API is `frontend GLOBAL`. */
  readonly proxyType: 'frontend' | 'proxy';
  readonly proxyName: string;
  readonly address: { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };
}

/** The text of `err` as `strerror()` has it (`Address already in use`), or its message. */
export function systemErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (code === undefined ? undefined : STRERROR[code]) ?? (err instanceof Error ? err.message : String(err));
}

/** The alert's text, without the `[ALERT]    (pid) : ` prefix. */
export function formatBindFailure(failure: BindFailure, err: unknown): string {
  const a = failure.address;
  const what = a.kind === 'unix'
    ? `cannot bind UNIX socket (${systemErrorText(err)}) [${a.path}]`
    : `cannot bind socket (${systemErrorText(err)}) for [${a.host}:${a.port}]`;
  return `Binding [${failure.at.file}:${failure.at.line}] for ${failure.proxyType} ${failure.proxyName}: ${what}`;
}
