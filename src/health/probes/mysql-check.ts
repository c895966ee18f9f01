import { invalidArg } from '../../errors.js';
import * as v from '../../internal/validate.js';
import type { Probe } from '../probe.js';
import { type CheckScript, type CustomVerdict, type DistributiveOmit, type ScriptRule, numberRules, runScript } from './check-script.js';

/** Options of {@link mysqlCheckProbe}: HAProxy's `option mysql-check [user <u> [post-41|pre-41]]`. */
export interface MysqlCheckProbeOptions {
  /**
   * Log in as this user (no password) and quit. Unset, the check only reads the server's greeting and leaves,
   * which MySQL and MariaDB count as an aborted connection. @defaultValue undefined
   */
  readonly user?: string;
  /** Client protocol of the login packet: `post-41` (MySQL 4.1 and later) or `pre-41`. @defaultValue 'post-41' */
  readonly protocol?: 'post-41' | 'pre-41';
}

/**
 * HAProxy's login packet followed by COM_QUIT (`proxy_parse_mysql_check_opt()`): capabilities, max packet, the
 * user name, no password.
 */
export function mysqlLoginPacket(user: string, protocol: 'post-41' | 'pre-41'): Buffer {
  const name = Buffer.concat([Buffer.from(user, 'utf8'), Buffer.from([0])]);
  const body = protocol === 'post-41'
    ? Buffer.concat([Buffer.from('0082000000800001' + '21', 'hex'), Buffer.alloc(23), name, Buffer.from([0])])
    : Buffer.concat([Buffer.from('0080000001', 'hex'), name, Buffer.from([0])]);
  const header = Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, (body.length >> 16) & 0xff, 1]);
  return Buffer.concat([header, body, Buffer.from('0100000001', 'hex')]);
}

/**
 * One MySQL packet at `offset` (HAProxy `tcpcheck_mysql_expect_packet()`): wait until it is whole; an error packet
 * (0xff) fails with `L7STS`, its error code, and its text from the SQL state on (`#28000Access denied …`).
 */
function packetAt(reply: Buffer, offset: number, last: boolean): CustomVerdict {
  const truncated: CustomVerdict = last ? { status: 'L7RSP' } : 'wait';
  if (reply.length < offset + 4) return truncated;
  const length = reply[offset]! | (reply[offset + 1]! << 8) | (reply[offset + 2]! << 16);
  if (reply.length < offset + length + 4) return truncated;
  if (reply[offset + 4] === 0xff) {
    const code = (reply[offset + 5] ?? 0) | ((reply[offset + 6] ?? 0) << 8);
    const text = reply.subarray(offset + 7);
    const nul = text.indexOf(0);
    return { status: 'L7STS', code, info: (nul < 0 ? text : text.subarray(0, nul)).toString('latin1') };
  }
  return 'continue';
}

const greeting = (reply: Buffer, last: boolean): CustomVerdict => packetAt(reply, 0, last);
const loginReply = (reply: Buffer, last: boolean): CustomVerdict => {
  const first = reply.length < 3 ? 0 : reply[0]! | (reply[1]! << 8) | (reply[2]! << 16);
  return packetAt(reply, 4 + first, last);
};

function customExpect(custom: (reply: Buffer, last: boolean) => CustomVerdict): DistributiveOmit<ScriptRule, 'step'> {
  return {
    kind: 'expect', match: 'custom', custom, negate: false, minRecv: undefined, okStatus: undefined, errorStatus: undefined,
    timeoutStatus: undefined, onSuccess: undefined, onError: undefined, statusCode: undefined, comment: undefined,
    describe: ' (expect custom function)', what: ' (custom function)',
  };
}

/**
 * HAProxy's `option mysql-check`. Without `user`: reads the server's greeting (`L7OK`, code 0, or `L7STS` with the
 * server's error, e.g. `1129` "Host … is blocked"). With `user`: sends a login packet for that user without a
 * password and COM_QUIT at once, then wants the greeting and an OK packet: `L7OK`, code 0, or `L7STS` with the
 * error code and text (`code: 1045, info: "#28000Access denied for user 'nosuch'@'localhost' (using password: NO)"`).
 * A server that closes without a reply fails with `L7RSP` `TCPCHK got an empty response at step 3`. The connection
 * is closed in an orderly way, as HAProxy's `linger` does.
 *
 * @example
 * ```ts
 * // CREATE USER 'haproxy'@'10.0.0.%'; (no password, no privileges)
 * new ActiveChecker(pool, { probe: mysqlCheckProbe({ user: 'haproxy' }) })
 * ```
 */
export function mysqlCheckProbe(options: MysqlCheckProbeOptions = {}): Probe {
  const o = v.plainObject('mysql check options', options);
  v.knownKeys('mysql check options', o, ['user', 'protocol']);
  const user = o['user'] === undefined ? undefined : v.nonEmptyString('user', o['user']);
  const protocol = v.oneOf('protocol', o['protocol'] ?? 'post-41', ['post-41', 'pre-41']);
  if (user !== undefined && Buffer.byteLength(user) > 200) throw invalidArg('user', 'must be at most 200 bytes', user);
  const rules: DistributiveOmit<ScriptRule, 'step'>[] = [
    { kind: 'connect', implicit: false, port: undefined, addr: undefined, linger: true, sendProxy: false, isDefault: true, comment: undefined },
  ];
  if (user !== undefined) rules.push({ kind: 'send', bytes: mysqlLoginPacket(user, protocol), comment: undefined });
  rules.push(customExpect(greeting));
  if (user !== undefined) rules.push(customExpect(loginReply));
  const script: CheckScript = { protocol: true, rules: numberRules(rules) };
  return (_server, signal, ctx) => runScript(script, signal, ctx);
}
