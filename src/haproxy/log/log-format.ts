/**
 * HAProxy's `log-format` lines for TCP proxies (`src/log.c sess_build_logline()`): a format parsed once
 * (`config/log-format-syntax.ts`), then rendered for each finished connection. `option tcplog` is the format
 * `TCPLOG_FORMAT`.
 */
import type { ConnectionRecord } from '../../proxy/tcp-proxy.js';
import { LOG_FLAG, type LogFormatNode, parseLogFormat } from '../config/log-format-syntax.js';
import { tcplogDate } from './output.js';

export { TCPLOG_FORMAT } from '../config/log-format-syntax.js';

/** The counters of a `tcplog` line that the record does not carry (HAProxy's `%ac/%fc/%bc/%sc`, `%sq/%bq`). */
export interface TcplogCounts {
  /** Connections in the whole process, this one included (`%ac`). */
  readonly processConnections: number;
  /** Connections on the frontend, this one included (`%fc`). */
  readonly frontendConnections: number;
  /** Connections on the backend (`%bc`). */
  readonly backendConnections: number;
  /** Connections on the server (`%sc`). */
  readonly serverConnections: number;
  /** Position in the server's queue when queued (`%sq`). */
  readonly serverQueue: number;
  /** Position in the backend's queue when queued (`%bq`). */
  readonly backendQueue: number;
}

/** What a log line is rendered from: the record and what the proxy around it knows at log time. */
export interface LogFormatInput extends TcplogCounts {
  readonly record: ConnectionRecord;
  readonly frontend: string;
  readonly backend: string;
  /** The server a line names (`%s`): the one connected to, failed on, or queued on; undefined is `<NOSRV>`. */
  readonly server: string | undefined;
  /** Where the connection to the server went (`%si`, `%sp`), when one was made or attempted. */
  readonly serverAddress?: { readonly host: string; readonly port: number };
  /** Wall-clock time of the accept (`%t`, `%T`, `%Tl`, `%Ts`, `%ms`). */
  readonly acceptedAt: Date;
  /** `%pid`. @defaultValue 0 */
  readonly pid?: number;
  /** `%H`: the host name. @defaultValue '' */
  readonly hostname?: string;
  /** `%lc`: lines the frontend logged before this one. @defaultValue 0 */
  readonly logCount?: number;
}

/** A compiled format: renders one line (without newline). */
export type LogFormat = (input: LogFormatInput) => string;

const { QUOTE, HEX, ESC, MANDATORY } = LOG_FLAG;

/** A compiled format, or HAProxy's parse error. */
export type CompiledLogFormat =
  | { readonly ok: true; readonly format: LogFormat; readonly variables: ReadonlySet<string> }
  | { readonly ok: false; readonly message: string };

/** Compiles a log-format string (`parseLogFormat`) into a function that renders one line. */
export function compileLogFormat(text: string): CompiledLogFormat {
  const parsed = parseLogFormat(text);
  if (!parsed.ok) return parsed;
  const nodes = parsed.nodes;
  return { ok: true, format: (input) => render(nodes, input), variables: parsed.variables };
}

function render(nodes: readonly LogFormatNode[], input: LogFormatInput): string {
  let out = '';
  // HAProxy's merged spaces: a separator is written only after something that was not one.
  let lastSpace = true;
  for (const node of nodes) {
    if (node.kind === 'sep') {
      if (!lastSpace) out += ' ';
      lastSpace = true;
    } else {
      out += node.kind === 'text' ? node.text : value(node.name, node.options, input);
      lastSpace = false;
    }
  }
  return out;
}

