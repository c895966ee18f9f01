import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Shared plumbing of the real-server helpers (redis-server, PostgreSQL, MariaDB): free loopback ports,
 * temporary data directories, a non-root user for servers that refuse root, waiting for a port to accept,
 * and stopping by PID. Every wait is bounded; nothing sleeps for a fixed time before asserting.
 */

/** Longest wait for a server to start accepting connections, ms. */
export const START_TIMEOUT_MS = 30_000;
/** Longest wait for a server to exit after SIGTERM before it gets SIGKILL, ms. */
export const STOP_TIMEOUT_MS = 10_000;

/** The first executable named `name` in `dirs` and then on PATH, or undefined. */
export function findBinary(name: string, dirs: readonly string[] = []): string | undefined {
  const pathDirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, ...pathDirs, '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A port on 127.0.0.1 that was free a moment ago (bound and released by the kernel's choice). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The uid/gid to run a server as: none when not root; an existing system user (e.g. `postgres`) when root. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
}

/** Looks up `user` in the passwd database (`id -u`, `id -g`); undefined if it does not exist. */
export function lookupUser(user: string): RunAs | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), user };
}

/** A fresh directory under the system's temp dir (short path: PostgreSQL's socket path must fit 107 bytes). */
export function tempDir(prefix: string, owner?: RunAs): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sy-${prefix}-`));
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** Removes a temp dir made by {@link tempDir}. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Runs a setup command to completion (initdb, mariadb-install-db…); throws with its output if it fails. */
export function runToCompletion(file: string, args: readonly string[], options: { runAs?: RunAs | undefined; cwd?: string; timeoutMs?: number } = {}): string {
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    cwd: options.cwd ?? os.tmpdir(),
    timeout: options.timeoutMs ?? 120_000,
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
  });
  if (result.status !== 0) {
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** A server process started by a helper. */
export interface ServerProcess {
  readonly name: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly pid: number;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** SIGTERM, then SIGKILL after {@link STOP_TIMEOUT_MS}; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash, for failover tests); resolves when the process has exited. */
  kill(): Promise<void>;
}

/** Every process started here and not yet exited, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Options of {@link startProcess}. */
export interface StartOptions {
  readonly name: string;
  readonly file: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly runAs?: RunAs | undefined;
  readonly cwd?: string;
  /** Resolves when the server is ready; default: the port accepts a TCP connection. */
  readonly ready?: (signal: AbortSignal) => Promise<void>;
}

/**
 * Starts a server process and waits until it is ready (by default: its port accepts a connection), failing
 * with the server's output when it exits first or takes more than {@link START_TIMEOUT_MS}.
 */
export async function startProcess(o: StartOptions): Promise<ServerProcess> {
  installExitHook();
  const child = spawn(o.file, o.args, {
    cwd: o.cwd ?? os.tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    ...(o.runAs ? { uid: o.runAs.uid, gid: o.runAs.gid } : {}),
  });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
  });
  child.once('error', (err) => {
    output += `\n${err.message}`;
  });

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), START_TIMEOUT_MS);
  try {
    const ready = (o.ready ?? ((signal) => waitForPort(o.port, signal)))(controller.signal);
    await Promise.race([
      ready,
      exit.then(() => {
        throw new Error(`${o.name} exited before it was ready (code ${child.exitCode}, signal ${child.signalCode}):\n${output}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    await exit;
    if (controller.signal.aborted) throw new Error(`${o.name} was not ready within ${START_TIMEOUT_MS} ms:\n${output}`);
    throw err;
  } finally {
    controller.abort();
    clearTimeout(timer);
  }

  let stopping: Promise<void> | undefined;
  const handle: ServerProcess = {
    name: o.name,
    host: '127.0.0.1',
    port: o.port,
    pid: child.pid!,
    get exited() {
      return exited;
    },
    stop() {
      if (stopping) return stopping;
      if (exited) return (stopping = Promise.resolve());
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      stopping = exit.then(() => clearTimeout(force));
      return stopping;
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
      return exit;
    },
  };
  return handle;
}

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds; retries every 20 ms until `signal` aborts. */
export async function waitForPort(port: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await pause(20, signal);
  }
  throw signal.reason ?? new Error('aborted');
}

/** Retries `attempt` every 50 ms until it resolves or `signal` aborts (for readiness checks through a driver). */
export async function retryUntil<T>(attempt: () => Promise<T>, signal: AbortSignal): Promise<T> {
  let last: unknown;
  while (!signal.aborted) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
    }
    await pause(50, signal);
  }
  throw last ?? signal.reason;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A group of servers started together and stopped together (in `after` hooks, also when a test failed). */
export class ServerGroup<T extends { stop(): Promise<void> }> {
  readonly members: T[] = [];
  readonly #cleanups: (() => void)[] = [];

  add(member: T): T {
    this.members.push(member);
    return member;
  }

  /** Runs after every member has stopped (removing temp dirs). */
  onStopped(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.members.map((m) => m.stop()));
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }
}
