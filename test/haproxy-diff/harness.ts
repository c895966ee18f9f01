/**
 * The differential harness: one scenario (a configuration, backends, a sequence of client connections and
 * runtime API commands) runs against Debian's `haproxy` 2.6 and against `switchyard -f` (bin/switchyard.js, the
 * real command), each in its own process on its own loopback ports, and records a transcript — the servers
 * that answered, the runtime API replies, the log lines with timestamps, pids, ports and durations masked — that
 * the test compares. Every wait is bounded; every process is killed by its PID when the scenario ends, even
 * after a failure.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withTimeout as raceTimeout } from '../helpers/timeout.js';
import { BlackHole } from './blackhole.js';

export const HAPROXY = '/usr/sbin/haproxy';
export const HAVE_HAPROXY = existsSync(HAPROXY);
export const SKIP_REASON = `${HAPROXY} is missing: install Debian's haproxy 2.6 (apt-get install haproxy) to run the differential suite`;
const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

/** Every wait gives up after this long. */
export const WAIT_MS = 8000;

/**
 * Starting an engine may take longer: `switchyard -f` loads its TypeScript sources through tsx, which on a loaded
 * 2-core machine running four scenario files at once was measured past 8 s (every first scenario failed with
 * "did not start" at load average 13–27); HAProxy answers in milliseconds either way.
 */
export const START_WAIT_MS = 20_000;

/** The `defaults` section every scenario starts from (the reference harness's). */
export const DEFAULTS = `defaults
  mode tcp
  log global
  timeout connect 1s
  timeout client 5s
  timeout server 5s
`;

/** A `listen fe` section with the given lines and servers `s1…sN` on the backends' ports. */
export function listen(lines: string, servers: readonly string[], defaults = DEFAULTS): string {
  const s = servers.map((opts, i) => `  server s${i + 1} 127.0.0.1:\${S${i + 1}} ${opts}\n`).join('');
  return `${defaults}listen fe\n  bind 127.0.0.1:\${FE}\n${lines}${s}`;
}

export type Engine = 'haproxy' | 'switchyard';

/** Resolves after `ms` (the harness paces clients like the reference did: 10–30 ms between connections). */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every wait of the harness has the same hang guard, {@link WAIT_MS}. */
const withTimeout = <T>(promise: Promise<T>, what: string): Promise<T> => raceTimeout(promise, WAIT_MS, what);

/**
 * `n` free loopback ports (bound then released), below the kernel's ephemeral range (32768–60999): a port from
 * that range can be taken as the source port of any outgoing connection on the machine in the seconds before the
 * engine binds it (seen under load as `cannot bind socket (Address already in use)`).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  for (let tries = 0; servers.length < n && tries < 200; tries++) {
    const s = net.createServer();
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) servers.push(s);
  }
  if (servers.length < n) throw new Error(`no ${n} free loopback ports below 32768 after 200 tries`);
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/**
 * A test backend like the reference harness's: on accept it writes `<name>\n` and closes (`close` mode) or keeps
 * the socket open (`hold`), or answers with a fixed text (`reply`). It can be stopped and restarted on its port.
 */
