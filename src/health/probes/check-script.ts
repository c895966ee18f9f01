import { type CheckResult, type CheckStatus, statusHasCode } from '../../state/check-result.js';
import type { ProbeContext } from '../probe.js';
import { ProbeSocket, checkProxyHeader, closeInBackground } from './probe-socket.js';
import type { ReplyText } from './reply-format.js';
import { connectionErrorResult } from './socket-errors.js';

/**
 * @internal The engine of HAProxy's tcp-check rulesets (`src/tcpcheck.c tcpcheck_main()`), shared by
 * `sendExpectProbe` (`option tcp-check`) and the protocol checks (`option redis-check`, `mysql-check`…, which
 * HAProxy 2.6 runs as built-in tcp-check rulesets). Rules are numbered from 1 in order, comments included; an
 * implicit connect (step 0) comes first when the first rule is not a connect.
 */

/** What a custom expect (HAProxy's `expect custom`) decides about the reply so far. */
export type CustomVerdict =
  | 'wait'
  | 'continue'
  | { readonly status: CheckStatus; readonly code?: number; readonly info?: string };

/** One compiled rule. */
export type ScriptRule =
  | { readonly kind: 'comment'; readonly step: number; readonly text: string }
  | {
      readonly kind: 'connect';
      readonly step: number;
      readonly implicit: boolean;
      readonly port: number | undefined;
      readonly addr: string | undefined;
      /** HAProxy `linger`: close with a FIN (orderly) instead of a reset. */
      readonly linger: boolean;
      /** Send a PROXY protocol v1 header first (`send-proxy`). */
      readonly sendProxy: boolean;
      /** HAProxy `connect default` (the protocol checks' connect): the server's check settings, its PROXY header included. */
      readonly isDefault?: boolean;
      readonly comment: string | undefined;
    }
  | { readonly kind: 'send'; readonly step: number; readonly bytes: Buffer | (() => Buffer); readonly comment: string | undefined }
  | ScriptExpect;

/** A compiled `expect` rule. */
export interface ScriptExpect {
  readonly kind: 'expect';
  readonly step: number;
  readonly match: 'string' | 'rstring' | 'binary' | 'rbinary' | 'custom';
  /** `string`/`binary`: the bytes to find. */
  readonly bytes?: Buffer;
  /** `rstring` (on the latin1 text) / `rbinary` (on the upper-case hex dump). */
  readonly regex?: RegExp;
  /** `custom`: judges the reply; `last` says no more data will come. Never `wait` when `last`. */
  readonly custom?: (reply: Buffer, last: boolean) => CustomVerdict;
  readonly negate: boolean;
  readonly minRecv: number | undefined;
  readonly okStatus: CheckStatus | undefined;
  readonly errorStatus: CheckStatus | undefined;
  readonly timeoutStatus: CheckStatus | undefined;
  readonly onSuccess: ReplyText | undefined;
  readonly onError: ReplyText | undefined;
  readonly statusCode: ((reply: Buffer) => number | undefined) | undefined;
  readonly comment: string | undefined;
  /** ` (expect string '+PONG')`: what timeout messages say about the step. */
  readonly describe: string;
  /** ` '+PONG'`, ` (binary)`, ` (regex)`: what mismatch messages say about the pattern. */
  readonly what: string;
}

/** A ruleset ready to run. */
export interface CheckScript {
  readonly rules: readonly ScriptRule[];
  /**
   * A protocol check (`redis-check`, `mysql-check`…): failures carry no generic tcp-check text (no `TCPCHK did not
   * match…`, no ` at step N of tcp-check…`), and a pass has no `(tcp-check)` info.
   */
  readonly protocol: boolean;
}

/** HAProxy's check buffer (`tune.chksize`): a full buffer is judged as if nothing more would come. */
const CHECK_BUFFER = 16_384;

