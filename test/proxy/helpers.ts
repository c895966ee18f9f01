import { once } from 'node:events';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { Balancer, type BalancerOptions } from '../../src/balancer.js';
import type { Clock } from '../../src/clock.js';
import type { ConnectOutcome, OutcomeSink } from '../../src/outcome.js';
import { Pool } from '../../src/pool.js';
import type { Server, ServerOptions } from '../../src/server.js';
import type { PickContext, Strategy } from '../../src/strategies/strategy.js';
import { type ConnectionRecord, TcpProxy, type TcpProxyOptions } from '../../src/proxy/tcp-proxy.js';
import { withTimeout } from '../helpers/timeout.js';

/** Safety net for every wait: a test that hangs fails with a message instead of stalling CI. */
export const SAFETY_MS = 10_000;

/** Waits for `event` on `emitter`, failing after `SAFETY_MS`. */
export async function waitEvent<T extends unknown[] = unknown[]>(
  emitter: { once(event: any, listener: (...args: any[]) => void): unknown },
  event: string,
  what = event,
  timeoutMs = SAFETY_MS,
): Promise<T> {
  // A timer we clear (AbortSignal.timeout's cannot be), so waiting leaves no handle behind.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return (await once(emitter as NodeJS.EventEmitter, event, { signal: controller.signal })) as T;
  } catch (err) {
    if (controller.signal.aborted) throw new Error(`timed out waiting for ${what}`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` on each turn of the event loop until it holds, failing after `SAFETY_MS`. */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + SAFETY_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Listens on 127.0.0.1, any port; resolves with the port. */
export async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await waitEvent(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Closes a server and every socket it still has. */
export async function closeServer(server: net.Server, sockets?: Iterable<net.Socket>): Promise<void> {
  for (const s of sockets ?? []) s.destroy();
  if (!server.listening) return;
  const closed = waitEvent(server, 'close');
  server.close();
  await closed;
}

/** A backend on 127.0.0.1 whose sockets are tracked so the test can close everything. */
export interface Backend {
  readonly server: net.Server;
  readonly port: number;
  readonly sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** Starts a backend running `onSocket` for each accepted connection (half-open allowed). */
export async function backend(onSocket: (socket: net.Socket) => void): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  const port = await listen(server);
  return { server, port, sockets, close: () => closeServer(server, sockets) };
}

/** Echoes everything and ends when the client ends. */
export function echo(socket: net.Socket): void {
  socket.pipe(socket);
}

/** A port on 127.0.0.1 where nothing listens: connections are refused. */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await closeServer(server);
  return port;
}

/**
 * A backend that never completes a handshake: a listener with a one-slot accept queue that never accepts
 * (its thread is blocked), pre-filled so the kernel drops further SYNs. Connecting to it hangs until the
 * connect timeout.
 */
export async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const net = require('node:net'); const { parentPort, workerData } = require('node:worker_threads');
     const s = net.createServer(); s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(s.address().port);
       Atomics.wait(workerData, 0, 0);
     });`,
    { eval: true, workerData: flag },
  );
  const [port] = await waitEvent<[number]>(worker, 'message', 'the blackhole to listen');
  const fillers: net.Socket[] = [];
  let connected = 0;
  for (let i = 0; i < 4; i++) {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.on('connect', () => connected++);
    fillers.push(c);
  }
  await waitFor(() => connected >= 2, 'the blackhole accept queue to fill');
  return {
    port,
    async close() {
      for (const c of fillers) c.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}

/** An OutcomeSink that records every report, and can wait for the n-th one. */
export class RecordingSink implements OutcomeSink {
  readonly reports: { server: string; outcome: ConnectOutcome }[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  reportOutcome(server: Server, outcome: ConnectOutcome): void {
    this.reports.push({ server: server.name, outcome });
    this.#waiters = this.#waiters.filter((w) => {
      if (this.reports.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  /** `server:kind` for each report, e.g. `['s1:refused', 's2:success']`. */
  get kinds(): string[] {
    return this.reports.map((r) => `${r.server}:${r.outcome.kind}`);
  }

  async waitForReports(n: number): Promise<void> {
    if (this.reports.length >= n) return;
    await withTimeout(new Promise<void>((resolve) => this.#waiters.push({ n, resolve })), SAFETY_MS, () => `${n} outcome reports, have ${this.kinds.join(',')}`);
  }
}

/** A pool, balancer and listening proxy over `servers`, plus the records of closed connections. */
export interface ProxyRig {
  readonly pool: Pool;
  readonly balancer: Balancer;
  readonly proxy: TcpProxy;
  readonly port: number;
  readonly records: ConnectionRecord[];
  /** Connects a client to the proxy; `halfOpen` keeps its side open after the proxy's FIN. */
  connect(halfOpen?: boolean): net.Socket;
  /** Waits until `n` connections have closed, returning the n-th record. */
  closed(n?: number): Promise<ConnectionRecord>;
  shutdown(): Promise<void>;
}

export async function proxyRig(
  servers: readonly ServerOptions[],
  options: TcpProxyOptions = {},
  balancerOptions: BalancerOptions = {},
  clock?: Clock,
): Promise<ProxyRig> {
  const pool = new Pool('fe', clock ? { servers, clock } : { servers });
  const balancer = new Balancer(pool, balancerOptions);
  const proxy = new TcpProxy(balancer, options);
  const records: ConnectionRecord[] = [];
  proxy.on('connection:close', (r) => records.push(r));
  const { port } = await proxy.listen({ host: '127.0.0.1' });
  const clients = new Set<net.Socket>();
  return {
    pool,
    balancer,
    proxy,
    port,
    records,
    connect(halfOpen = false) {
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
      clients.add(c);
      c.on('close', () => clients.delete(c));
      c.on('error', () => {});
      return c;
    },
    async closed(n = 1) {
      await waitFor(() => records.length >= n, `${n} closed connection(s), have ${records.length}`);
      return records[n - 1]!;
    },
    async shutdown() {
      for (const c of clients) c.destroy();
      proxy.destroy();
      await proxy.close();
      balancer.destroy();
    },
  };
}

/** Resolves when the peer has closed the socket: reads (and drops) what is left, then waits for `close`. */
export async function closedByPeer(socket: net.Socket): Promise<void> {
  if (socket.closed) return;
  const closed = waitEvent(socket, 'close');
  socket.resume();
  await closed;
}

/** Collects everything a socket receives from now on. */
export interface Collected {
  readonly length: number;
  buffer(): Buffer;
  text(): string;
  /** Resolves once at least `n` bytes arrived. */
  until(n: number): Promise<void>;
  /** Resolves when the socket's readable side ended (the peer's FIN arrived and all data was read). */
  ended(): Promise<void>;
}

export function collect(socket: net.Socket): Collected {
  const chunks: Buffer[] = [];
  let length = 0;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    length += c.length;
  });
  return {
    get length() {
      return length;
    },
    buffer: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('latin1'),
    until: (n) => waitFor(() => length >= n, `${n} bytes (have ${length})`),
    ended: async () => {
      if (!socket.readableEnded) await waitEvent(socket, 'end');
    },
  };
}

export function s(name: string, port: number, extra: Partial<ServerOptions> = {}): ServerOptions {
  return { name, host: '127.0.0.1', port, ...extra };
}

/** Alternates over the candidates, skipping full and excluded ones: a predictable round robin for tests. */
export class Alternate implements Strategy {
  readonly name = 'alternate';
  #next = 0;
  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[(this.#next + i) % candidates.length]!;
      if (ctx.isFull(c) || ctx.isExcluded(c)) continue;
      this.#next = (this.#next + i + 1) % candidates.length;
      return c;
    }
    return undefined;
  }
}
