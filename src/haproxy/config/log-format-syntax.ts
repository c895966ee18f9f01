/**
 * The syntax of HAProxy's `log-format` for TCP proxies (`doc/configuration.txt` §8.2.4; `src/log.c
 * parse_logformat_string()`, `parse_logformat_var()`): text, separators and `%` variables with their flags.
 * Read when the configuration is parsed, so a bad format is a configuration error; `haproxy/log/log-format.ts`
 * renders what this returns.
 */

/** `option tcplog` as a log-format (HAProxy's `default_tcp_log_format`). */
export const TCPLOG_FORMAT = '%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq';

/** Flags of a variable (`%{+Q,+X,+E,-M}var`). */
export const LOG_FLAG = Object.freeze({ QUOTE: 1, HEX: 2, ESC: 4, MANDATORY: 8 });

const FLAGS: Readonly<Record<string, number>> = { Q: LOG_FLAG.QUOTE, X: LOG_FLAG.HEX, E: LOG_FLAG.ESC, M: LOG_FLAG.MANDATORY };

/** One element of a parsed format: literal text, a separator (spaces, merged), or a variable with its flags. */
export type LogFormatNode =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'sep' }
  | { readonly kind: 'var'; readonly name: string; readonly options: number };

/** Variables that need `mode http` (HAProxy: "format variable '%s' is reserved for HTTP mode"). */
const HTTP_ONLY = new Set(['CC', 'CS', 'HM', 'HP', 'HPO', 'HQ', 'HU', 'HV', 'Ta', 'Ti', 'Tq', 'Tr', 'TR', 'r', 'tr', 'trg', 'trl']);
/** Variables HAProxy has in TCP mode that switchyard cannot fill, with the reason. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  ID: 'unique ids need unique-id-format, which is not implemented',
  rt: 'request counters are not kept',
  sslc: 'TLS is not supported',
  sslv: 'TLS is not supported',
  hr: 'captures need mode http',
  hrl: 'captures need mode http',
  hs: 'captures need mode http',
  hsl: 'captures need mode http',
};
/** The TCP variables switchyard renders. */
export const LOG_FORMAT_VARIABLES: ReadonlySet<string> = new Set([
  'B', 'H', 'ST', 'T', 'Tc', 'Td', 'Th', 'Tl', 'Ts', 'Tt', 'Tu', 'Tw', 'U', 'ac', 'b', 'bc', 'bi', 'bp', 'bq', 'ci', 'cp', 'f', 'fc',
  'fi', 'fp', 'ft', 'lc', 'ms', 'pid', 'rc', 's', 'sc', 'si', 'sp', 'sq', 't', 'ts', 'tsc',
]);

/** A parsed format, or HAProxy's parse error. */
export type ParsedLogFormat =
  | { readonly ok: true; readonly nodes: readonly LogFormatNode[]; readonly variables: ReadonlySet<string> }
  | { readonly ok: false; readonly message: string };

/**
 * Parses a log-format string as HAProxy 2.6 does for a TCP proxy (options `M` and merged spaces on by
 * default): text, `%%`, `%var`, `%{+Q,+X,+E,-M}var`, `%o` (options for the variables after it). Sample
 * expressions (`%[…]`) and the variables switchyard cannot fill are refused with a message naming them.
 */
export function parseLogFormat(text: string): ParsedLogFormat {
  const nodes: LogFormatNode[] = [];
  const variables = new Set<string>();
  let defaults: number = LOG_FLAG.MANDATORY;
  let literal = '';
  const flush = (): void => {
    if (literal !== '') nodes.push({ kind: 'text', text: literal });
    literal = '';
  };
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === ' ') {
      flush();
      nodes.push({ kind: 'sep' });
      i++;
      continue;
    }
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    if (next === undefined) {
      i++;
      continue;
    }
    if (/[0-9 \t]/.test(next)) {
      return { ok: false, message: `unexpected variable name near '${next}' at position ${i + 1} line : '${text}'. Maybe you want to write a single '%', use the syntax '%%'` };
    }
    let j = i + 1;
    let args = '';
    if (next === '{') {
      const close = text.indexOf('}', j);
      if (close < 0) return { ok: false, message: `parse argument modifier without variable name near '%{${text.slice(j + 1)}}'` };
      args = text.slice(j + 1, close);
      j = close + 1;
      if (!/[A-Za-z0-9[]/.test(text[j] ?? '')) return { ok: false, message: `parse argument modifier without variable name near '%{${args}}'` };
    }
    if (text[j] === '[') return { ok: false, message: `sample expressions ('%[${text.slice(j + 1).split(']')[0] ?? ''}]') are not supported in switchyard` };
    if (!/[A-Za-z]/.test(text[j] ?? '') && args === '') {
      // HAProxy drops a '%' followed by anything else and keeps the character.
      i++;
      continue;
    }
    const name = /^[A-Za-z0-9]*/.exec(text.slice(j))![0];
    j += name.length;
    let options = defaults;
    for (const arg of args.split(',')) {
      const flag = FLAGS[arg.slice(1)];
      if (flag === undefined) continue;
      if (arg[0] === '+') options |= flag;
      else if (arg[0] === '-') options &= ~flag;
    }
    if (name === 'o') {
      defaults = options;
    } else if (HTTP_ONLY.has(name)) {
      return { ok: false, message: `format variable '${name}' is reserved for HTTP mode` };
    } else if (UNSUPPORTED[name] !== undefined) {
      return { ok: false, message: `format variable '${name}' is not supported in switchyard: ${UNSUPPORTED[name]}` };
    } else if (!LOG_FORMAT_VARIABLES.has(name)) {
      return { ok: false, message: `no such format variable '${name}'. If you wanted to emit the '%' character verbatim, you need to use '%%'` };
    } else {
      flush();
      nodes.push({ kind: 'var', name, options });
      variables.add(name);
    }
    i = j;
  }
  flush();
  return { ok: true, nodes, variables };
}