/**
 * Numbers the rules (comments count), gives the rules after a `comment` rule its text while they are of one kind
 * and have none of their own (a connect takes it and ends it: HAProxy `check_proxy_tcpcheck()`), and puts the
 * implicit connect first when the first rule is not a connect.
 */
export function numberRules(rules: readonly DistributiveOmit<ScriptRule, 'step'>[]): ScriptRule[] {
  const out: ScriptRule[] = [];
  let carried: string | undefined;
  let previous: ScriptRule['kind'] | undefined;
  rules.forEach((rule, i) => {
    const step = i + 1;
    if (rule.kind !== previous && previous !== 'comment') carried = undefined;
    previous = rule.kind;
    if (rule.kind === 'comment') {
      carried = rule.text;
      out.push({ ...rule, step });
      return;
    }
    const comment = rule.comment ?? carried;
    if (rule.kind === 'connect') carried = undefined;
    out.push({ ...rule, step, comment } as ScriptRule);
  });
  const first = out.find((r) => r.kind !== 'comment');
  if (first?.kind !== 'connect') {
    out.unshift({ kind: 'connect', step: 0, implicit: true, port: undefined, addr: undefined, linger: false, sendProxy: false, comment: undefined });
  }
  return out;
}

/** `Omit` over each member of a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const quoted = (comment: string | undefined): string => (comment === undefined ? '' : ` comment: '${comment}'`);

/** ` at step 2 of tcp-check (connect port 80) comment: '…'`: what HAProxy appends to connection and timeout errors. */
function stepInfo(script: CheckScript, rule: ScriptRule): string {
  if (script.protocol) return '';
  if (rule.kind === 'connect' && rule.implicit) return ' at initial connection step of tcp-check';
  let what = '';
  if (rule.kind === 'connect') what = rule.port === undefined ? ' (connect)' : ` (connect port ${rule.port})`;
  else if (rule.kind === 'expect') what = rule.describe;
  else if (rule.kind === 'send') what = ' (send)';
  return ` at step ${rule.step} of tcp-check${what}${quoted(rule.kind === 'comment' ? undefined : rule.comment)}`;
}

/** HAProxy keeps at most this many characters of a check's info (`HCHK_DESC_LEN` − 1). */
const MAX_INFO = 127;

function result(status: CheckStatus, text: string, code: number | undefined): CheckResult {
  const info = text.length > MAX_INFO ? text.slice(0, MAX_INFO) : text;
  return {
    status,
    ...(statusHasCode(status) ? { code: code ?? 0 } : {}),
    ...(info === '' ? {} : { info }),
  };
}

/** Runs a script against `ctx.host:ctx.port` (a connect rule's `port`/`addr` override them). */
export async function runScript(script: CheckScript, signal: AbortSignal, ctx: ProbeContext): Promise<CheckResult> {
  let socket: ProbeSocket | undefined;
  let linger = false;
  let announced = false;
  let current: ScriptRule | undefined;
  let reply: Buffer = Buffer.alloc(0);
  const release = (): void => {
    if (socket === undefined) return;
    if (linger) closeInBackground(socket, ctx);
    else socket.close();
    socket = undefined;
  };
  try {
    for (const rule of script.rules) {
      if (rule.kind === 'comment') continue;
      current = rule;
      if (rule.kind === 'connect') {
        release();
        const info = stepInfo(script, rule);
        ctx.setTimeoutResult(result('L4TOUT', info, undefined));
        try {
          socket = await ProbeSocket.connect(rule.addr ?? ctx.host, rule.port ?? ctx.port, signal);
        } catch (err) {
          return connectionErrorResult(err, info);
        }
        linger = rule.linger;
        if (rule.sendProxy) socket.write(checkProxyHeader('v1', socket));
        else if ((rule.implicit || rule.isDefault === true) && ctx.sendProxy !== undefined) socket.write(checkProxyHeader(ctx.sendProxy, socket));
        if (!announced) {
          announced = true;
          ctx.connected();
        }
        reply = Buffer.alloc(0);
      } else if (rule.kind === 'send') {
        socket!.clear();
        socket!.write(typeof rule.bytes === 'function' ? rule.bytes() : rule.bytes);
        reply = Buffer.alloc(0);
      } else {
        const outcome = await expect(script, socket!, rule, ctx, reply.length === 0);
        if (!Buffer.isBuffer(outcome)) return outcome;
        reply = outcome;
      }
    }
    return success(script, current, reply);
  } finally {
    release();
  }
}

