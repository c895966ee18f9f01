/**
 * Where HAProxy's log lines go: the `log` targets of a proxy (stderr, stdout, a file descriptor, a file, UDP
 * syslog) in the target's `format`, filtered by level, and HAProxy's own stderr copy of state messages
 * (`[WARNING]  (<pid>) : …`, `[ALERT]    (<pid>) : …`) that it prints when running in the foreground.
 */
import dgram from 'node:dgram';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { GlobalConfig, LogLevel, LogTarget, ProxyCommon } from '../config/types.js';

/** Syslog levels in severity order (`emerg` = 0 … `debug` = 7). */
const LEVELS: readonly LogLevel[] = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'auth2', 'ftp', 'ntp', 'audit',
  'alert', 'cron2', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Options of {@link LogOutput}. */
export interface LogOutputOptions {
  /** Writes text (with its newline) to standard error. */
  readonly stderr: (text: string) => void;
  /** Writes text (with its newline) to standard output. */
  readonly stdout: (text: string) => void;
  /** Process id printed in `[WARNING]  (<pid>)` and in syslog headers. */
  readonly pid: number;
  /** Print HAProxy's `[WARNING]`/`[ALERT]` copies of state messages on stderr. */
  readonly warnings: boolean;
  /** Wall-clock time for syslog headers and `tcplog` dates. */
  readonly date: () => Date;
  /** Program name in syslog headers (HAProxy's `log-tag`). */
  readonly tag: string;
  /** Host field of `rfc3164`/`rfc5424` headers (HAProxy's `log-send-hostname`); none by default, as HAProxy 2.6.12. */
  readonly hostname?: string;
}

/** One proxy's resolved targets: the global ones (`log global`) and its own. */
export type LogTargets = readonly LogTarget[];

/** The targets a proxy logs to: the global section's when it says `log global`, then its own. */
export function proxyLogTargets(proxy: Pick<ProxyCommon, 'log'>, global: Pick<GlobalConfig, 'log'>): LogTargets {
  return [...(proxy.log.global ? global.log : []), ...proxy.log.targets];
}

/**
 * Formats and writes log lines to their targets. Files and the UDP socket are opened on first use and
 * released by {@link LogOutput.close}. Writing never throws: a target that fails is skipped.
 */
export class LogOutput {
  readonly #o: LogOutputOptions;
  readonly #files = new Map<string, WriteStream>();
  /**
   * Context prefix of `[WARNING]`/`[ALERT]` messages: HAProxy prints `CLI : ` before the messages caused by a
   * command of an interactive (`prompt`) runtime API session.
   */
  context = '';
  #udp: dgram.Socket | undefined;
  #closed = false;

  constructor(options: LogOutputOptions) {
    this.#o = options;
  }

  /** The process id used in messages. */
  get pid(): number {
    return this.#o.pid;
  }

  /** Current wall-clock time, as configured. */
  date(): Date {
    return this.#o.date();
  }

