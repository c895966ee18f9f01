import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Clock } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import { dnsError } from './dns-error.js';
import { type DnsMessage, MalformedDnsMessage, decodeMessage, encodeQuery } from './dns-message.js';

/** @internal A name server: address and port. */
export interface NameServer {
  readonly address: string;
  readonly port: number;
}

/** @internal Parses `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:53` as node:dns `setServers` does. */
export function parseNameServer(text: string): NameServer {
  let m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (m && net.isIPv6(m[1]!)) return { address: m[1]!, port: port(text, m[2]) };
  if (net.isIPv6(text)) return { address: text, port: 53 };
  m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (m && net.isIPv4(m[1]!)) return { address: m[1]!, port: port(text, m[2]) };
  throw invalidArg('servers', "must hold IP addresses such as '127.0.0.1', '127.0.0.1:5353' or '[::1]:53'", text);
}

function port(text: string, digits: string | undefined): number {
  if (digits === undefined) return 53;
  const p = Number(digits);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArg('servers', 'must use ports from 1 to 65535', text);
  return p;
}

const RCODE_FAILURE = { 1: 'malformed', 2: 'servfail', 3: 'nxdomain', 5: 'refused' } as const;

/**
 * @internal Asks one question over UDP, to each server in turn until one answers: a clock-driven timeout per
 * server, a random query id, answers accepted only from the server asked, with the same id and question.
 * Resolves with the decoded answer (rcode 0, not truncated); rejects with an LbError otherwise.
 */
export async function queryUdp(
  servers: readonly NameServer[],
  name: string,
  type: number,
  typeName: string,
  timeoutMs: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<DnsMessage> {
  let lastError: LbError | undefined;
  for (const server of servers) {
    try {
      return await queryOne(server, name, type, typeName, timeoutMs, clock, signal);
    } catch (err) {
      if (!LbError.is(err) || err.code === 'ERR_LB_ABORTED' || err.details['reason'] === 'nxdomain') throw err;
      lastError = err;
    }
  }
  throw lastError ?? dnsError('error', name, typeName, 'no name server to ask');
}

function queryOne(
  server: NameServer,
  name: string,
  type: number,
  typeName: string,
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<DnsMessage> {
  if (signal?.aborted) return Promise.reject(new LbError('ERR_LB_ABORTED', `DNS ${typeName} ${name} was aborted`, { cause: signal.reason }));
  const id = randomInt(0, 0x10000);
  const query = encodeQuery(id, name, type);
  const wanted = name.replace(/\.$/, '').toLowerCase();
  return new Promise<DnsMessage>((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.address) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (err: LbError | undefined, message?: DnsMessage): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(message!);
    };
    const onAbort = (): void =>
      finish(new LbError('ERR_LB_ABORTED', `DNS ${typeName} ${name} was aborted`, { cause: signal?.reason }));
    const timer = clock.setTimeout(
      () => finish(dnsError('timeout', name, typeName, `no answer from ${server.address}:${server.port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(dnsError('error', name, typeName, `socket error: ${err.message}`, err)));
    socket.on('message', (packet, rinfo) => {
      // Anything not from the server asked, or not for this query, is ignored: it could be spoofed or stale.
      if (rinfo.port !== server.port || rinfo.address !== server.address) return;
      if (packet.length < 2 || packet.readUInt16BE(0) !== id) return;
      let message: DnsMessage;
      try {
        message = decodeMessage(packet);
      } catch (err) {
        // Whatever a hostile packet makes the decoder throw ends this query, never the process.
        const why = err instanceof MalformedDnsMessage ? err.message : String(err);
        finish(dnsError('malformed', name, typeName, `malformed answer from ${server.address}:${server.port}: ${why}`, err));
        return;
      }
      const q = message.questions[0];
      if (!message.response || message.questions.length !== 1 || q?.name !== wanted || q.type !== type) {
        finish(dnsError('malformed', name, typeName, `answer from ${server.address}:${server.port} does not match the question`));
        return;
      }
      if (message.truncated) {
        finish(dnsError('truncated', name, typeName, 'the answer was truncated (too large for UDP)'));
        return;
      }
      if (message.rcode !== 0) {
        const reason = RCODE_FAILURE[message.rcode as keyof typeof RCODE_FAILURE] ?? 'error';
        finish(dnsError(reason, name, typeName, `${server.address}:${server.port} answered rcode ${message.rcode} (${reason})`));
        return;
      }
      finish(undefined, message);
    });
    socket.unref();
    socket.send(query, server.port, server.address, (err) => {
      if (err) finish(dnsError('error', name, typeName, `could not send the query: ${err.message}`, err));
    });
  });
}
