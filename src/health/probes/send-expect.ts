import { invalidArg } from '../../errors.js';
import * as v from '../../internal/validate.js';
import type { Probe } from '../probe.js';
import { type CheckScript, type DistributiveOmit, type ScriptExpect, type ScriptRule, numberRules, runScript } from './check-script.js';
import { type ReplyText, compileReplyCode, compileReplyText } from './reply-format.js';

/**
 * One step of a send/expect script: HAProxy's `tcp-check connect [port p] [addr a] [send-proxy] [linger]`,
 * `tcp-check send`, `tcp-check send-binary`, `tcp-check expect [min-recv n] [!] string|rstring|binary|rbinary
 * <pattern> [ok-status|error-status|tout-status <st>] [on-success|on-error <fmt>] [status-code <expr>]`,
 * `tcp-check comment`. Every step but `comment` takes a `comment` of its own; a `comment` step gives its text to the
 * next step that has none, and counts as a step.
 */
export type SendExpectStep =
  | {
      readonly kind: 'connect';
      readonly port?: number;
      readonly addr?: string;
      /** Send a PROXY protocol v1 header first (`send-proxy`). @defaultValue false */
      readonly sendProxy?: boolean;
      /** Close with a FIN after the check instead of a reset (`linger`). @defaultValue false */
      readonly linger?: boolean;
      readonly comment?: string;
    }
  /** Text is sent as UTF-8; bytes as they are. */
  | { readonly kind: 'send'; readonly data: string | Uint8Array; readonly comment?: string }
  | { readonly kind: 'send-binary'; readonly hex: string; readonly comment?: string }
  | { readonly kind: 'comment'; readonly text: string }
  | {
      readonly kind: 'expect';
      /** `string`: the bytes appear; `rstring`: the regex matches the text; `binary`: the hex bytes appear; `rbinary`: the regex matches the upper-case hex dump. */
      readonly match: 'string' | 'rstring' | 'binary' | 'rbinary';
      readonly pattern: string;
      /** HAProxy's `!`: the check fails when the pattern is found. @defaultValue false */
      readonly negate?: boolean;
      /**
       * Bytes to wait for before judging (HAProxy `min-recv`). Unset, a mismatch waits for more data until the
       * server closes or the check times out; `string`/`binary` always wait for at least the pattern's length.
       */
      readonly minRecv?: number;
      /** Status when the whole script passes on this step (`ok-status`: L7OK, L7OKC, L6OK, L4OK). @defaultValue 'L7OK' */
      readonly okStatus?: 'L7OK' | 'L7OKC' | 'L6OK' | 'L4OK';
      /** Status when this step fails (`error-status`: L7RSP, L7STS, L7OKC, L6RSP, L4CON). @defaultValue 'L7RSP' */
      readonly errorStatus?: 'L7RSP' | 'L7STS' | 'L7OKC' | 'L6RSP' | 'L4CON';
      /** Status when the deadline passes on this step (`tout-status`: L7TOUT, L6TOUT, L4TOUT). @defaultValue 'L7TOUT' */
      readonly timeoutStatus?: 'L7TOUT' | 'L6TOUT' | 'L4TOUT';
      /** Info of a pass ending on this step (`on-success`): text with `%[res.payload(o,l),cut_crlf]`-style samples. @defaultValue '(tcp-check)' */
      readonly onSuccess?: string;
      /** Info of a failure of this step (`on-error`), same language. @defaultValue HAProxy's `TCPCHK did not match content …` */
      readonly onError?: string;
      /** Check code from the reply (`status-code`), e.g. `res.payload(0,3)`. @defaultValue 0 */
      readonly statusCode?: string;
      readonly comment?: string;
    };

const STEP_KEYS: Readonly<Record<SendExpectStep['kind'], readonly string[]>> = {
  connect: ['kind', 'port', 'addr', 'sendProxy', 'linger', 'comment'],
  send: ['kind', 'data', 'comment'],
  'send-binary': ['kind', 'hex', 'comment'],
  comment: ['kind', 'text'],
  expect: ['kind', 'match', 'pattern', 'negate', 'minRecv', 'okStatus', 'errorStatus', 'timeoutStatus', 'onSuccess', 'onError', 'statusCode', 'comment'],
};

/**
 * HAProxy's `option tcp-check` with its rules: connect (implicitly first unless the script starts with a
 * `connect` step), send, expect, in order. Passes with `L7OK`, code 0, info `(tcp-check)`; a reply that does not
 * match fails with `L7RSP` and HAProxy's text (`TCPCHK did not match content '+PONG' at step 2`); a silent server
 * fails with `L7TOUT` when the deadline passes; connection failures give `L4CON`/`L4TOUT`. Steps are numbered
 * from 1, the implicit connect not counted. The receive buffer is emptied before each `send`.
 *
 * @example
 * ```ts
 * // redis: PING → +PONG
 * const probe = sendExpectProbe([
 *   { kind: 'send', data: 'PING\r\n' },
 *   { kind: 'expect', match: 'string', pattern: '+PONG' },
 * ])
 * ```
 */
export function sendExpectProbe(steps: readonly SendExpectStep[]): Probe {
  const script: CheckScript = { rules: compile(steps), protocol: false };
  return (_server, signal, ctx) => runScript(script, signal, ctx);
}