export class Backend {
  readonly name: string;
  readonly port: number;
  /** `peek`: waits for the first bytes (≤ 200 ms) and answers `<name> <what came first>` (a PROXY header or `none`), then closes. */
  mode: BackendMode;
  /** When set, each accepted socket gets this text instead of `<name>\n` (tcp-check and httpchk scenarios). */
  reply: string | undefined;
  /** When set, it owns each accepted socket (a scripted protocol responder) instead of the mode. */
  handler: ((socket: net.Socket) => void) | undefined;
  accepted = 0;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  constructor(name: string, port: number, mode: BackendMode = 'close') {
    this.name = name;
    this.port = port;
    this.mode = mode;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((socket) => {
      this.accepted++;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
      if (this.handler !== undefined) return this.handler(socket);
      socket.on('data', () => {});
      if (this.mode === 'silent') return;
      if (this.mode === 'peek') {
        peekFirstBytes(socket).then((first) => socket.end(`${this.name} ${first}\n`), () => socket.destroy());
        return;
      }
      socket.write(this.reply ?? `${this.name}\n`);
      if (this.mode === 'close') socket.end();
    });
    server.listen(this.port, '127.0.0.1');
    await withTimeout(once(server, 'listening'), `backend ${this.name} to listen`);
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /**
   * Closes the connections it holds (hold mode), oldest first; `count` undefined = all. Connections it already
   * closed are skipped, even while the peer has not finished closing them yet (a loaded machine is slow to).
   */
  release(count?: number): void {
    let n = 0;
    for (const s of this.#sockets) {
      if (s.writableEnded) continue;
      if (count !== undefined && n++ >= count) break;
      s.end();
    }
  }
}

export type BackendMode = 'close' | 'hold' | 'silent' | 'peek';

/** What a connection sent first, within 200 ms: `PROXY TCP4 <src> <dst> SPORT <dport>` (v1), `PROXY-v2 <cmd/fam bytes>` or `none`. */
function peekFirstBytes(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      if (buf.length === 0) return resolve('none');
      if (buf.subarray(0, 6).toString('latin1') === 'PROXY ') {
        const line = buf.toString('latin1').split('\r\n')[0]!.split(' ');
        if (line.length === 6) line[4] = 'SPORT';
        return resolve(line.join(' '));
      }
      if (buf.subarray(0, 12).equals(Buffer.from('0d0a0d0a000d0a515549540a', 'hex'))) {
        return resolve(`PROXY-v2 ${buf.subarray(12, 14).toString('hex')} len=${buf.length >= 16 ? buf.readUInt16BE(14) : '?'}`);
      }
      resolve(`bytes ${buf.subarray(0, 32).toString('hex')}`);
    };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('\r\n') || buf.length >= 16) done();
    };
    const timer = setTimeout(done, 200);
    socket.on('data', onData);
  });
}

/** A client connection through the proxy: the first line it read (the server's name) or '' when closed without data. */
export interface Visit {
  readonly line: string;
  readonly socket: net.Socket;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
}

/** Masks what differs between two runs of the same thing: pids, ports, dates, durations, check timings. */
export function maskLine(line: string): string {
  let out = line
    .replace(/^(\[(?:WARNING|ALERT|NOTICE)\]\s+)\(\d+\)/, '$1(PID)')
    .replace(/check duration: \d+ms/g, 'check duration: Nms')
    .replace(/^Connect from (\S+):\d+ to (\S+):\d+ /, 'Connect from $1:PORT to $2:PORT ');
  const tcplog = /^(\S+):\d+ \[[^\]]+\] (\S+) (\S+) (-?\d+)\/(-?\d+)\/(-?\d+) (\d+) (\S\S) (\d+)\/(\d+)\/(\d+)\/(\d+)\/(\+?\d+) (\d+)\/(\d+)$/.exec(out);
  if (tcplog !== null) {
    const t = (v: string | undefined): string => (v === '-1' ? '-1' : 'T');
    const [, ip, fe, be, tw, tc, tt, bytes, term, , , , , retries] = tcplog;
    out = `${ip}:PORT [DATE] ${fe} ${be} ${t(tw)}/${t(tc)}/${t(tt)} ${bytes} ${term} retries=${retries}`;
  }
  return out;
}

/** One engine running one configuration. */
export class Instance {
  readonly engine: Engine;
  readonly dir: string;
  readonly cli: string;
  /** Every stderr line, masked, in order. */
  readonly lines: string[] = [];
  /** Every stderr line as written, with the milliseconds since {@link Instance.start} when it arrived. */
  readonly raw: { readonly ms: number; readonly line: string }[] = [];
  /** `performance.now()` when the engine was started. */
  startedAt = 0;
  #child: ChildProcess | undefined;
  #waiters: { test: (l: string) => boolean; count: number; resolve: () => void }[] = [];
  #pending = '';

