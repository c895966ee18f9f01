import { invalidArg } from '../../errors.js';
import * as v from '../../internal/validate.js';
import type { CheckResult } from '../../state/check-result.js';
import type { Probe, ProbeContext } from '../probe.js';
import { ProbeSocket } from './probe-socket.js';
import { connectionErrorResult } from './socket-errors.js';

/**
 * One step of a send/expect script: HAProxy's `tcp-check connect [port p] [addr a]`, `tcp-check send`,
 * `tcp-check send-binary`, `tcp-check expect [min-recv n] [!] string|rstring|binary|rbinary <pattern>`,
 * `tcp-check comment <text>`. A step's `comment` ends the info text of its failure (HAProxy: ` comment: <text>`
 * after a mismatch, ` comment: '<text>'` after a connection error, a timeout or an empty response).
 */
export type SendExpectStep =
  | { readonly kind: 'connect'; readonly port?: number; readonly addr?: string; readonly comment?: string }
  /** Text is sent as UTF-8; bytes as they are. */
  | { readonly kind: 'send'; readonly data: string | Uint8Array; readonly comment?: string }
  | { readonly kind: 'send-binary'; readonly hex: string; readonly comment?: string }
  /**
   * HAProxy's `tcp-check comment`: counts as a step (the steps after it are numbered one higher) and is the
   * comment of the steps that follow it, up to the first connect or the first step of another kind, unless they
   * have their own (`src/tcpcheck.c`).
   */
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
       * server closes or the check times out, and `string`/`binary` wait for at least the pattern's length.
       */
      readonly minRecv?: number;
      readonly comment?: string;
    };

interface CompiledExpect {
  readonly step: number;
  readonly match: 'string' | 'rstring' | 'binary' | 'rbinary';
  readonly bytes: Buffer | undefined;
  readonly regex: RegExp | undefined;
  readonly negate: boolean;
  readonly minRecv: number | undefined;
  /** ` (expect string '+PONG')`: the step comment of timeout messages. */
  readonly comment: string;
  /** `'+PONG'`, ` (binary)`, ` (regex)`: what mismatch messages say about the pattern. */
  readonly what: string;
  /** The step's comment, or undefined. */
  readonly note: string | undefined;
}

type Compiled =
  | { readonly kind: 'connect'; readonly step: number; readonly port: number | undefined; readonly addr: string | undefined; readonly comment: string }
  | { readonly kind: 'send'; readonly step: number; readonly bytes: Buffer }
  | ({ readonly kind: 'expect' } & CompiledExpect);

const STEP_KEYS: Readonly<Record<SendExpectStep['kind'], readonly string[]>> = {
  connect: ['kind', 'port', 'addr', 'comment'],
  send: ['kind', 'data', 'comment'],
  'send-binary': ['kind', 'hex', 'comment'],
  comment: ['kind', 'text'],
  expect: ['kind', 'match', 'pattern', 'negate', 'minRecv', 'comment'],
};

/** ` comment: '<text>'`, HAProxy's suffix of connection errors, timeouts and empty responses; '' without one. */
const quoted = (note: string | undefined): string => (note === undefined ? '' : ` comment: '${note}'`);

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
  const script = compile(steps);
  return (_server, signal, ctx) => run(script, signal, ctx);
}

function compile(steps: readonly SendExpectStep[]): readonly Compiled[] {
  if (!Array.isArray(steps) || steps.length === 0) throw invalidArg('steps', 'must be a non-empty array of send/expect steps', steps);
  const out: Compiled[] = [];
  // HAProxy's post-parse pass: a comment rule gives its text to the following rules while they are of one kind
  // (a connect takes it and ends it).
  let carried: string | undefined;
  let previous: string | undefined;
  steps.forEach((raw, i) => {
    const field = `steps[${i}]`;
    const o = v.plainObject(field, raw);
    const kind = v.oneOf(`${field}.kind`, o['kind'], ['connect', 'send', 'send-binary', 'comment', 'expect']);
    v.knownKeys(field, o, STEP_KEYS[kind]);
    const action = kind === 'send-binary' ? 'send' : kind;
    if (action !== previous && previous !== 'comment') carried = undefined;
    previous = action;
    if (kind === 'comment') {
      carried = v.nonEmptyString(`${field}.text`, o['text']);
      return;
    }
    const own = o['comment'] === undefined ? undefined : v.nonEmptyString(`${field}.comment`, o['comment']);
    out.push(compileStep(kind, o, field, i + 1, own ?? carried));
    if (kind === 'connect') carried = undefined;
  });
  return out;
}

