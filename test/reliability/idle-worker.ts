/**
 * A child process of the idle-split suite (idle-split.rel.ts), started with `fork` and driven over IPC:
 *
 * - `idle-worker.ts backend`: an echo backend (a `faultBackend`), holding the backend side of every connection;
 * - `idle-worker.ts proxy <backendPort> <share>`: one proxy worker, a real `TcpProxy` in front of that backend on
 *   its own 127.0.0.1 port, taking `share` of the idle connections.
 *
 * Each measures itself (handles, fds, heap) when the coordinator asks, and exits by itself after its `after`
 * report: a handle it leaked would keep it alive, and the coordinator would see it not exit.
 * Not a suite: the runner takes `*.rel.ts` files only.
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import type { TcpProxyStats } from '../../src/proxy/records.js';
import { TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { faultBackend } from '../../src/testing/index.js';
import { fdLimit, fds, handles, heapMiB, runPool, settle, track, until } from './support.js';

/** Descriptors a proxy process holds per proxied connection: the accepted socket and its upstream. */
export const FDS_PER_PROXIED = 2;
/** Descriptors every process keeps free for everything else (node itself, listeners, IPC, the test runner). */
export const FD_HEADROOM = 1000;
/** Short echoed connections each proxy worker makes through itself before its baseline (JIT, buffers, pools). */
export const WARMUP = 300;
const WARMUP_IN_FLIGHT = 50;
/** Hang guard of every wait inside a child, ms. */
const WAIT_MS = 60_000;
/** How long the `after` measurement waits for handles and fds to come back before reporting what it sees, ms. */
const SETTLE_MS = 10_000;

/** Connections a proxy process with the open-file limit `limit` may take. */
export function proxyBudget(limit: number): number {
  return Math.floor((limit - FD_HEADROOM) / FDS_PER_PROXIED);
}

/** One measurement of a process. */
export interface Usage {
  readonly handles: number;
  readonly fds: number;
  /** After a full collection, MiB. */
  readonly heapMiB: number;
}

/** What a proxy worker's `after` report adds: the proxy's counters and what the pool still holds. */
export interface ProxyCounters {
  readonly total: number;
  readonly terminations: TcpProxyStats['terminations'];
  readonly activeLeases: number;
  /** `currentConnections` of the pool's only server. */
  readonly serverConnections: number;
}

/** Requests of the coordinator, answered in order by a message of the same kind. */
export type ToChild = { readonly kind: 'baseline' } | { readonly kind: 'peak' } | { readonly kind: 'after' };

/** Messages of a child. */
export type FromChild =
  /** Listening (a proxy worker: warm-up done); the open-file limit it runs with. */
  | { readonly kind: 'ready'; readonly port: number; readonly fdLimit: number }
  | { readonly kind: 'baseline'; readonly usage: Usage }
  /** `connections`: live connections of the proxy or the backend; `serverConnections` for a proxy worker. */
  | { readonly kind: 'peak'; readonly usage: Usage; readonly connections: number; readonly serverConnections?: number }
  /** Sent once its connections are gone and its handles and fds are back (or SETTLE_MS passed); it then exits. */
  | { readonly kind: 'after'; readonly usage: Usage; readonly connections: number; readonly proxy?: ProxyCounters }
  | { readonly kind: 'failed'; readonly message: string };

/** What the request loop needs of either role. */
interface Subject {
  readonly port: number;
  connections(): number;
  serverConnections?(): number;
  counters?(): ProxyCounters;
  close(): Promise<void>;
}

function send(message: FromChild): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, undefined, (err) => (err ? reject(err) : resolve())));
}

function usage(): Usage {
  return { handles: handles(), fds: fds(), heapMiB: heapMiB() };
}

/** One short connection through `port`: a byte out, its echo back, then a clean close from the client. */
function echoOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = track(net.connect(port, '127.0.0.1'));
    let echoed = false;
    c.on('error', reject);
    c.once('connect', () => c.write('w'));
    c.once('data', () => {
      echoed = true;
      c.end();
    });
    c.on('close', () => (echoed ? resolve() : reject(new Error('a warm-up connection closed before its echo'))));
  });
}

