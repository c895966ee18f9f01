import { getSystemErrorName } from 'node:util';

/*
 * Node's own TCP handles (the C++ objects under every `net.Socket`), for the proxy's relay. A proxied connection
 * through `net.Socket` pays for the Readable and Writable state machines, a `nextTick` per event and the socket's
 * own bookkeeping, twice per connection; the relay needs none of it (bench/README.md, "Connection rate"). These
 * are Node's internal bindings (`process.binding('tcp_wrap')` and `'stream_wrap'`): they are looked up once and
 * checked member by member; when anything is missing or looks different, {@link loadRawHandles} returns
 * undefined and the proxy keeps `net.Socket`. `SWITCHYARD_NO_RAW_RELAY=1` does the same on purpose.
 */

/** A request object of a handle operation: Node calls `oncomplete(status)` on it (`this` is the request). */
export interface HandleRequest {
  oncomplete: ((this: HandleRequest, status: number) => void) | undefined;
  handle: TcpHandle | undefined;
  [key: string]: unknown;
}

/** The members of Node's `TCP` handle the relay uses (see src/tcp_wrap.cc, src/stream_base.cc). */
export interface TcpHandle {
  onread: ((this: TcpHandle, arrayBuffer?: ArrayBuffer) => Uint8Array | undefined) | undefined;
  onconnection?: ((this: TcpHandle, status: number, client?: TcpHandle) => void) | undefined;
  readonly fd: number;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: HandleRequest, data: Uint8Array): number;
  shutdown(req: HandleRequest): number;
  connect(req: HandleRequest, address: string, port: number): number;
  connect6(req: HandleRequest, address: string, port: number): number;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  setNoDelay(enable: boolean): number;
  setKeepAlive(enable: boolean, delaySeconds: number): number;
  close(callback?: (this: TcpHandle) => void): void;
  [key: symbol]: unknown;
}

/** @internal The bindings, checked. */
export interface RawHandles {
  readonly TCP: new (type: number) => TcpHandle;
  readonly socketType: number;
  readonly ConnectWrap: new () => HandleRequest;
  readonly WriteWrap: new () => HandleRequest;
  readonly ShutdownWrap: new () => HandleRequest;
  /** Node's shared Int32Array through which a read's length and a write's asynchrony come back. */
  readonly state: Int32Array;
  readonly kReadBytesOrError: number;
  readonly kLastWriteWasAsync: number;
  /**
   * Counts the callbacks libuv makes into the proxy's sockets (reads, connects, writes, shutdowns, closes): two
   * callbacks with consecutive numbers came with nothing of this proxy's in between (raw-socket.ts, end of stream).
   */
  readonly callbacks: { value: number };
  /**
   * A write request not yet used: a write the kernel takes at once never touches its request (Node tries the
   * write before it binds one), so the next write reuses it; a write that waits keeps it, and a new one is made.
   */
  readonly spare: { write: HandleRequest | undefined };
}

/**
 * The TCP handle bindings of this Node, or undefined when they are not there as expected (or
 * `SWITCHYARD_NO_RAW_RELAY=1`): the caller then uses `net.Socket`. Called once per proxy (Node caches bindings).
 */
export function loadRawHandles(env: NodeJS.ProcessEnv = process.env): RawHandles | undefined {
  if (env['SWITCHYARD_NO_RAW_RELAY'] === '1') return undefined;
  try {
    const binding = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
    if (typeof binding !== 'function') return undefined;
    const tcp = binding.call(process, 'tcp_wrap');
    const stream = binding.call(process, 'stream_wrap');
    const TCP = tcp['TCP'];
    const ConnectWrap = tcp['TCPConnectWrap'];
    const constants = tcp['constants'] as Record<string, unknown> | undefined;
    const { WriteWrap, ShutdownWrap, streamBaseState: state, kReadBytesOrError, kLastWriteWasAsync } = stream;
    if (typeof TCP !== 'function' || typeof ConnectWrap !== 'function' || typeof WriteWrap !== 'function' || typeof ShutdownWrap !== 'function') return undefined;
    if (!(state instanceof Int32Array) || typeof kReadBytesOrError !== 'number' || typeof kLastWriteWasAsync !== 'number') return undefined;
    if (typeof constants?.['SOCKET'] !== 'number') return undefined;
    const proto = (TCP as { prototype: Record<string, unknown> }).prototype;
    const methods = ['readStart', 'readStop', 'useUserBuffer', 'writeBuffer', 'shutdown', 'connect', 'connect6', 'getpeername', 'getsockname', 'setNoDelay', 'setKeepAlive', 'close'];
    if (!methods.every((m) => typeof proto[m] === 'function')) return undefined;
    return {
      TCP: TCP as RawHandles['TCP'],
      socketType: constants['SOCKET'],
      ConnectWrap: ConnectWrap as RawHandles['ConnectWrap'],
      WriteWrap: WriteWrap as RawHandles['WriteWrap'],
      ShutdownWrap: ShutdownWrap as RawHandles['ShutdownWrap'],
      state,
      kReadBytesOrError,
      kLastWriteWasAsync,
      callbacks: { value: 0 },
      spare: { write: undefined },
    };
  } catch {
    return undefined;
  }
}

/** True when `handle` is a TCP handle of these bindings (a listener's or an accepted socket's). */
export function isTcpHandle(raw: RawHandles, handle: unknown): handle is TcpHandle {
  return handle instanceof raw.TCP;
}

/** An error as Node makes it for a failed system call on a socket (`connect ECONNREFUSED 127.0.0.1:5432`). */
export function uvError(status: number, syscall: string, address?: string, port?: number): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `UV_${-status}`;
  }
  const err: NodeJS.ErrnoException & { address?: string; port?: number } = new Error(`${syscall} ${code}${address === undefined ? '' : ` ${address}:${port ?? 0}`}`);
  err.errno = status;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) {
    err.address = address;
    err.port = port ?? 0;
  }
  return err;
}
