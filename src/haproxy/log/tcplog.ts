/**
 * HAProxy's traffic log lines in TCP mode: `option tcplog`'s line per finished connection, and the
 * `Connect from …` line HAProxy logs at accept time when a proxy has log targets but no `tcplog`.
 */
import type { LbError } from '../../errors.js';
import type { ConnectionRecord } from '../../proxy/tcp-proxy.js';
import { TCPLOG_FORMAT } from '../config/log-format-syntax.js';
import { type TcplogCounts, compileLogFormat } from './log-format.js';

export type { TcplogCounts } from './log-format.js';
export { tcplogWait } from './log-format.js';

const TCPLOG = compileLogFormat(TCPLOG_FORMAT);

/**
 * `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq` (HAProxy's `option tcplog`, rendered by
 * the log-format engine), e.g. `127.0.0.1:39164 [24/Nov/2026:01:04:28.219] fe fe/<NOSRV> 3002/-1/3001 0 sQ 2/2/1/0/0 0/1`.
 * `acceptedAt` is the wall-clock time of the accept.
 */
export function formatTcplog(
  record: ConnectionRecord,
  frontend: string,
  backend: string,
  acceptedAt: Date,
  counts: TcplogCounts,
): string {
  if (!TCPLOG.ok) throw new Error(TCPLOG.message);
  return TCPLOG.format({ ...counts, record, frontend, backend, server: loggedServer(record), acceptedAt });
}

/** `Connect from 127.0.0.1:40000 to 127.0.0.1:8080 (fe/TCP)`: logged at accept by a proxy without `tcplog`. */
export function formatConnectFrom(
  client: { readonly address: string | undefined; readonly port: number | undefined },
  local: { readonly address: string | undefined; readonly port: number | undefined },
  frontend: string,
): string {
  return `Connect from ${client.address ?? '-'}:${client.port ?? 0} to ${local.address ?? '-'}:${local.port ?? 0} (${frontend}/TCP)`;
}

/** `Connect to unix:2 (fe/TCP)`: the same line for a client of a unix-socket listener (named by the listener's id). */
export function formatConnectToUnix(listenerId: number, frontend: string): string {
  return `Connect to unix:${listenerId} (${frontend}/TCP)`;
}

/**
 * The server a tcplog line names: the one the connection went to, or the one it failed on or timed out in the
 * queue of (HAProxy keeps the stream's assigned server even though the connection never got through);
 * `undefined` is `<NOSRV>`.
 */
export function loggedServer(record: ConnectionRecord): string | undefined {
  return record.server ?? failedServer(record.error);
}

function failedServer(error: Error | undefined): string | undefined {
  const details = (error as Partial<LbError> | undefined)?.details;
  const code = (error as Partial<LbError> | undefined)?.code;
  // A queue timeout names the server whose own queue it waited in (HAProxy keeps the stream's target).
  if (details === undefined || (code !== 'ERR_LB_CONNECT_FAILED' && code !== 'ERR_LB_CONNECT_TIMEOUT' && code !== 'ERR_LB_QUEUE_TIMEOUT')) return undefined;
  const name = details['server'];
  return typeof name === 'string' ? name : undefined;
}
