import type { CheckResult } from '../../state/check-result.js';
import type { ProbeContext } from '../probe.js';
import { ProbeSocket } from './probe-socket.js';
import { connectionErrorResult } from './socket-errors.js';

/** Longest reply line read from an agent (HAProxy's check buffer). */
const MAX_LINE = 16_384;

/**
 * @internal HAProxy's agent protocol over TCP: connects to `ctx.host:ctx.port`, sends `send` when given, and reads
 * one line ended by CR or LF. Resolves with the line (without its end); with the failure when the connection
 * fails (`L4CON` `Connection refused`…); with `undefined` when the agent closed before ending its line. The
 * deadline results are HAProxy's: `L4TOUT` while connecting, `L7TOUT` while waiting for the line, without info.
 */
export async function readAgentLine(ctx: ProbeContext, signal: AbortSignal, send: string | undefined): Promise<string | CheckResult | undefined> {
  ctx.setTimeoutResult({ status: 'L4TOUT' });
  let socket: ProbeSocket;
  try {
    socket = await ProbeSocket.connect(ctx.host, ctx.port, signal);
  } catch (err) {
    return connectionErrorResult(err);
  }
  try {
    ctx.connected();
    ctx.setTimeoutResult({ status: 'L7TOUT' });
    if (send !== undefined && send !== '') socket.write(Buffer.from(send, 'latin1'));
    for (;;) {
      const data = socket.received;
      const cr = data.indexOf(0x0d);
      const lf = data.indexOf(0x0a);
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (end >= 0) return data.subarray(0, end).toString('latin1');
      if (socket.ended || data.length >= MAX_LINE) return undefined;
      await socket.more();
    }
  } finally {
    socket.close();
  }
}
