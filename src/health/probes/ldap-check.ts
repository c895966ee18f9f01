import type { Probe } from '../probe.js';
import { type CheckScript, type CustomVerdict, numberRules, runScript } from './check-script.js';

/** An anonymous LDAPv3 BindRequest, message id 1. */
const BIND_REQUEST = Buffer.from('300c020101600702010304008000', 'hex');

/**
 * HAProxy's bind response parse (`tcpcheck_ldap_expect_bindrsp()`): message id 1, a bindResponse, an ENUMERATED
 * resultCode; 0 passes, anything else is `L7STS` with the code.
 */
function bindResponse(reply: Buffer): CustomVerdict {
  const notLdap: CustomVerdict = { status: 'L7RSP', info: 'Not LDAPv3 protocol' };
  const at = (i: number): number => reply[i] ?? -1;
  let len = at(1) & 0x80 ? at(1) & 0x7f : 0;
  if (len > 2 || !reply.subarray(2 + len, 6 + len).equals(Buffer.from([0x02, 0x01, 0x01, 0x61]))) return notLdap;
  len += at(len + 6) & 0x80 ? at(len + 6) & 0x7f : 0;
  if (len > 4 || !reply.subarray(7 + len, 9 + len).equals(Buffer.from([0x0a, 0x01]))) return notLdap;
  const code = at(len + 9);
  if (code === 0) return 'continue';
  return { status: 'L7STS', code: Math.max(0, code), info: 'See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9' };
}

const SCRIPT: CheckScript = {
  protocol: true,
  rules: numberRules([
    { kind: 'send', bytes: BIND_REQUEST, comment: undefined },
    {
      kind: 'expect', match: 'rbinary', regex: /^30/, negate: false, minRecv: 14, okStatus: undefined, errorStatus: undefined,
      timeoutStatus: undefined, onSuccess: undefined, onError: () => 'Not LDAPv3 protocol', statusCode: undefined, comment: undefined,
      describe: ' (expect binary regex)', what: ' (binary regex)',
    },
    {
      kind: 'expect', match: 'custom', custom: bindResponse, negate: false, minRecv: undefined, okStatus: undefined, errorStatus: undefined,
      timeoutStatus: undefined, onSuccess: undefined, onError: undefined, statusCode: undefined, comment: undefined,
      describe: ' (expect custom function)', what: ' (custom function)',
    },
  ]),
};

/**
 * HAProxy's `option ldap-check`: an anonymous LDAPv3 bind. Passes with `L7OK`, code 0 when the server answers with
 * resultCode 0 (success); another resultCode fails with `L7STS`, that code and
 * `See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9`; a reply that is not an LDAP bind response fails with
 * `L7RSP` `Not LDAPv3 protocol`.
 *
 * @example
 * ```ts
 * new ActiveChecker(pool, { probe: ldapCheckProbe() })
 * ```
 */
export function ldapCheckProbe(): Probe {
  return (_server, signal, ctx) => runScript(SCRIPT, signal, ctx);
}
