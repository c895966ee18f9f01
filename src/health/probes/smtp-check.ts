import { invalidArg } from '../../errors.js';
import * as v from '../../internal/validate.js';
import type { Probe } from '../probe.js';
import { type CheckScript, type DistributiveOmit, type ScriptRule, numberRules, runScript } from './check-script.js';
import { compileReplyCode, compileReplyText } from './reply-format.js';

/** Options of {@link smtpCheckProbe}: HAProxy's `option smtpchk [HELO|EHLO <domain>]`. */
export interface SmtpCheckProbeOptions {
  /** The greeting command. @defaultValue 'HELO' */
  readonly command?: 'HELO' | 'EHLO';
  /** The domain it announces. @defaultValue 'localhost' */
  readonly domain?: string;
}

const TEXT = compileReplyText('on-error', "%[res.payload(4,0),ltrim(' '),cut_crlf]");
const CODE = compileReplyCode('status-code', 'res.payload(0,3)');

function reply(pattern: RegExp, errorStatus: 'L7RSP' | 'L7STS', last: boolean, banner: boolean): DistributiveOmit<ScriptRule, 'step'> {
  return {
    kind: 'expect', match: 'rstring', regex: pattern, negate: false, minRecv: 4, okStatus: undefined, errorStatus,
    timeoutStatus: undefined, onSuccess: last ? TEXT : undefined,
    onError: banner ? compileReplyText('on-error', '%[res.payload(0,0),cut_crlf]') : TEXT,
    statusCode: banner ? undefined : CODE, comment: undefined, describe: ' (expect regex)', what: ' (regex)',
  };
}

/**
 * HAProxy 2.6.12's `option smtpchk`: waits for the banner (`2xx`), sends `HELO localhost` (or the given command and
 * domain), wants a `2xx`, sends `QUIT`, wants a `2xx` again. Passes with `L7OK`, the QUIT reply's code and text
 * (`code: 221, info: "2.0.0 Bye"`); a banner or reply of another class fails with `L7STS`, its code and text
 * (`code: 554, info: "no service for you"`); a reply that is not SMTP fails with `L7RSP`. The connection is closed
 * in an orderly way, as HAProxy's `linger` does.
 *
 * @example
 * ```ts
 * new ActiveChecker(pool, { probe: smtpCheckProbe({ command: 'EHLO', domain: 'lb.example.com' }) })
 * ```
 */
export function smtpCheckProbe(options: SmtpCheckProbeOptions = {}): Probe {
  const o = v.plainObject('smtp check options', options);
  v.knownKeys('smtp check options', o, ['command', 'domain']);
  const command = v.oneOf('command', o['command'] ?? 'HELO', ['HELO', 'EHLO']);
  const domain = v.nonEmptyString('domain', o['domain'] ?? 'localhost');
  if (/[\r\n]/.test(domain)) throw invalidArg('domain', 'must not contain a line break', domain);
  const script: CheckScript = {
    protocol: true,
    rules: numberRules([
      { kind: 'connect', implicit: false, port: undefined, addr: undefined, linger: true, sendProxy: false, isDefault: true, comment: undefined },
      reply(/^[0-9]{3}[ \r]/, 'L7RSP', false, true),
      reply(/^2[0-9]{2}[ \r]/, 'L7STS', false, false),
      { kind: 'send', bytes: Buffer.from(`${command} ${domain}\r\n`, 'latin1'), comment: undefined },
      reply(/^2[0-9]{2}[- \r]/, 'L7STS', false, false),
      { kind: 'send', bytes: Buffer.from('QUIT\r\n', 'latin1'), comment: undefined },
      reply(/^2[0-9]{2}[- \r]/, 'L7STS', true, false),
    ]),
  };
  return (_server, signal, ctx) => runScript(script, signal, ctx);
}
