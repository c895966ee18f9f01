import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Balancer } from '../../src/balancer.js';
import { type ConnectionRecord, TcpProxy, type TcpProxyOptions, type TcpProxyStats } from '../../src/proxy/tcp-proxy.js';
import { ProxyWorkers } from '../../src/workers/proxy-workers.js';
import { mulberry32 } from '../helpers/prng.js';

/**
 * Shared pieces of the reliability suites: the size profile, the integrity stream protocol used by clients and
 * backends, and resource measurements. Suites run one per process (`node --test` gives each file its own).
 */

/** Every client socket the helpers open, so that a failed test can destroy them and its process still exits. */
const opened = new Set<net.Socket>();

/** Tracks a client socket until it closes. */
export function track(socket: net.Socket): net.Socket {
  opened.add(socket);
  socket.once('close', () => opened.delete(socket));
  return socket;
}

/** Destroys every client socket still open (each suite runs it in `after`). */
export function destroyClients(): void {
  for (const s of opened) s.destroy();
  opened.clear();
}

/** `ci` (default) or `full`, from SWITCHYARD_RELIABILITY (the runner sets it for `-- --full`). */
export const PROFILE: 'ci' | 'full' = process.env['SWITCHYARD_RELIABILITY'] === 'full' ? 'full' : 'ci';

/** Picks the size of the profile. */
export function size<T>(ci: T, full: T): T {
  return PROFILE === 'full' ? full : ci;
}

/** The seed of every random choice of a run: SWITCHYARD_SEED, or a fixed default so a failure can be replayed. */
export const SEED = Number(process.env['SWITCHYARD_SEED'] ?? 20240607);

export const MiB = 1024 * 1024;

/** Random bytes every stream is cut from (at a random offset, wrapping): streams differ without generating data per byte. */
const SOURCE = randomBytes(8 * MiB);

/** What one connection of the integrity protocol sends each way. */
export interface StreamPlan {
  readonly id: number;
  /** Bytes the client sends after its 8-byte header. */
  readonly up: number;
  readonly upOffset: number;
  /** Bytes the backend sends. */
  readonly down: number;
  readonly downOffset: number;
  /**
   * `client-first`: the backend sends only after the client's FIN (client→server half-close first).
   * `server-first`: the client sends its data only after the backend's FIN. `both`: at the same time.
   */
  readonly order: 'client-first' | 'server-first' | 'both';
  /** Largest write, bytes; writes are random in [1, maxChunk]. */
  readonly maxChunk: number;
  /** Chance of a pause (0–3 ms) between writes and of a read pause on the receiving side. */
  readonly pauseChance: number;
  /** Both sides wait this long before sending their stream (keeps connections live while faults are injected). */
  readonly startDelayMs?: number;
}

/** Sizes log-uniform in [0, max]: every order of magnitude is drawn, the maximum included. */
export function logUniform(random: () => number, max: number): number {
  if (random() < 0.02) return max;
  if (random() < 0.02) return 0;
  return Math.min(max, Math.floor(Math.exp(random() * Math.log(max + 1))) - 1);
}

/**
 * `n` plans with sizes up to `maxBytes` each way: every fourth connection uniform in [0, maxBytes] (the bulk of
 * the bytes), the others log-uniform (small and medium streams, where chunk boundaries and half-closes matter).
 */
export function makePlans(n: number, maxBytes: number, seed = SEED): StreamPlan[] {
  const random = mulberry32(seed);
  const plans: StreamPlan[] = [];
  const orders = ['client-first', 'server-first', 'both'] as const;
  for (let id = 0; id < n; id++) {
    const draw = (): number => (id % 4 === 0 ? Math.floor(random() * (maxBytes + 1)) : logUniform(random, maxBytes));
    plans.push({
      id,
      up: draw(),
      upOffset: Math.floor(random() * SOURCE.length),
      down: draw(),
      downOffset: Math.floor(random() * SOURCE.length),
      order: orders[id % 3]!,
      maxChunk: 1 + Math.floor(random() * 256 * 1024),
      pauseChance: random() * 0.05,
    });
  }
  return plans;
}

