import { invalidArg } from '../../errors.js';
import * as v from '../../internal/validate.js';
import type { Probe } from '../probe.js';
import { type CheckScript, numberRules, runScript } from './check-script.js';
import { compileReplyText } from './reply-format.js';

/** Options of {@link pgsqlCheckProbe}: HAProxy's `option pgsql-check user <u>`. */
export interface PgsqlCheckProbeOptions {
  /** The user named in the startup message. */
  readonly user: string;
}

/** A PostgreSQL v3 StartupMessage with only `user` (HAProxy's `pgsql_req`). */
export function pgsqlStartupMessage(user: string): Buffer {
  const body = Buffer.concat([Buffer.from('00030000', 'hex'), Buffer.from('user\0', 'latin1'), Buffer.from(user, 'utf8'), Buffer.from([0, 0])]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length + 4);
  return Buffer.concat([length, body]);
}

/**
 * HAProxy's `option pgsql-check user <u>`: sends a startup message for `user` and judges the first message of the
 * reply. An authentication request or success (`R` with code 0, 2, 3, 4, 5 or 6) passes with `L7OK`, code 0,
 * `PostgreSQL server is ok` — with `trust` authentication PostgreSQL says AuthenticationOk before it looks the role
 * up, so an unknown user passes too, as in HAProxy. An error message (`E`) fails with `L7RSP` and its text from the
 * severity on (`FATAL`); anything else fails with `L7STS` `PostgreSQL unknown error`. The connection is closed in an
 * orderly way, as HAProxy's `linger` does.
 *
 * @example
 * ```ts
 * new ActiveChecker(pool, { probe: pgsqlCheckProbe({ user: 'haproxy' }) })
 * ```
 */
export function pgsqlCheckProbe(options: PgsqlCheckProbeOptions): Probe {
  const o = v.plainObject('pgsql check options', options);
  v.knownKeys('pgsql check options', o, ['user']);
  const user = v.nonEmptyString('user', o['user']);
  if (user.includes('\0')) throw invalidArg('user', 'must not contain a NUL character', user);
  const script: CheckScript = {
    protocol: true,
    rules: numberRules([
      { kind: 'connect', implicit: false, port: undefined, addr: undefined, linger: true, sendProxy: false, isDefault: true, comment: undefined },
      { kind: 'send', bytes: pgsqlStartupMessage(user), comment: undefined },
      {
        kind: 'expect', match: 'rstring', regex: /^E/, negate: true, minRecv: 5, okStatus: undefined, errorStatus: 'L7RSP',
        timeoutStatus: undefined, onSuccess: undefined, onError: compileReplyText('on-error', '%[res.payload(6,0)]'), statusCode: undefined,
        comment: undefined, describe: ' (expect regex)', what: ' (regex)',
      },
      {
        kind: 'expect', match: 'rbinary', regex: /^52000000(08|0A|0C)000000(00|02|03|04|05|06)/, negate: false, minRecv: 9, okStatus: undefined,
        errorStatus: 'L7STS', timeoutStatus: undefined, onSuccess: () => 'PostgreSQL server is ok', onError: () => 'PostgreSQL unknown error',
        statusCode: undefined, comment: undefined, describe: ' (expect binary regex)', what: ' (binary regex)',
      },
    ]),
  };
  return (_server, signal, ctx) => runScript(script, signal, ctx);
}