  constructor(engine: Engine, dir: string) {
    this.engine = engine;
    this.dir = dir;
    this.cli = join(dir, 'admin.sock');
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the engine on `config` and waits until its runtime API answers. */
  async start(config: string, inheritFds: readonly number[] = []): Promise<void> {
    const file = join(this.dir, 'test.cfg');
    await writeFile(file, config);
    const [cmd, args] = this.engine === 'haproxy' ? [HAPROXY, ['-db', '-f', file]] : [process.execPath, [BIN, '-db', '-f', file]];
    // Inherited descriptors become the child's fd 3, 4… (`bind fd@3`).
    const stdio: StdioOptions = ['ignore', 'ignore', 'pipe', ...inheritFds];
    const child = spawn(cmd, args, { stdio, env: { ...process.env, NO_COLOR: '1' } });
    this.#child = child;
    this.startedAt = performance.now();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.#pending += chunk;
      let nl: number;
      while ((nl = this.#pending.indexOf('\n')) >= 0) {
        const line = this.#pending.slice(0, nl);
        this.#pending = this.#pending.slice(nl + 1);
        this.raw.push({ ms: Math.round(performance.now() - this.startedAt), line });
        this.#push(maskLine(line));
      }
    });
    const deadline = performance.now() + START_WAIT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.engine} exited at start (${child.exitCode}):\n${this.lines.join('\n')}`);
      try {
        await this.command('show info');
        return;
      } catch {
        if (performance.now() > deadline) throw new Error(`${this.engine} did not start:\n${this.lines.join('\n')}`);
        await pause(20);
      }
    }
  }

  #push(line: string): void {
    this.lines.push(line);
    for (const w of [...this.#waiters]) {
      if (this.lines.filter(w.test).length >= w.count) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Waits until `count` stderr lines (masked) match; gives up after `timeoutMs` ({@link WAIT_MS} by default). */
  waitLines(test: RegExp | ((l: string) => boolean), count = 1, what = String(test), timeoutMs = WAIT_MS): Promise<void> {
    const t = typeof test === 'function' ? test : (l: string) => test.test(l);
    if (this.lines.filter(t).length >= count) return Promise.resolve();
    return raceTimeout(new Promise<void>((resolve) => this.#waiters.push({ test: t, count, resolve })), timeoutMs, () => `${this.engine}: ${count}× ${what}\n${this.lines.join('\n')}`);
  }

  /** Sends one runtime API command on a new connection; resolves with the whole reply. */
  command(text: string): Promise<string> {
    return withTimeout(new Promise<string>((resolve, reject) => {
      const s = net.connect(this.cli);
      let reply = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (reply += d));
      s.on('error', reject);
      s.on('close', () => resolve(reply));
      s.write(`${text}\n`);
    }), `${this.engine}: reply to '${text}'`);
  }

  /**
   * An interactive session: `prompt`, then each line in turn, each sent once the previous reply ended with the
   * `> ` prompt; resolves with everything received (the connection closes after `quit`).
   */
  interactive(lines: readonly string[]): Promise<string> {
    return withTimeout(new Promise<string>((resolve, reject) => {
      const s = net.connect(this.cli);
      let out = '';
      let next = 0;
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        out += d;
        if (out.endsWith('> ') && next < lines.length) s.write(`${lines[next++]}\n`);
      });
      s.on('error', reject);
      s.on('close', () => resolve(out));
      s.write('prompt\n');
    }), `${this.engine}: an interactive session`);
  }

  /** Stops the engine (by its PID) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await withTimeout(exited, `${this.engine} to exit`);
  }
}

/** Connects to the proxy and reads the first line (or '' when the proxy closes without data). */
export function visit(port: number, options: { readonly localAddress?: string } = {}): Promise<Visit> {
  return withTimeout(new Promise<Visit>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
    const closed = once(socket, 'close').then(() => {});
    let buf = '';
    let done = false;
    const finish = (line: string): void => {
      if (done) return;
      done = true;
      resolve({ line, socket, closed });
    };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl));
    });
    socket.on('error', () => finish(''));
    socket.on('close', () => finish(buf));
  }), `a connection through 127.0.0.1:${port}`);
}

/** `n` sequential connections; the servers that answered. Each one is closed before the next starts. */
export async function sequence(port: number, n: number, gapMs = 15): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = await visit(port);
    out.push(v.line === '' ? '-' : v.line);
    v.socket.end();
    await withTimeout(v.closed, 'the client socket to close');
    await pause(gapMs);
  }
  return out;
}

/** What a scenario gets for one engine. */
export interface ScenarioContext {
  readonly engine: Engine;
  readonly instance: Instance;
  /** The frontend's port (`${FE}` in the configuration). */
  readonly port: number;
  readonly backends: readonly Backend[];
  /** Records a line of the transcript. */
  note(...parts: unknown[]): void;
  /** Sends a runtime API command and records its reply. */
  cli(command: string): Promise<string>;
  /** The port of the inherited listener (`inheritListener`), else 0. */
  readonly inheritedPort: number;
  /** Syslog datagrams received so far (`syslog`), as latin1 text. */
  readonly datagrams: readonly string[];
  /** The engine's temp directory (`${DIR}` in the configuration): state files and unix sockets go there. */
  readonly dir: string;
  /** Stops the engine (by PID) and starts it again on the same configuration, in the same directory. */
  restart(): Promise<void>;
  /** What {@link Scenario.services} returned for this engine's run (the scenario may keep handles in it). */
  readonly service: ServiceHandle | undefined;
}

/** Real servers started for one engine's run of a scenario. */
export interface ServiceHandle {
  readonly ports: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/** A scenario: a configuration template and the steps to run. */
export interface Scenario {
  readonly name: string;
  /**
   * The configuration. `${FE}` is the frontend's port, `${S1}`… the backends' ports, `${CLI}` the runtime API socket;
   * a `global` section with the stats socket and `log stderr format raw` is prepended unless `global` is false.
   */
  readonly config: string;
  /** Backend names (`s1`, `s2`…) and modes. */
  readonly backends: readonly (string | {
    readonly name: string;
    readonly mode?: BackendMode;
    readonly running?: boolean;
    readonly reply?: string;
    readonly handler?: (socket: net.Socket) => void;
  })[];
  /**
   * Real servers the scenario needs (redis-server, PostgreSQL, MariaDB…), started before the engine and stopped
   * after it, once per engine: `ports` fill `${NAME}` placeholders in the configuration.
   */
  readonly services?: () => Promise<ServiceHandle>;
  readonly global?: string;
  /** Ports whose SYNs are dropped (connect timeouts), `${BH1}`, `${BH2}`… in the configuration. @defaultValue 0 */
  readonly blackHoles?: number;
  /**
   * A listening socket made by the harness on 127.0.0.1 and handed to the engine as its fd 3 (`bind fd@3`); its port
   * is {@link ScenarioContext.inheritedPort}. @defaultValue false
   */
  readonly inheritListener?: boolean;
  /** A UDP syslog receiver on 127.0.0.1, `${UDP}` in the configuration; datagrams in {@link ScenarioContext.datagrams}. */
  readonly syslog?: boolean;
  /**
   * When set, the compared log lines are the raw stderr lines passed through this function (instead of the
   * harness's {@link maskLine}), for scenarios that compare what maskLine hides (tcplog counters, Tw).
   */
  readonly logMask?: (line: string) => string;
  readonly steps: (ctx: ScenarioContext) => Promise<void>;
  /** Also compare every stderr line (masked) at the end. @defaultValue true */
  readonly compareLogs?: boolean;
  /** Lines to leave out of the log comparison. */
  readonly ignoreLines?: RegExp;
  /**
   * Known differences, each reported and explained where it is declared: replacements applied to switchyard's
   * log lines before the comparison, so the rest of the scenario still guards everything else.
   */
  readonly known?: readonly (readonly [RegExp, string])[];
  /**
   * switchyard is known to differ here and the work is tracked (e.g. `'issue 12 item 4'`): the test still runs both
   * engines and reports the difference, but as node:test's `todo`, so the suite stays green until it is implemented.
   */
  readonly todo?: string;
  /**
   * Compare the log lines as a sorted list: for scenarios where HAProxy's own order varies from run to run (its
   * threads log a cut session and a state change concurrently). Every line must still be there, the same.
   */
  readonly sortLogs?: boolean;
  /** Replacements applied to both engines' log lines: what is not deterministic even in HAProxy. */
  readonly mask?: readonly (readonly [RegExp, string])[];
}

/** The transcript of one run: notes and, when compared, the stderr lines. */
export interface Transcript {
  readonly notes: string[];
  readonly logs: string[];
  /** Every stderr line unmasked, with its arrival time in ms after start (for measuring, not compared). */
  readonly raw: readonly { readonly ms: number; readonly line: string }[];
}

/** Start-up messages (version banner, configuration warnings and their continuation lines): not compared. */
const STARTUP = /^\[(?:NOTICE|WARNING)\]\s+\(PID\) : (?:config : |switchyard version|haproxy version|path to executable)|^ {3}\| /;

const DEFAULT_GLOBAL = 'global\n  stats socket ${CLI} level admin\n  log stderr format raw local0 debug\n';

/**
 * Runs a scenario against one engine and returns its transcript. Cleans up whatever happens. An engine that could
 * not bind a port the harness had just found free (another process took it meanwhile) runs the scenario again
 * from the start with new ports, at most twice: the environment failed, not the engine. A port the engine itself
 * keeps would fail every attempt.
 */
export async function runScenario(s: Scenario, engine: Engine): Promise<Transcript> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runScenarioOnce(s, engine);
    } catch (err) {
      const text = String((err as Error).message);
      if (attempt >= 3 || !/exited at start/.test(text) || !/Address already in use/.test(text)) throw err;
    }
  }
}

async function runScenarioOnce(s: Scenario, engine: Engine): Promise<Transcript> {
  const dir = await mkdtemp(join(tmpdir(), `switchyard-diff-${engine}-`));
  const instance = new Instance(engine, dir);
  const ports = await freePorts(1 + s.backends.length);
  const backends = s.backends.map((b, i) => {
    const spec = typeof b === 'string' ? { name: b } : b;
    const backend = new Backend(spec.name, ports[i + 1]!, spec.mode ?? 'close');
    if (spec.reply !== undefined) backend.reply = spec.reply;
    if (spec.handler !== undefined) backend.handler = spec.handler;
    return { backend, running: spec.running ?? true };
  });
  const notes: string[] = [];
  const holes = Array.from({ length: s.blackHoles ?? 0 }, () => new BlackHole());
  const datagrams: string[] = [];
  let udp: dgram.Socket | undefined;
  let inherited: net.Server | undefined;
  let services: ServiceHandle | undefined;
  try {
    if (s.services) services = await s.services();
    if (s.syslog === true) {
      const sock = dgram.createSocket('udp4');
      udp = sock;
      sock.on('message', (m) => datagrams.push(m.toString('latin1')));
      sock.bind(0, '127.0.0.1');
      await withTimeout(once(sock, 'listening'), 'the syslog receiver to listen');
    }
    if (s.inheritListener === true) {
      const server = net.createServer();
      server.listen(0, '127.0.0.1');
      await withTimeout(once(server, 'listening'), 'the inherited listener to listen');
      inherited = server;
    }
    for (const b of backends) if (b.running) await b.backend.start();
    for (const h of holes) await h.start();
    let text = (s.global ?? DEFAULT_GLOBAL) + s.config;
    holes.forEach((h, i) => (text = text.replaceAll(`\${BH${i + 1}}`, String(h.port))));
    if (udp) text = text.replaceAll('${UDP}', String(udp.address().port));
    for (const [name, port] of Object.entries(services?.ports ?? {})) text = text.replaceAll(`\${${name}}`, String(port));
    text = text.replaceAll('${DIR}', dir);
    const fds: number[] = [];
    if (inherited) fds.push((inherited as unknown as { _handle: { fd: number } })._handle.fd);
    text = text.replaceAll('${FE}', String(ports[0])).replaceAll('${CLI}', instance.cli);
    backends.forEach((b, i) => (text = text.replaceAll(`\${S${i + 1}}`, String(b.backend.port))));
    const inheritedPort = inherited ? (inherited.address() as net.AddressInfo).port : 0;
    await instance.start(text, fds);
    // The engine has its own copy of the listening socket now: the harness's must not accept anything.
    if (inherited) await new Promise<void>((r) => inherited!.close(() => r()));
    // Port numbers differ between the two runs: notes name them instead.
    const names = new Map<string, string>([[String(ports[0]), '${FE}'], ...backends.map((b, i): [string, string] => [String(b.backend.port), `\${S${i + 1}}`])]);
    if (inheritedPort !== 0) names.set(String(inheritedPort), '${FD}');
    holes.forEach((h, i) => names.set(String(h.port), `\${BH${i + 1}}`));
    for (const [name, port] of Object.entries(services?.ports ?? {})) names.set(String(port), `\${${name}}`);
    const maskPorts = (text: string): string => text.replace(/\d{4,5}/g, (p) => names.get(p) ?? p);
    const ctx: ScenarioContext = {
      engine,
      instance,
      port: ports[0]!,
      backends: backends.map((b) => b.backend),
      note: (...parts) => notes.push(maskPorts(parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' '))),
      cli: async (command) => {
        const reply = await instance.command(command);
        notes.push(maskPorts(`> ${command}\n${reply}`));
        return reply;
      },
      inheritedPort,
      datagrams,
      dir,
      service: services,
      restart: async () => {
        await instance.stop();
        // An inherited listener was handed over at the first start only.
        await instance.start(text);
      },
    };
    await s.steps(ctx);
    const logMask = s.logMask;
    const lines = logMask === undefined ? instance.lines : instance.raw.map((r) => logMask(r.line.replace(/^(\[(?:WARNING|ALERT|NOTICE)\]\s+)\(\d+\)/, '$1(PID)')));
    let logs = s.compareLogs === false ? [] : lines.filter((l) => !STARTUP.test(l) && !(s.ignoreLines?.test(l) ?? false));
    if (engine === 'switchyard') for (const [from, to] of s.known ?? []) logs = logs.map((l) => l.replace(from, to));
    for (const [from, to] of s.mask ?? []) logs = logs.map((l) => l.replace(from, to));
    if (s.sortLogs === true) logs = [...logs].sort();
    return { notes, logs, raw: instance.raw };
  } finally {
    await instance.stop().catch(() => {});
    await Promise.all(backends.map((b) => b.backend.stop()));
    await Promise.all(holes.map((h) => h.stop()));
    udp?.close();
    await services?.stop();
    if (inherited?.listening) inherited.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `show servers state` with the seconds-since-last-change column masked. */
export function maskServersState(text: string): string {
  return text.split('\n').map((l) => {
    const f = l.split(' ');
    if (f.length > 10 && /^\d+$/.test(f[0] ?? '')) f[9] = 'T';
    return f.join(' ');
  }).join('\n');
}

/** Selected columns of `show stat`, parsed as CSV, for the rows of servers and backends. */
export function statColumns(csv: string, columns: readonly string[]): string[] {
  const lines = csv.split('\n').filter((l) => l !== '');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  return lines.slice(1).map((line) => {
    const fields = parseCsvLine(line);
    // `* ` marks a check in progress (HAProxy only): a matter of timing, not of state.
    const row = (name: string): string => (fields[header.indexOf(name)] ?? '').replace(/^\* /, '');
    return [row('pxname'), row('svname'), ...columns.map((c) => `${c}=${row(c)}`)].join(' ');
  }).filter((r) => !r.includes(' FRONTEND '));
}

/** {@link statColumns} as one block of text, a row per line. */
export function stat(csv: string, columns: readonly string[]): string {
  return statColumns(csv, columns).join('\n');
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * Declares one test per scenario: both engines run it side by side and the transcripts must be equal. Skipped
 * (with the reason) when Debian's haproxy is not installed.
 */
export function diffScenarios(title: string, scenarios: readonly Scenario[]): void {
  describe(title, () => {
    for (const s of scenarios) {
      if (!HAVE_HAPROXY) {
        it(s.name, { skip: SKIP_REASON }, () => {});
        continue;
      }
      it(s.name, { timeout: 30_000, ...(s.todo === undefined ? {} : { todo: s.todo }) }, async () => {
        // DIFF_ENGINE=haproxy (or switchyard) runs one engine only and prints its transcript: a measuring aid.
        const only = process.env['DIFF_ENGINE'];
        if (only === 'haproxy' || only === 'switchyard') {
          const t = await runScenario(s, only);
          console.log(`===== ${only}: ${s.name}\n${t.notes.join('\n')}\n--- raw stderr (ms after start)`);
          for (const r of t.raw) console.log(String(r.ms).padStart(6), r.line);
          return;
        }
        // DIFF_SELF=1 compares HAProxy with itself (two runs side by side): a scenario that fails this is not
        // deterministic enough to hold switchyard to.
        const second: Engine = process.env['DIFF_SELF'] === '1' ? 'haproxy' : 'switchyard';
        const [reference, ours] = await Promise.all([runScenario(s, 'haproxy'), runScenario(s, second)]);
        // DIFF_PRINT=1 prints both transcripts with the raw, timed stderr lines (for measuring, e.g. the issue notes).
        if (process.env['DIFF_PRINT'] === '1') {
          for (const [engine, t] of [['haproxy', reference], ['switchyard', ours]] as const) {
            console.log(`===== ${engine}: ${s.name}\n${t.notes.join('\n')}\n--- raw stderr (ms after start)`);
            for (const r of t.raw) console.log(String(r.ms).padStart(6), r.line);
          }
        }
        assertSame(ours.notes, reference.notes, 'transcript (servers, runtime API replies)');
        assertSame(ours.logs, reference.logs, 'log lines (masked)');
      });
    }
  });
}

function assertSame(ours: readonly string[], reference: readonly string[], what: string): void {
  const a = ours.join('\n');
  const b = reference.join('\n');
  if (a !== b) {
    throw new Error(`${what} differ.\n--- haproxy\n${b}\n--- switchyard\n${a}\n`);
  }
}