/** The bytes [from, from + length) of a stream starting at `offset` of the source. */
function slice(offset: number, from: number, length: number): Buffer {
  const start = (offset + from) % SOURCE.length;
  if (start + length <= SOURCE.length) return SOURCE.subarray(start, start + length);
  return Buffer.concat([SOURCE.subarray(start), SOURCE.subarray(0, length - (SOURCE.length - start))]);
}

/** SHA-256 of the first `length` bytes of a stream. */
export function expectedHash(offset: number, length: number): string {
  const h = createHash('sha256');
  for (let done = 0; done < length; ) {
    const n = Math.min(4 * MiB, length - done);
    h.update(slice(offset, done, n));
    done += n;
  }
  return h.digest('hex');
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes `length` bytes of the stream at `offset` in random chunks with random pauses, honouring backpressure. Resolves with its hash. */
export async function sendStream(
  socket: net.Socket, offset: number, length: number, plan: StreamPlan, random: () => number, progress?: { last: number },
): Promise<string> {
  const h = createHash('sha256');
  const flushed = progress === undefined ? undefined : (): void => void (progress.last = performance.now());
  for (let done = 0; done < length; ) {
    if (socket.destroyed || socket.writableEnded) break;
    const n = Math.min(length - done, 1 + Math.floor(random() * plan.maxChunk));
    const chunk = slice(offset, done, n);
    h.update(chunk);
    done += n;
    if (!socket.write(chunk, flushed)) {
      await new Promise<void>((resolve) => {
        const go = (): void => {
          socket.off('drain', go);
          socket.off('close', go);
          resolve();
        };
        socket.on('drain', go);
        socket.on('close', go);
      });
    }
    if (random() < plan.pauseChance) await pause(Math.floor(random() * 4));
  }
  return h.digest('hex');
}

/** Reads a socket to its end, hashing, with random read pauses. */
export class StreamReader {
  readonly #hash = createHash('sha256');
  bytes = 0;
  /** The peer's FIN arrived. */
  ended = false;
  lastActivity = performance.now();
  readonly done: Promise<void>;

  constructor(socket: net.Socket, random: () => number, pauseChance: number, onData?: (chunk: Buffer) => void) {
    this.done = new Promise<void>((resolve) => {
      socket.on('end', () => {
        this.ended = true;
        resolve();
      });
      socket.on('close', () => resolve());
    });
    socket.on('data', (chunk: Buffer) => {
      this.lastActivity = performance.now();
      onData?.(chunk);
      this.#hash.update(chunk);
      this.bytes += chunk.length;
      if (random() < pauseChance) {
        socket.pause();
        setTimeout(() => socket.resume(), Math.floor(random() * 4));
      }
    });
  }

  digest(): string {
    return this.#hash.copy().digest('hex');
  }
}

/** What a backend of the integrity protocol saw on one connection. */
export interface BackendResult {
  readonly id: number;
  readonly receivedBytes: number;
  readonly receivedHash: string;
  readonly sentBytes: number;
  readonly sentHash: string;
  readonly clean: boolean;
}

/**
 * The handler of an integrity backend: reads the client's 8-byte header (the plan id), then plays its side of
 * the plan and reports what it received and sent.
 */
export function integrityHandler(plans: readonly StreamPlan[], report: (r: BackendResult) => void, seed = SEED) {
  return (socket: net.Socket): void => {
    let header = Buffer.alloc(0);
    let plan: StreamPlan | undefined;
    let reader: StreamReader | undefined;
    let clientEnded = false;
    let sent: { bytes: number; hash: string } | undefined;
    let sending = false;
    const startSending = (): void => {
      if (sending || plan === undefined) return;
      sending = true;
      const p = plan;
      void pause(p.startDelayMs ?? 0)
        .then(() => sendStream(socket, p.downOffset, p.down, p, mulberry32(seed ^ (p.id * 7919 + 1))))
        .then((hash) => {
        sent = { bytes: p.down, hash };
        if (!socket.destroyed) socket.end();
      });
    };
    const onHeader = (chunk: Buffer): void => {
      header = Buffer.concat([header, chunk]);
      if (header.length < 8) return;
      socket.off('data', onHeader);
      const id = header.readUInt32BE(0);
      plan = plans[id];
      if (plan === undefined) {
        socket.destroy();
        return;
      }
      const rest = header.subarray(8);
      reader = new StreamReader(socket, mulberry32(seed ^ (plan.id * 104729 + 3)), plan.pauseChance);
      if (rest.length > 0) {
        // Bytes that came with the header belong to the stream.
        socket.unshift(rest);
      }
      if (plan.order !== 'client-first') startSending();
    };
    socket.on('data', onHeader);
    socket.on('end', () => {
      clientEnded = true;
      if (plan?.order === 'client-first') startSending();
    });
    socket.on('close', () => {
      if (plan === undefined || reader === undefined) return;
      report({
        id: plan.id,
        receivedBytes: reader.bytes,
        receivedHash: reader.digest(),
        sentBytes: sent?.bytes ?? -1,
        sentHash: sent?.hash ?? '',
        clean: clientEnded && sent !== undefined,
      });
    });
  };
}

/** What a client of the integrity protocol saw. */
export interface ClientResult {
  readonly plan: StreamPlan;
  /** The client's address and port, as the proxy's connection record shows them. */
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly sentHash: string | undefined;
  readonly receivedBytes: number;
  readonly receivedHash: string;
  /** The server's FIN arrived (an orderly end of the download). */
  readonly ended: boolean;
  readonly error: string | undefined;
  /** ms between the last byte moved and the close. */
  readonly quietBeforeCloseMs: number;
}

/**
 * A loopback source address of its own for connection `id` (127.1.0.2 onwards; ids up to 16 000 000): a
 * proxy's record can then be told from any other by its client address, where a client port alone can be
 * reused by a later connection once an earlier one has closed.
 */
export function sourceAddressOf(id: number): string {
  return `127.${1 + Math.floor(id / 62_500)}.${Math.floor((id % 62_500) / 250)}.${(id % 250) + 2}`;
}

/** Runs one client of the integrity protocol through `port`, from the local address `source` if given. Never rejects. */
export function integrityClient(port: number, plan: StreamPlan, seed = SEED, source?: string): Promise<ClientResult> {
  return new Promise((resolve) => {
    const socket = track(net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, ...(source === undefined ? {} : { localAddress: source }) }));
    const random = mulberry32(seed ^ (plan.id * 31337 + 5));
    let error: string | undefined;
    let sentHash: string | undefined;
    // Upload progress: the last time a write reached the kernel.
    const progress = { last: performance.now() };
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    const reader = new StreamReader(socket, random, plan.pauseChance);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(plan.id, 0);
    const upload = async (): Promise<void> => {
      if (plan.startDelayMs !== undefined) await pause(plan.startDelayMs);
      sentHash = await sendStream(socket, plan.upOffset, plan.up, plan, random, progress);
      progress.last = performance.now();
      if (!socket.destroyed) socket.end();
    };
    let localAddress: string | undefined;
    let localPort: number | undefined;
    socket.once('connect', () => {
      localAddress = socket.localAddress;
      localPort = socket.localPort;
      socket.write(header);
      if (plan.order === 'server-first') {
        void reader.done.then(() => (reader.ended ? upload() : undefined));
      } else {
        void upload();
      }
    });
    socket.on('close', () => {
      const now = performance.now();
      resolve({
        plan,
        localAddress,
        localPort,
        sentHash,
        receivedBytes: reader.bytes,
        receivedHash: reader.digest(),
        ended: reader.ended,
        error,
        quietBeforeCloseMs: now - Math.max(progress.last, reader.lastActivity),
      });
    });
  });
}

