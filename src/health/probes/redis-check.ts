import type { Probe } from '../probe.js';
import { type CheckScript, numberRules, runScript } from './check-script.js';
import { compileReplyText } from './reply-format.js';

const SCRIPT: CheckScript = {
  protocol: true,
  rules: numberRules([
    { kind: 'send', bytes: Buffer.from('*1\r\n$4\r\nPING\r\n', 'latin1'), comment: undefined },
    {
      kind: 'expect', match: 'string', bytes: Buffer.from('+PONG\r\n', 'latin1'), negate: false, minRecv: undefined,
      okStatus: undefined, errorStatus: 'L7STS', timeoutStatus: undefined,
      onSuccess: () => 'Redis server is ok', onError: compileReplyText('on-error', '%[res.payload(0,0),cut_crlf]'),
      statusCode: undefined, comment: undefined, describe: " (expect string '+PONG\r\n')", what: " '+PONG\r\n'",
    },
  ]),
};

/**
 * HAProxy's `option redis-check`: sends `PING` as a RESP array and wants `+PONG`. Passes with `L7OK`, code 0,
 * `Redis server is ok`; another reply followed by a close fails with `L7STS` and the reply's first line
 * (`-ERR unknown command`); a reply that is not `+PONG` on a connection kept open (`-NOAUTH …` from a server with
 * `requirepass`) waits for more and fails with `L7TOUT` at the deadline, as in HAProxy.
 *
 * @example
 * ```ts
 * new ActiveChecker(pool, { probe: redisCheckProbe() })
 * ```
 */
export function redisCheckProbe(): Probe {
  return (_server, signal, ctx) => runScript(SCRIPT, signal, ctx);
}