function value(name: string, options: number, input: LogFormatInput): string {
  const r = input.record;
  switch (name) {
    case 'ci': return ip(r.clientAddress, options);
    case 'cp': return port(r.clientPort, options);
    case 'fi': return ip(r.localAddresses?.frontendAddress, options);
    case 'fp': return port(r.localAddresses?.frontendPort, options);
    case 'bi': return ip(r.localAddresses?.sourceAddress, options);
    case 'bp': return port(r.localAddresses?.sourcePort, options);
    case 'si': return ip(input.serverAddress?.host, options);
    case 'sp': return port(input.serverAddress?.port, options);
    case 't': return tcplogDate(input.acceptedAt);
    case 'T': return `${dayMonthYear(input.acceptedAt, true)} +0000`;
    case 'Tl': return `${dayMonthYear(input.acceptedAt, false)} ${gmtOffset(input.acceptedAt)}`;
    case 'Ts': {
      const seconds = Math.floor(input.acceptedAt.getTime() / 1000);
      return options & HEX ? hex(seconds, 4) : String(seconds);
    }
    case 'ms': {
      const ms = input.acceptedAt.getMilliseconds();
      return options & HEX ? hex(ms, 2) : String(ms).padStart(3, '0');
    }
    case 'f': return text(input.frontend, options);
    case 'ft': return options & QUOTE ? `"${input.frontend}"` : input.frontend;
    case 'b': return text(input.backend, options);
    case 's': return text(input.server ?? '<NOSRV>', options);
    case 'H': return text(input.hostname ?? '', options);
    case 'Th': return '0';
    case 'Tw': return String(tcplogWait(r.assignedMs));
    case 'Tc': return String(r.connectMs < 0 ? -1 : Math.floor(r.connectMs));
    case 'Tt':
    case 'Tu': return String(Math.floor(r.durationMs));
    case 'Td': return String(r.connectMs < 0 ? -1 : Math.floor(r.durationMs) - Math.floor(r.connectMs) - tq(r));
    case 'ST': return '0';
    case 'B': return String(r.bytesOut);
    case 'U': return String(r.bytesIn);
    case 'ts': return r.termination;
    case 'tsc': return `${r.termination}--`;
    case 'ac': return String(input.processConnections);
    case 'fc': return String(input.frontendConnections);
    case 'bc': return String(input.backendConnections);
    case 'sc': return String(input.serverConnections);
    case 'rc': return `${r.redispatches > 0 ? '+' : ''}${r.retries}`;
    case 'sq': return String(input.serverQueue);
    case 'bq': return String(input.backendQueue);
    case 'lc': return options & HEX ? hex(input.logCount ?? 0, 4) : String(input.logCount ?? 0);
    case 'pid': return options & HEX ? hex(input.pid ?? 0, 4) : String(input.pid ?? 0);
    default: return '';
  }
}

/**
 * HAProxy's `%Tw` in TCP mode: `t_queue - t_request` with `t_request` never set (-1) outside HTTP, so the time
 * until the last server assignment plus one (`src/log.c sess_build_logline()`); -1 when no server was assigned.
 */
export function tcplogWait(assignedMs: number): number {
  return assignedMs < 0 ? -1 : Math.floor(assignedMs) + 1;
}

/** HAProxy's `t_queue` in a connected session's `Td` (`t_close - t_connect`): accept → connected. */
function tq(r: ConnectionRecord): number {
  return r.assignedMs < 0 ? 0 : Math.floor(r.assignedMs);
}

/** HAProxy's `lf_text()`: quoted with `+Q`, escaped with `+E`, `-` for nothing when mandatory (and not quoted). */
function text(s: string | undefined, options: number): string {
  const body = s === undefined || s === '' ? (options & QUOTE || !(options & MANDATORY) ? '' : '-') : options & ESC ? s.replace(/["\\\]]/g, '\\$&') : s;
  return options & QUOTE ? `"${body}"` : body;
}

function ip(address: string | undefined, options: number): string {
  if (address === undefined || !(options & HEX)) return text(address, options);
  if (address.includes(':')) {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (v4 === null) return text(address, options);
    address = v4[1]!;
  }
  return address.split('.').map((b) => hex(Number(b), 2)).join('');
}

function port(p: number | undefined, options: number): string {
  if (p === undefined) return text(undefined, options);
  return options & HEX ? hex(p, 4) : String(p);
}

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, '0');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `02/Dec/2026:12:19:37`, in UTC or local time. */
function dayMonthYear(d: Date, utc: boolean): string {
  const [day, month, year, h, m, s] = utc
    ? [d.getUTCDate(), d.getUTCMonth(), d.getUTCFullYear(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getDate(), d.getMonth(), d.getFullYear(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(day)}/${MONTHS[month] ?? ''}/${year}:${p(h)}:${p(m)}:${p(s)}`;
}

/** `+0100`: the local offset from UTC. */
function gmtOffset(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset >= 0 ? '+' : '-'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}
