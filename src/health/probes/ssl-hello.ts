import * as v from '../../internal/validate.js';
import { invalidArg } from '../../errors.js';
import type { Probe } from '../probe.js';
import { type CheckScript, numberRules, runScript } from './check-script.js';

/** The 39 cipher suites of HAProxy's SSLv3 hello: 0x0001–0x001B, 0x002F–0x003A. */
const CIPHERS = [...Array.from({ length: 0x1b }, (_, i) => i + 1), ...Array.from({ length: 0x3a - 0x2f + 1 }, (_, i) => i + 0x2f)];

/**
 * HAProxy's SSLv3 ClientHello (`option ssl-hello-chk`): 126 bytes, the Unix time in seconds at bytes 11–14, a
 * fixed "random" of `HAPROXYSSLCHK\nHAPROXYSSLCHK\n`, no session id, 39 cipher suites, null compression.
 */
export function sslv3ClientHello(unixSeconds: number): Buffer {
  const head = Buffer.from('160300007901000075' + '0300', 'hex');
  const time = Buffer.alloc(4);
  time.writeUInt32BE(Math.floor(unixSeconds) >>> 0);
  const random = Buffer.from('HAPROXYSSLCHK\nHAPROXYSSLCHK\n', 'latin1');
  const suites = Buffer.alloc(2 + CIPHERS.length * 2);
  suites.writeUInt16BE(CIPHERS.length * 2, 0);
  CIPHERS.forEach((c, i) => suites.writeUInt16BE(c, 2 + i * 2));
  return Buffer.concat([head, time, random, Buffer.from([0x00]), suites, Buffer.from([0x01, 0x00])]);
}

/** Options of {@link sslHelloProbe}. */
export interface SslHelloProbeOptions {
  /** Wall-clock time written into the hello (its `gmt_unix_time`). @defaultValue () => new Date() */
  readonly date?: () => Date;
}

/**
 * HAProxy's `option ssl-hello-chk`: sends an SSLv3 ClientHello and passes with `L6OK` when the reply is a TLS record
 * of type handshake (0x16) or alert (0x15) — any TLS stack answers one or the other, even without a certificate
 * to offer; anything else fails with `L6RSP`, silence with `L6TOUT`. No TLS session is set up.
 *
 * @example
 * ```ts
 * new ActiveChecker(pool, { probe: sslHelloProbe() })
 * ```
 */
export function sslHelloProbe(options: SslHelloProbeOptions = {}): Probe {
  const o = v.plainObject('ssl hello probe options', options);
  v.knownKeys('ssl hello probe options', o, ['date']);
  const date = o['date'] ?? (() => new Date());
  if (typeof date !== 'function') throw invalidArg('date', 'must be a function returning a Date', date);
  return (_server, signal, ctx) => {
    const script: CheckScript = {
      protocol: true,
      rules: numberRules([
        { kind: 'send', bytes: () => sslv3ClientHello((date as () => Date)().getTime() / 1000), comment: undefined },
        {
          kind: 'expect', match: 'rbinary', regex: /^1[56]/, negate: false, minRecv: 5, okStatus: 'L6OK', errorStatus: 'L6RSP',
          timeoutStatus: 'L6TOUT', onSuccess: undefined, onError: undefined, statusCode: undefined, comment: undefined,
          describe: ' (expect binary regex)', what: ' (binary regex)',
        },
      ]),
    };
    return runScript(script, signal, ctx);
  };
}