function compileStep(kind: Exclude<SendExpectStep['kind'], 'comment'>, o: Record<string, unknown>, field: string, step: number, note: string | undefined): Compiled {
  if (kind === 'connect') {
    const port = o['port'] === undefined ? undefined : v.integerInRange(`${field}.port`, o['port'], 1, 65535);
    const addr = o['addr'] === undefined ? undefined : v.nonEmptyString(`${field}.addr`, o['addr']);
    const comment = ` (connect${port === undefined ? '' : ` port ${port}`})${quoted(note)}`;
    return { kind, step, port, addr, comment };
  }
  if (kind === 'send') {
    const data = o['data'];
    if (typeof data === 'string') return { kind, step, bytes: Buffer.from(data, 'utf8') };
    if (data instanceof Uint8Array) return { kind, step, bytes: Buffer.from(data) };
    throw invalidArg(`${field}.data`, 'must be a string or a Uint8Array', data);
  }
  if (kind === 'send-binary') return { kind: 'send', step, bytes: hexBytes(`${field}.hex`, o['hex']) };
  const match = v.oneOf(`${field}.match`, o['match'], ['string', 'rstring', 'binary', 'rbinary']);
  const pattern = o['pattern'];
  if (typeof pattern !== 'string' || pattern.length === 0) throw invalidArg(`${field}.pattern`, 'must be a non-empty string', pattern);
  const negate = v.boolean(`${field}.negate`, o['negate'] ?? false);
  const minRecv = o['minRecv'] === undefined ? undefined : v.nonNegativeInteger(`${field}.minRecv`, o['minRecv']);
  let bytes: Buffer | undefined;
  let regex: RegExp | undefined;
  let comment: string;
  let what: string;
  if (match === 'string') {
    bytes = Buffer.from(pattern, 'utf8');
    comment = ` (expect string '${pattern}')`;
    what = ` '${pattern}'`;
  } else if (match === 'binary') {
    bytes = hexBytes(`${field}.pattern`, pattern);
    comment = ` (expect binary '${bytes.toString('hex').toUpperCase()}')`;
    what = ' (binary)';
  } else {
    try {
      regex = new RegExp(pattern);
    } catch (err) {
      throw invalidArg(`${field}.pattern`, `must be a valid regular expression (${(err as Error).message})`, pattern);
    }
    comment = match === 'rstring' ? ' (expect regex)' : ' (expect binary regex)';
    what = match === 'rstring' ? ' (regex)' : ' (binary regex)';
  }
  return { kind: 'expect', step, match, bytes, regex, negate, minRecv, comment: comment + quoted(note), what, note };
}

function hexBytes(field: string, value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0 || value.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(value)) {
    throw invalidArg(field, 'must be an even number of hexadecimal digits', value);
  }
  return Buffer.from(value, 'hex');
}

const at = (step: number, comment: string): string => ` at step ${step} of tcp-check${comment}`;

async function run(script: readonly Compiled[], signal: AbortSignal, ctx: ProbeContext): Promise<CheckResult> {
  let socket: ProbeSocket | undefined;
  let announced = false;
  const connect = async (host: string, port: number, suffix: string, tout: CheckResult): Promise<CheckResult | undefined> => {
    socket?.close();
    socket = undefined;
    ctx.setTimeoutResult(tout);
    try {
      socket = await ProbeSocket.connect(host, port, signal);
    } catch (err) {
      return connectionErrorResult(err, suffix);
    }
    if (!announced) {
      announced = true;
      ctx.connected();
    }
    return undefined;
  };
  try {
    if (script[0]?.kind !== 'connect') {
      const failed = await connect(ctx.host, ctx.port, '', { status: 'L4TOUT' });
      if (failed) return failed;
    }
    for (const rule of script) {
      if (rule.kind === 'connect') {
        const suffix = at(rule.step, rule.comment);
        const failed = await connect(rule.addr ?? ctx.host, rule.port ?? ctx.port, suffix, { status: 'L4TOUT', info: suffix });
        if (failed) return failed;
      } else if (rule.kind === 'send') {
        socket!.clear();
        socket!.write(rule.bytes);
      } else {
        const result = await expect(socket!, rule, ctx);
        if (result) return result;
      }
    }
    return { status: 'L7OK', code: 0, info: '(tcp-check)' };
  } finally {
    socket?.close();
  }
}

/** Waits until the rule can be judged (HAProxy `tcpcheck_eval_expect()`); a failure result, or undefined to go on. */
async function expect(socket: ProbeSocket, rule: CompiledExpect, ctx: ProbeContext): Promise<CheckResult | undefined> {
  ctx.setTimeoutResult({ status: 'L7TOUT', info: at(rule.step, rule.comment) });
  for (;;) {
    const data = socket.received;
    const last = socket.ended;
    const needs = rule.minRecv ?? (rule.bytes === undefined ? 0 : rule.bytes.length);
    if (!last && data.length < needs) {
      await socket.more();
      continue;
    }
    if (last && data.length === 0) return { status: 'L7RSP', info: `TCPCHK got an empty response at step ${rule.step}${quoted(rule.note)}` };
    const found = matches(rule, data);
    // Without min-recv, a miss is not conclusive while the server may still send more.
    if (!found && !last && rule.minRecv === undefined) {
      await socket.more();
      continue;
    }
    if (found !== rule.negate) return undefined;
    const text = found ? 'TCPCHK matched unwanted content' : 'TCPCHK did not match content';
    // A mismatch names the comment unquoted (`tcpcheck_expect_onerror_message()`).
    return { status: 'L7RSP', info: `${text}${rule.what} at step ${rule.step}${rule.note === undefined ? '' : ` comment: ${rule.note}`}` };
  }
}

function matches(rule: CompiledExpect, data: Buffer): boolean {
  if (rule.bytes !== undefined) return data.includes(rule.bytes);
  const subject = rule.match === 'rstring' ? data.toString('latin1') : data.toString('hex').toUpperCase();
  return rule.regex!.test(subject);
}