/** Runs `count` tasks with at most `parallel` at once; resolves with their results in order. */
export async function runPool<T>(count: number, parallel: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

/**
 * Opens `n` connections to `port`, at most `parallel` handshakes at a time: thousands of SYNs at once overflow
 * the listener's accept queue, and the kernel's SYN retransmissions (1 s, 3 s, 7 s…) would then dominate the test.
 */
export async function openPaced(port: number, n: number, parallel = 128): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  await runPool(n, parallel, () => new Promise<void>((resolve) => {
    const c = track(net.connect(port, '127.0.0.1'));
    c.on('error', () => {});
    sockets.push(c);
    c.once('connect', () => resolve());
    c.once('close', () => resolve());
  }));
  return sockets;
}

/** Active handles and requests, without the terminal. */
export function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
}

export function fds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The soft limit of open files. */
export function fdLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const value = line?.split(/\s+/)[3];
  return value === undefined || value === 'unlimited' ? Infinity : Number(value);
}

export function rssMiB(): number {
  return process.memoryUsage.rss() / MiB;
}

/** Heap in use after a full collection (the runner passes --expose-gc), MiB. */
export function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / MiB;
}

/** Waits a few turns of the event loop, so that closed handles finish closing. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
  await pause(20);
}

/** Polls until `condition` holds, failing after `timeoutMs` with `what` (a hang guard). */
export async function until(condition: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await pause(5);
  }
}

