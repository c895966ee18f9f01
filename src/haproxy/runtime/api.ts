/**
 * The runtime API (HAProxy's `stats socket`): unix sockets and TCP listeners that take one command line per
 * connection (`echo "show stat" | socat stdio /run/haproxy.sock`), or many in `prompt` mode, at the socket's
 * `level` (`user` < `operator` < `admin`; a command above it gets `Permission denied`).
 */
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Clock, TimerHandle } from '../../clock.js';
import { LbError } from '../../errors.js';
import type { HaproxyInstance } from '../build/instance.js';
import type { StatsSocket } from '../config/types.js';
import { formatBindFailure } from '../log/bind-failure.js';
import { type CliSession, type CommandHost, runCommand } from './commands.js';
import { MAX_LINE_BYTES, splitCommands } from './parse.js';

/** Options of {@link RuntimeApi}. */
export interface RuntimeApiOptions {
  readonly clock: Clock;
  /** Idle connections are closed after this long (`stats timeout`). */
  readonly idleTimeoutMs: number;
}

/**
 * The listeners of every `stats socket` line and their connections. Each connection reads one line (commands
 * separated by `;`), writes the replies and closes, unless the line turned `prompt` mode on, in which case it
 * keeps reading and writes `> ` after each reply.
 */
export class RuntimeApi {
  readonly #host: CommandHost;
  readonly #instance: HaproxyInstance;
  readonly #sockets: readonly StatsSocket[];
  readonly #o: RuntimeApiOptions;
  readonly #servers: net.Server[] = [];
  readonly #connections = new Set<net.Socket>();
  #addresses: (string | net.AddressInfo)[] = [];
  #closing: Promise<void> | undefined;

  constructor(instance: HaproxyInstance, sockets: readonly StatsSocket[], options: RuntimeApiOptions) {
    this.#sockets = sockets;
    this.#o = options;
    this.#instance = instance;
    this.#host = {
      instance,
      now: () => options.clock.now(),
      notice: (m) => instance._notice(m),
      alert: (m) => instance._alert(m),
    };
  }

  /** Where it listens: unix socket paths and TCP addresses. */
  get addresses(): readonly (string | net.AddressInfo)[] {
    return this.#addresses;
  }

  /**
   * Opens every listener; rejects with HAProxy 2.6's alert when one cannot be opened, e.g.
   * `Binding [haproxy.cfg:2] for frontend GLOBAL: cannot bind UNIX socket (No such file or directory) [/run/x/admin.sock]`.
   */
  async start(): Promise<void> {
    for (const s of this.#sockets) {
      const server = net.createServer((socket) => this.#accept(socket, s.level));
      server.on('error', () => {});
      const a = s.address;
      const failed = (err: unknown): LbError =>
        new LbError('ERR_LB_INVALID_STATE', formatBindFailure({ at: s.source, proxyType: 'frontend', proxyName: 'GLOBAL', address: a }, err), { cause: err });
      if (a.kind === 'unix') {
        // Node reports a missing directory as EACCES ("permission denied"): look first, to say what HAProxy says.
        const dirError = await directoryError(dirname(a.path));
        if (dirError !== undefined) throw failed(dirError);
        await removeStaleSocket(a.path);
      }
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => reject(failed(err));
        server.once('error', onError);
        const done = (): void => {
          server.removeListener('error', onError);
          resolve();
        };
        if (a.kind === 'unix') server.listen({ path: a.path }, done);
        else server.listen({ host: a.host, port: a.port }, done);
      });
      this.#servers.push(server);
      if (a.kind === 'unix') {
        await chmod(a.path, s.mode);
        this.#addresses.push(a.path);
      } else {
        this.#addresses.push(server.address() as net.AddressInfo);
      }
    }
  }

  /** Stops listening and lets the connections finish their command. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      // Prompt-mode sessions would never end on their own.
      for (const c of this.#connections) c.destroy();
    })();
    return this.#closing;
  }

  /** Stops listening and cuts every connection. */
  destroy(): void {
    for (const s of this.#servers.splice(0)) s.close();
    for (const c of this.#connections) c.destroy();
  }

  #accept(socket: net.Socket, level: CliSession['level']): void {
    const session: CliSession = { level, prompt: false, quit: false };
    this.#connections.add(socket);
    let pending = '';
    let done = false;
    let idle: TimerHandle | undefined;
    const arm = (): void => {
      idle?.cancel();
      idle = this.#o.clock.setTimeout(() => socket.destroy(), this.#o.idleTimeoutMs);
    };
    const finish = (): void => {
      done = true;
      idle?.cancel();
      socket.end();
    };
    const handleLine = (line: string): void => {
      let reply = '';
      for (const command of splitCommands(line.endsWith('\r') ? line.slice(0, -1) : line)) {
        reply += session.prompt ? this.#instance._inCliContext(() => runCommand(command, this.#host, session)) : runCommand(command, this.#host, session);
        if (session.quit) break;
      }
      if (session.quit) {
        if (reply !== '') socket.write(reply);
        finish();
      } else if (session.prompt) {
        socket.write(`${reply}> `);
      } else {
        socket.write(reply);
        finish();
      }
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (done) return;
      arm();
      pending += chunk;
      let nl: number;
      while (!done && (nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        handleLine(line);
      }
      if (!done && Buffer.byteLength(pending) > MAX_LINE_BYTES) {
        socket.write('Command line too long.\n\n');
        finish();
      }
    });
    socket.on('end', () => {
      // A last command without newline (`printf 'show info' | socat …`) is still answered.
      if (!done && pending.trim() !== '') handleLine(pending);
      if (!done) finish();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      idle?.cancel();
      this.#connections.delete(socket);
    });
    arm();
  }
}

/** Why a unix socket cannot be created in `dir` (it is missing, or not a directory); undefined when it can be tried. */
async function directoryError(dir: string): Promise<NodeJS.ErrnoException | undefined> {
  try {
    const st = await stat(dir);
    if (st.isDirectory()) return undefined;
    return Object.assign(new Error(`ENOTDIR: not a directory, '${dir}'`), { code: 'ENOTDIR' });
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

/** HAProxy replaces a socket file left by a previous run; anything else at that path is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSocket()) await unlink(path);
  } catch {
    // Nothing there.
  }
}