function compile(steps: readonly SendExpectStep[]): ScriptRule[] {
  if (!Array.isArray(steps) || steps.length === 0) throw invalidArg('steps', 'must be a non-empty array of send/expect steps', steps);
  const rules = steps.map((raw, i): DistributiveOmit<ScriptRule, 'step'> => {
    const field = `steps[${i}]`;
    const o = v.plainObject(field, raw);
    const kind = v.oneOf(`${field}.kind`, o['kind'], ['connect', 'send', 'send-binary', 'comment', 'expect']);
    v.knownKeys(field, o, STEP_KEYS[kind]);
    if (kind === 'comment') return { kind, text: v.nonEmptyString(`${field}.text`, o['text']) };
    const comment = o['comment'] === undefined ? undefined : v.nonEmptyString(`${field}.comment`, o['comment']);
    if (kind === 'connect') {
      const port = o['port'] === undefined ? undefined : v.integerInRange(`${field}.port`, o['port'], 1, 65535);
      const addr = o['addr'] === undefined ? undefined : v.nonEmptyString(`${field}.addr`, o['addr']);
      const sendProxy = v.boolean(`${field}.sendProxy`, o['sendProxy'] ?? false);
      const linger = v.boolean(`${field}.linger`, o['linger'] ?? false);
      return { kind, implicit: false, port, addr, sendProxy, linger, comment };
    }
    if (kind === 'send') {
      const data = o['data'];
      if (typeof data === 'string') return { kind, bytes: Buffer.from(data, 'utf8'), comment };
      if (data instanceof Uint8Array) return { kind, bytes: Buffer.from(data), comment };
      throw invalidArg(`${field}.data`, 'must be a string or a Uint8Array', data);
    }
    if (kind === 'send-binary') return { kind: 'send', bytes: hexBytes(`${field}.hex`, o['hex']), comment };
    return compileExpect(field, o, comment);
  });
  return numberRules(rules);
}

function compileExpect(field: string, o: Record<string, unknown>, comment: string | undefined): DistributiveOmit<ScriptExpect, 'step'> {
  const match = v.oneOf(`${field}.match`, o['match'], ['string', 'rstring', 'binary', 'rbinary']);
  const pattern = o['pattern'];
  if (typeof pattern !== 'string' || pattern.length === 0) throw invalidArg(`${field}.pattern`, 'must be a non-empty string', pattern);
  const negate = v.boolean(`${field}.negate`, o['negate'] ?? false);
  const minRecv = o['minRecv'] === undefined ? undefined : v.nonNegativeInteger(`${field}.minRecv`, o['minRecv']);
  const okStatus = o['okStatus'] === undefined ? undefined : v.oneOf(`${field}.okStatus`, o['okStatus'], ['L7OK', 'L7OKC', 'L6OK', 'L4OK']);
  const errorStatus = o['errorStatus'] === undefined ? undefined : v.oneOf(`${field}.errorStatus`, o['errorStatus'], ['L7RSP', 'L7STS', 'L7OKC', 'L6RSP', 'L4CON']);
  const timeoutStatus = o['timeoutStatus'] === undefined ? undefined : v.oneOf(`${field}.timeoutStatus`, o['timeoutStatus'], ['L7TOUT', 'L6TOUT', 'L4TOUT']);
  const text = (key: string): ReplyText | undefined => {
    const value = o[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalidArg(`${field}.${key}`, 'must be a string', value);
    return compileReplyText(`${field}.${key}`, value);
  };
  const onSuccess = text('onSuccess');
  const onError = text('onError');
  const statusCode = o['statusCode'] === undefined ? undefined : compileReplyCode(`${field}.statusCode`, v.nonEmptyString(`${field}.statusCode`, o['statusCode']));
  let bytes: Buffer | undefined;
  let regex: RegExp | undefined;
  let describe: string;
  let what: string;
  if (match === 'string') {
    bytes = Buffer.from(pattern, 'utf8');
    describe = ` (expect string '${pattern}')`;
    what = ` '${pattern}'`;
  } else if (match === 'binary') {
    bytes = hexBytes(`${field}.pattern`, pattern);
    describe = ` (expect binary '${bytes.toString('hex').toUpperCase()}')`;
    what = ' (binary)';
  } else {
    try {
      regex = new RegExp(pattern);
    } catch (err) {
      throw invalidArg(`${field}.pattern`, `must be a valid regular expression (${(err as Error).message})`, pattern);
    }
    describe = match === 'rstring' ? ' (expect regex)' : ' (expect binary regex)';
    what = match === 'rstring' ? ' (regex)' : ' (binary regex)';
  }
  return {
    kind: 'expect', match, ...(bytes === undefined ? {} : { bytes }), ...(regex === undefined ? {} : { regex }), negate, minRecv,
    okStatus, errorStatus, timeoutStatus, onSuccess, onError, statusCode, comment, describe, what,
  };
}

/** Bytes from an even number of hex digits; throws naming `field` otherwise. */
export function hexBytes(field: string, value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0 || value.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(value)) {
    throw invalidArg(field, 'must be an even number of hexadecimal digits', value);
  }
  return Buffer.from(value, 'hex');
}