async function startProxy(backendPort: number, share: number): Promise<Subject> {
  const limit = fdLimit();
  if (share > proxyBudget(limit)) {
    throw new Error(`open-file limit ${limit}: a proxy worker holds ${FDS_PER_PROXIED} descriptors per connection and can take ${proxyBudget(limit)}, not ${share}`);
  }
  const pool = new Pool('idle-split', { servers: [{ name: 'echo', host: '127.0.0.1', port: backendPort }] });
  const balancer = new Balancer(pool);
  const proxy = new TcpProxy(balancer);
  const { port } = await proxy.listen({ host: '127.0.0.1' });
  await runPool(WARMUP, WARMUP_IN_FLIGHT, () => echoOnce(port));
  await until(() => proxy.connections === 0, () => `the warm-up to finish: ${proxy.connections} live`, WAIT_MS);
  const server = pool.get('echo');
  return {
    port,
    connections: () => proxy.connections,
    serverConnections: () => server.currentConnections,
    counters: () => {
      const stats = proxy.stats();
      return { total: stats.total, terminations: stats.terminations, activeLeases: balancer.activeLeases, serverConnections: server.currentConnections };
    },
    close: async () => {
      await proxy.close();
      balancer.destroy();
    },
  };
}

async function startBackend(): Promise<Subject> {
  const backend = await faultBackend();
  return { port: backend.port, connections: () => backend.connections, close: () => backend.close() };
}

async function answer(subject: Subject, request: ToChild, state: { baseline?: Usage }): Promise<FromChild> {
  switch (request.kind) {
    case 'baseline': {
      await until(() => subject.connections() === 0, () => `no connection before the baseline: ${subject.connections()} live`, WAIT_MS);
      await settle();
      state.baseline = usage();
      return { kind: 'baseline', usage: state.baseline };
    }
    case 'peak': {
      const connections = subject.connections();
      const serverConnections = subject.serverConnections?.();
      return { kind: 'peak', usage: usage(), connections, ...(serverConnections === undefined ? {} : { serverConnections }) };
    }
    case 'after': {
      await until(() => subject.connections() === 0, () => `connections to close: ${subject.connections()} live`, WAIT_MS);
      await settle();
      const baseline = state.baseline;
      if (baseline === undefined) throw new Error('after requested before baseline');
      // Closing sockets finish over a few turns: wait for the baseline, but report what is there if it never comes.
      const deadline = performance.now() + SETTLE_MS;
      while ((handles() !== baseline.handles || fds() !== baseline.fds) && performance.now() < deadline) await settle();
      const counters = subject.counters?.();
      return { kind: 'after', usage: usage(), connections: subject.connections(), ...(counters === undefined ? {} : { proxy: counters }) };
    }
  }
}

async function main(): Promise<void> {
  let finished = false;
  // The coordinator is gone (killed, crashed): nobody will ask for anything, so don't outlive it.
  process.on('disconnect', () => {
    if (!finished) process.exit(2);
  });
  try {
    if (typeof (globalThis as { gc?: unknown }).gc !== 'function') throw new Error('run with --expose-gc: the heap is measured after a full collection');
    const [role, backendPort, share] = process.argv.slice(2);
    const subject = role === 'backend'
      ? await startBackend()
      : role === 'proxy'
        ? await startProxy(Number(backendPort), Number(share))
        : undefined;
    if (subject === undefined) throw new Error(`unknown role ${JSON.stringify(role)}: expected backend or proxy <backendPort> <share>`);
    const state: { baseline?: Usage } = {};
    // Requests are answered one at a time, in order.
    let queue = Promise.resolve();
    process.on('message', (request: ToChild) => {
      queue = queue.then(async () => {
        const reply = await answer(subject, request, state);
        await send(reply);
        if (reply.kind === 'after') {
          await subject.close();
          finished = true;
          process.disconnect();
        }
      }).catch(fail);
    });
    await send({ kind: 'ready', port: subject.port, fdLimit: fdLimit() });
  } catch (err) {
    fail(err);
  }
}

function fail(err: unknown): void {
  const message = err instanceof Error ? err.stack ?? err.message : String(err);
  void send({ kind: 'failed', message }).finally(() => process.exit(1));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
