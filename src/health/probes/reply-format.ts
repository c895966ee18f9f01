import { invalidArg } from '../../errors.js';

/**
 * The part of HAProxy's log-format language that check messages use (`on-success`, `on-error`, `status-code` of a
 * `tcp-check expect` rule): literal text, `%%`, and `%[res.payload(<offset>,<length>)<converters>]` with the
 * converters `cut_crlf`, `ltrim(<chars>)`, `rtrim(<chars>)`, `lower`, `upper`. A text sample ends at its first
 * NUL byte, as HAProxy copies it as a C string. Compiled once; rendering never throws.
 */

/** Text built from the reply the expect rule judged. */
export type ReplyText = (reply: Buffer) => string;

type Converter = (bytes: Buffer) => Buffer;

const CONVERTERS: Readonly<Record<string, (arg: string | undefined) => Converter | undefined>> = {
  cut_crlf: (arg) => (arg !== undefined ? undefined : (b) => {
    const cr = b.indexOf(0x0d);
    const lf = b.indexOf(0x0a);
    const at = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
    return at < 0 ? b : b.subarray(0, at);
  }),
  ltrim: (arg) => (arg === undefined ? undefined : (b) => {
    let i = 0;
    while (i < b.length && arg.includes(String.fromCharCode(b[i]!))) i++;
    return b.subarray(i);
  }),
  rtrim: (arg) => (arg === undefined ? undefined : (b) => {
    let i = b.length;
    while (i > 0 && arg.includes(String.fromCharCode(b[i - 1]!))) i--;
    return b.subarray(0, i);
  }),
  lower: (arg) => (arg !== undefined ? undefined : (b) => Buffer.from(b.toString('latin1').toLowerCase(), 'latin1')),
  upper: (arg) => (arg !== undefined ? undefined : (b) => Buffer.from(b.toString('latin1').toUpperCase(), 'latin1')),
};

const PAYLOAD = /^res\.payload\((\d+),(\d+)\)/;

/** A compiled `res.payload(o,l),conv…` sample: the bytes, or undefined when the reply is too short (no sample). */
type Sample = (reply: Buffer) => Buffer | undefined;

function compileSample(field: string, expr: string): Sample {
  const m = PAYLOAD.exec(expr);
  if (m === null) throw invalidArg(field, "must use only the sample res.payload(<offset>,<length>) (switchyard's subset of HAProxy's log-format)", expr);
  const offset = Number(m[1]);
  const length = Number(m[2]);
  const converters: Converter[] = [];
  let rest = expr.slice(m[0].length);
  while (rest.length > 0) {
    const c = /^,([a-z_]+)(?:\(((?:'[^']*'|[^)])*)\))?/.exec(rest);
    const make = c === null ? undefined : CONVERTERS[c[1]!];
    const arg = c?.[2] === undefined ? undefined : unquote(c[2]);
    const converter = make?.(arg);
    if (c === null || converter === undefined) {
      throw invalidArg(field, 'may only use the converters cut_crlf, ltrim(<chars>), rtrim(<chars>), lower and upper', expr);
    }
    converters.push(converter);
    rest = rest.slice(c[0].length);
  }
  return (reply) => {
    if (offset > reply.length || (length > 0 && offset + length > reply.length)) return undefined;
    let bytes = reply.subarray(offset, length === 0 ? reply.length : offset + length);
    for (const convert of converters) bytes = convert(bytes);
    return bytes;
  };
}

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith("'") && text.endsWith("'") ? text.slice(1, -1) : text;
}

/** A sample as text: latin1, up to the first NUL byte. */
function asText(bytes: Buffer | undefined): string {
  if (bytes === undefined) return '';
  const nul = bytes.indexOf(0);
  return (nul < 0 ? bytes : bytes.subarray(0, nul)).toString('latin1');
}

/**
 * Compiles an `on-success` / `on-error` text: `bad: %[res.payload(0,0),cut_crlf]` renders `bad: HELLO` for the
 * reply `HELLO\r\n`. Throws `ERR_LB_INVALID_ARG` naming `field` for anything outside the subset.
 */
export function compileReplyText(field: string, format: string): ReplyText {
  const parts: (string | Sample)[] = [];
  let literal = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%') {
      literal += ch;
      continue;
    }
    const next = format[i + 1];
    if (next === '%') {
      literal += '%';
      i++;
      continue;
    }
    if (next !== '[') throw invalidArg(field, "may only contain text, '%%' and %[res.payload(…)…] samples (switchyard's subset of HAProxy's log-format)", format);
    const end = format.indexOf(']', i + 2);
    if (end < 0) throw invalidArg(field, "has a '%[' sample without its closing ']'", format);
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(compileSample(field, format.slice(i + 2, end)));
    i = end;
  }
  if (literal !== '') parts.push(literal);
  return (reply) => parts.map((p) => (typeof p === 'string' ? p : asText(p(reply)))).join('');
}

/**
 * Compiles a `status-code` sample (`res.payload(0,3)`): the reply's bytes read as a decimal integer, as HAProxy
 * casts a string sample to an integer (leading digits; undefined when there are none or the reply is too short).
 */
export function compileReplyCode(field: string, expr: string): (reply: Buffer) => number | undefined {
  const sample = compileSample(field, expr);
  return (reply) => {
    const m = /^\s*([+-]?\d+)/.exec(asText(sample(reply)));
    return m === null ? undefined : Number(m[1]);
  };
}
