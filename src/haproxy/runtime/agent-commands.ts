/**
 * `set server <b>/<s> agent up|down`, `agent-addr <addr> [port <p>]`, `agent-port <p>`, `agent-send <text>`, with
 * HAProxy 2.6's replies (recorded from `haproxy` 2.6.12). Each returns the output without the final empty line.
 */
import type { Server } from '../../server.js';
import type { HaproxyBackend } from '../build/instance.js';
import { isHostLike } from '../config/address.js';

const NOT_ENABLED = 'agent checks are not enabled on this server';

/** One `set server … agent*` command; `what` is `agent`, `agent-addr`, `agent-port` or `agent-send`. */
export function setServerAgent(b: HaproxyBackend, s: Server, what: string, args: readonly string[]): string {
  const value = args[0];
  const agent = b.agent;
  switch (what) {
    case 'agent':
      if (!s.agentEnabled) return `${NOT_ENABLED}.\n`;
      if (value !== 'up' && value !== 'down') return "'set server <srv> agent' expects 'up' or 'down'.\n";
      b.pool.reportAgent(s, { force: value });
      return '';
    case 'agent-addr': {
      if (value === undefined || value === '') return 'set server <b>/<s> agent-addr requires an address and optionally a port.\n';
      if (!s.agentEnabled || agent === undefined) return NOT_ENABLED;
      if (!isHostLike(value)) return `invalid addr '${value}'`;
      const port = args[1] === 'port' ? portOf(args[2]) : undefined;
      if (typeof port === 'string') return port;
      agent.setServer(s.name, { addr: value, ...(port === undefined ? {} : { port }) });
      return '';
    }
    case 'agent-port': {
      if (value === undefined || value === '') return 'set server <b>/<s> agent-port requires a port.\n';
      if (!s.agentEnabled || agent === undefined) return NOT_ENABLED;
      const port = portOf(value);
      if (typeof port === 'string') return port;
      agent.setServer(s.name, { port });
      return '';
    }
    default:
      // agent-send
      if (!s.agentEnabled || agent === undefined) return `${NOT_ENABLED}.\n`;
      agent.setServer(s.name, { send: args.join(' ') });
      return '';
  }
}

function portOf(text: string | undefined): number | string {
  if (text === undefined || !/^-?\d+$/.test(text)) return 'provided port is not an integer';
  const port = Number(text);
  return port < 1 || port > 65535 ? 'provided port is invalid' : port;
}