/** The event loop's delay while `body` runs, ms (max and p99). */
export async function withLoopDelay<T>(body: () => Promise<T>): Promise<{ result: T; maxMs: number; p99Ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    const result = await body();
    return { result, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
  } finally {
    h.disable();
  }
}

/** One line of a suite's numbers, printed for docs/reliability.md. */
export function report(suite: string, numbers: Record<string, unknown>): void {
  process.stdout.write(`# reliability ${PROFILE} ${suite}: ${JSON.stringify(numbers)}\n`);
}

/** Worker threads of the proxy under test: SWITCHYARD_RELIABILITY_WORKERS (`--workers=N` of the runner), 0 = TcpProxy. */
export const WORKERS = Number(process.env['SWITCHYARD_RELIABILITY_WORKERS'] ?? 0);

/** What the suites need of a proxy, whether one `TcpProxy` or `ProxyWorkers` (whose stats are asked of its threads). */
export interface ProxyUnderTest {
  on(event: 'connection:close', listener: (record: ConnectionRecord) => void): unknown;
  on(event: 'connection:open', listener: () => void): unknown;
  listen(options: { host: string }): Promise<net.AddressInfo>;
  stats(): Promise<TcpProxyStats>;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/** A `TcpProxy`, or with {@link WORKERS} > 0 a `ProxyWorkers` with that many threads, over `balancer`. */
export function proxyUnderTest(balancer: Balancer, options: TcpProxyOptions = {}): ProxyUnderTest {
  if (WORKERS > 0) {
    const w = new ProxyWorkers(balancer, { ...options, workers: WORKERS });
    return {
      on: (event: 'connection:close' | 'connection:open', listener: (r: ConnectionRecord) => void) => w.on(event as 'connection:close', listener),
      listen: (o) => w.listen(o),
      stats: () => w.stats(),
      close: () => w.close(),
      destroy: () => w.destroy(),
    };
  }
  const p = new TcpProxy(balancer, options);
  return {
    on: (event: 'connection:close' | 'connection:open', listener: (r: ConnectionRecord) => void) => p.on(event as 'connection:close', listener),
    listen: (o) => p.listen(o),
    stats: () => Promise.resolve(p.stats()),
    close: () => p.close(),
    destroy: () => {
      p.destroy();
      return p.close();
    },
  };
}