/** The result once every rule passed: it depends on the last rule evaluated (HAProxy's `current_step`). */
function success(script: CheckScript, last: ScriptRule | undefined, reply: Buffer): CheckResult {
  if (last?.kind === 'expect') {
    const info = last.onSuccess !== undefined ? last.onSuccess(reply) : script.protocol ? '' : '(tcp-check)';
    return result(last.okStatus ?? 'L7OK', info, last.statusCode?.(reply));
  }
  if (last?.kind === 'connect') return result('L4OK', last.implicit ? '' : '(tcp-check)', undefined);
  return result('L7OK', '(tcp-check)', 0);
}

/**
 * Waits until the rule can be judged (HAProxy `tcpcheck_eval_recv()` + `tcpcheck_eval_expect()`): the reply judged
 * when it passes, or the failure result. `mustRead`: the first expect after a connect or send, which fails on an
 * empty response.
 */
async function expect(script: CheckScript, socket: ProbeSocket, rule: ScriptExpect, ctx: ProbeContext, mustRead: boolean): Promise<Buffer | CheckResult> {
  ctx.setTimeoutResult(result(rule.timeoutStatus ?? 'L7TOUT', stepInfo(script, rule), undefined));
  for (;;) {
    const data = socket.received;
    const last = socket.ended || data.length >= CHECK_BUFFER;
    if (mustRead && data.length === 0) {
      if (!socket.ended) {
        await socket.more();
        continue;
      }
      const status = rule.errorStatus ?? 'L7RSP';
      return result(status, `TCPCHK got an empty response at step ${rule.step}${quoted(rule.comment)}`, 0);
    }
    if (rule.custom !== undefined) {
      const verdict = rule.custom(data, last);
      if (verdict === 'continue') return data;
      if (verdict === 'wait') {
        if (last) return result('L7RSP', '', undefined);
        await socket.more();
        continue;
      }
      const info = (verdict.info ?? '') + (rule.comment === undefined ? '' : ` comment: ${rule.comment}`);
      return result(verdict.status, info, verdict.code);
    }
    if (!last) {
      if (rule.bytes !== undefined && data.length < rule.bytes.length) {
        await socket.more();
        continue;
      }
      if (rule.minRecv !== undefined && rule.minRecv > 0 && data.length < rule.minRecv) {
        await socket.more();
        continue;
      }
    }
    const found = matches(rule, data);
    // Without min-recv, a miss is not conclusive while the server may still send more.
    if (!found && !last && rule.minRecv === undefined) {
      await socket.more();
      continue;
    }
    if (found !== rule.negate) return data;
    let info: string;
    if (rule.onError !== undefined) info = rule.onError(data);
    else if (script.protocol) info = '';
    else info = `${found ? 'TCPCHK matched unwanted content' : 'TCPCHK did not match content'}${rule.what} at step ${rule.step}`;
    if (rule.comment !== undefined) info += ` comment: ${rule.comment}`;
    return result(rule.errorStatus ?? 'L7RSP', info, rule.statusCode?.(data));
  }
}

function matches(rule: ScriptExpect, data: Buffer): boolean {
  if (rule.bytes !== undefined) return data.includes(rule.bytes);
  const subject = rule.match === 'rstring' ? data.toString('latin1') : data.toString('hex').toUpperCase();
  return rule.regex!.test(subject);
}