  /** HAProxy's `ha_warning()`: `[WARNING]  (<pid>) : <message>` on stderr (unless warnings are off). */
  warning(message: string): void {
    if (this.#o.warnings) this.#o.stderr(`[WARNING]  (${this.#o.pid}) : ${this.context}${message}\n`);
  }

  /** HAProxy's `ha_alert()`: `[ALERT]    (<pid>) : <message>` on stderr (unless warnings are off). */
  alert(message: string): void {
    if (this.#o.warnings) this.#o.stderr(`[ALERT]    (${this.#o.pid}) : ${this.context}${message}\n`);
  }

  /** HAProxy's `ha_notice()`: `[NOTICE]   (<pid>) : <message>` on stderr (unless warnings are off). */
  notice(message: string): void {
    if (this.#o.warnings) this.#o.stderr(`[NOTICE]   (${this.#o.pid}) : ${message}\n`);
  }

  /** HAProxy's `send_log()`: the message to every target whose level lets it through. */
  send(targets: LogTargets, level: LogLevel, message: string): void {
    if (this.#closed || targets.length === 0) return;
    const severity = LEVELS.indexOf(level);
    const now = this.#o.date();
    for (const target of targets) {
      if (severity > LEVELS.indexOf(target.level)) continue;
      const min = target.minLevel === undefined ? -1 : LEVELS.indexOf(target.minLevel);
      const sent = severity < min ? min : severity;
      let line = formatLogLine(target, sent, message, now, this.#o.pid, this.#o.tag, this.#o.hostname);
      if (line.length > target.maxLength) line = line.slice(0, target.maxLength);
      this.#write(target, `${line}\n`);
    }
  }

  /** Flushes and closes files and the UDP socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.all(files.map((f) => new Promise<void>((resolve) => f.end(resolve))));
    const udp = this.#udp;
    this.#udp = undefined;
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
  }

  #write(target: LogTarget, text: string): void {
    const a = target.address;
    try {
      switch (a.kind) {
        case 'stderr':
          this.#o.stderr(text);
          return;
        case 'stdout':
          this.#o.stdout(text);
          return;
        case 'fd':
          if (a.fd === 1) this.#o.stdout(text);
          else if (a.fd === 2) this.#o.stderr(text);
          else this.#file(`fd@${a.fd}`, () => createWriteStream('', { fd: a.fd, autoClose: false })).write(text);
          return;
        case 'unix':
          // A file path: switchyard appends the lines to it (HAProxy would send datagrams to a unix socket).
          this.#file(a.path, () => createWriteStream(a.path, { flags: 'a' })).write(text);
          return;
        case 'udp': {
          this.#udp ??= this.#openUdp(a.host.includes(':') ? 'udp6' : 'udp4');
          // HAProxy 2.6.12 ends each datagram with the line's newline.
          this.#udp.send(text, a.port, a.host, () => {});
          return;
        }
      }
    } catch {
      // A log target that cannot be written must not take the proxy down.
    }
  }

  #file(key: string, open: () => WriteStream): WriteStream {
    let stream = this.#files.get(key);
    if (stream === undefined) {
      stream = open();
      stream.on('error', () => {});
      this.#files.set(key, stream);
    }
    return stream;
  }

  #openUdp(type: 'udp4' | 'udp6'): dgram.Socket {
    const socket = dgram.createSocket(type);
    socket.on('error', () => {});
    socket.unref();
    return socket;
  }
}

/**
 * One log line in the target's format (HAProxy 2.6.12, as observed): `raw` the message alone; `short`
 * `<level>msg`; `priority` `<PRI>msg`; `rfc3164`/`local` `<PRI>Nov 24 02:54:01 haproxy[pid]: msg` (`rfc3164` with
 * `hostname` puts it after the date: HAProxy's `log-send-hostname`); `rfc5424`
 * `<PRI>1 2026-11-24T02:54:01.094358+00:00 - haproxy pid - - msg` (the host in place of the first `-`);
 * `timed` `<level>` + ISO date; `iso` ISO date + message.
 */
export function formatLogLine(target: LogTarget, severity: number, message: string, now: Date, pid: number, tag: string, hostname?: string): string {
  const facility = Math.max(0, FACILITIES.indexOf(target.facility));
  const pri = facility * 8 + severity;
  switch (target.format) {
    case 'raw':
      return message;
    case 'short':
      return `<${severity}>${message}`;
    case 'priority':
      return `<${pri}>${message}`;
    case 'timed':
      return `<${severity}>${isoDate(now)} ${message}`;
    case 'iso':
      return `${isoDate(now)} ${message}`;
    case 'rfc5424':
      return `<${pri}>1 ${isoDate(now)} ${hostname ?? '-'} ${tag} ${pid} - - ${message}`;
    default: {
      const host = hostname !== undefined && target.format !== 'local' ? `${hostname} ` : '';
      return `<${pri}>${syslogDate(now)} ${host}${tag}[${pid}]: ${message}`;
    }
  }
}

/** `Nov 24 02:54:01` (day padded with a space), local time. */
function syslogDate(d: Date): string {
  return `${MONTHS[d.getMonth()] ?? ''} ${String(d.getDate()).padStart(2, ' ')} ${hms(d)}`;
}

/** `2026-11-24T02:54:01.094000+00:00`, local time with its offset. */
function isoDate(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const tz = `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
  const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  return `${date}T${hms(d)}.${String(d.getMilliseconds()).padStart(3, '0')}000${tz}`;
}

/** `[24/Nov/2026:01:04:28.219]`'s content: HAProxy's `%t` date of a traffic log line, local time. */
export function tcplogDate(d: Date): string {
  return `${pad2(d.getDate())}/${MONTHS[d.getMonth()] ?? ''}/${d.getFullYear()}:${hms(d)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function hms(d: Date): string {
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
