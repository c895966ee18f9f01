/**
 * Clients the differential scenarios need beyond the harness's `visit`: one that keeps its side open after the
 * proxy's FIN (TCP half-close), and log-line masks that keep what `maskLine` hides.
 */
import { once } from 'node:events';
import net from 'node:net';
import { withTimeout } from '../helpers/timeout.js';

/** A connection with `allowHalfOpen`: it reads until the proxy's FIN and keeps its own side open until `end()`. */
export interface HalfOpenClient {
  readonly socket: net.Socket;
  /** Everything received so far. */
  data(): string;
  /** Resolves on the proxy's FIN. */
  readonly ended: Promise<void>;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
}

export async function halfOpen(port: number): Promise<HalfOpenClient> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (buf += d));
  socket.on('error', () => {});
  const ended = withTimeout(once(socket, 'end').then(() => {}), 8000, 'the proxy to close its side');
  const closed = once(socket, 'close').then(() => {});
  await withTimeout(once(socket, 'connect'), 8000, `a connection to 127.0.0.1:${port}`);
  return { socket, data: () => buf, ended, closed };
}

const TCPLOG = /^(\S+):\d+ \[[^\]]+\] (\S+) (\S+) (-?\d+)\/(-?\d+)\/(-?\d+) (\d+) (\S\S) (\d+\/\d+\/\d+\/\d+\/\+?\d+) (\d+\/\d+)$/;

/**
 * A tcplog line with its counters kept (`actconn/feconn/beconn/srv_conn/retries` and `srv_queue/backend_queue`)
 * and its timers rounded to `bucketMs` (so `Tw` 502 and 507 both read 500), or all shown as `T` (except -1) when
 * `bucketMs` is 0; other lines get the check duration masked.
 */
export function tcplogKeepCounters(bucketMs: number, settleMs?: number): (line: string) => string {
  return (line) => {
    const m = TCPLOG.exec(line);
    if (m === null) return line.replace(/check duration: \d+ms/g, 'check duration: Nms');
    const t = (v: string): string => (v === '-1' ? '-1' : bucketMs === 0 ? 'T' : String(Math.round(Number(v) / bucketMs) * bucketMs));
    const [, ip, fe, be, tw, tc, tt, bytes, term, counters, queues] = m;
    // With `settleMs`, a connected session's Tt reads `Tw+Tc+settle` when it ends 0–settleMs after Tw + Tc: that
    // rest is the transfer and the close, which the harness's client paces (hundreds of ms late at load 12). A
    // session that never connected (Tc -1) reads `Tw+settle` the same way: its rest is the last refused attempt and
    // the close (switchyard's came 250–500 ms late at load 15 in CI, its Tw the same as HAProxy's).
    const rest = Number(tt) - Math.max(0, Number(tw)) - Math.max(0, Number(tc));
    const settled = settleMs !== undefined && rest >= -2 && rest <= settleMs;
    const total = settled ? (tc === '-1' ? 'Tw+settle' : 'Tw+Tc+settle') : t(tt!);
    return `${ip}:PORT [DATE] ${fe} ${be} ${t(tw!)}/${t(tc!)}/${total} ${bytes} ${term} ${counters} ${queues}`;
  };
}

/** {@link tcplogKeepCounters} without the counters: only the timers (rounded), bytes, termination and retries. */
export function tcplogTimers(bucketMs: number, settleMs?: number): (line: string) => string {
  const keep = tcplogKeepCounters(bucketMs, settleMs);
  return (line) => keep(line).replace(/ (\d+)\/(\d+)\/(\d+)\/(\d+)\/(\+?\d+) (\d+\/\d+)$/, ' retries=$5');
}
