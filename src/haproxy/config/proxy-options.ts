/**
 * `option <name>` / `no option <name>` / `default option <name>` in proxy sections, with HAProxy 2.6's
 * messages. HTTP-only options are ignored with HAProxy's own warning (it ignores them in mode tcp too).
 */
import type { ProxyDraft } from './draft.js';
import type { ConfigLine } from './line.js';
import { describeSection } from './line.js';
import { suggest } from './did-you-mean.js';
import { HTTP_ONLY_OPTIONS, own, SUPPORTED_OPTIONS, UNSUPPORTED_OPTIONS } from './keywords.js';
import { applyHttpchkOption, applyProtocolCheckOption } from './check-options.js';
import { TCPLOG_FORMAT } from './log-format-syntax.js';

/** Options that accept `no` and `default` in HAProxy (boolean options). */
const NEGATABLE = new Set(['redispatch', 'allbackups', 'dontlognull', 'log-health-checks']);

const INTEGER = /^-?[0-9]{1,9}$/;

/** Applies one `option` line to `draft`. */
export function applyOption(line: ConfigLine, draft: ProxyDraft): void {
  const name = line.words[1];
  const args = line.words.slice(2);
  if (name === undefined || name === '') {
    line.alert('option', `'option' expects an option name.`, 'reader');
    return;
  }
  const isHttpOnly = (HTTP_ONLY_OPTIONS as readonly string[]).includes(name);
  if (!(SUPPORTED_OPTIONS as readonly string[]).includes(name) && !isHttpOnly) {
    const reason = own(UNSUPPORTED_OPTIONS, name);
    if (reason !== undefined) {
      line.alert('option', `'option ${name}' is not supported in switchyard: ${reason}.`);
      return;
    }
    const close = suggest(name, SUPPORTED_OPTIONS) ?? suggest(name, [...HTTP_ONLY_OPTIONS, ...Object.keys(UNSUPPORTED_OPTIONS)]);
    line.alert('option', `unknown option '${name}'${close === undefined ? '.' : `; did you mean '${close}' maybe ?`}`);
    return;
  }
  if (line.modifier !== 'none' && !NEGATABLE.has(name) && !isHttpOnly) {
    line.alert('option', `negation/default is not supported for option '${name}'.`, 'reader');
    return;
  }
  const on = line.modifier === 'none';
  const noArgs = (): boolean => {
    if (args.length === 0) return true;
    line.alert('option', `'option ${name}' cannot handle unexpected argument '${args[0] ?? ''}'.`);
    return false;
  };
  if (applyProtocolCheckOption(line, draft, name, args)) return;
  if (isHttpOnly) {
    line.warn('option', `'option ${name}' ignored for ${describeSection(draft.kind, draft.name)} as it requires HTTP mode.`, 'no-location');
    return;
  }
  switch (name) {
    case 'redispatch': {
      if (!on) {
        delete draft.redispatch;
        return;
      }
      if (args.length > 1) {
        line.alert('option', `'option redispatch' cannot handle unexpected argument '${args[1] ?? ''}'.`);
        return;
      }
      const interval = args[0];
      if (interval !== undefined && !INTEGER.test(interval)) {
        line.alert('option', `'option redispatch' expects an integer interval, got '${interval}'.`);
        return;
      }
      const value = interval === undefined ? -1 : Number(interval);
      // HAProxy: an interval of 0 disables redispatch.
      if (value === 0) delete draft.redispatch;
      else draft.redispatch = value;
      return;
    }
    case 'allbackups':
      if (noArgs()) draft.allBackups = on;
      return;
    case 'dontlognull':
      if (noArgs()) draft.dontLogNull = on;
      return;
    case 'log-health-checks':
      if (noArgs()) draft.logHealthChecks = on;
      return;
    case 'tcplog':
      if (noArgs()) setLogFormat(line, draft, TCPLOG_FORMAT, 'option tcplog');
      return;
    case 'httplog':
      // Same fallback and warning as HAProxy for a TCP proxy.
      if (args.length > 0 && args[0] !== 'clf') {
        line.alert('option', `'option httplog' cannot handle unexpected argument '${args[0] ?? ''}'.`);
        return;
      }
      line.warn('option', `'option httplog' not usable with ${describeSection(draft.kind, draft.name)} (needs 'mode http'). Falling back to 'option tcplog'.`);
      setLogFormat(line, draft, TCPLOG_FORMAT, 'option tcplog');
      return;
    case 'tcp-check':
      if (noArgs()) draft.checkOption = 'tcp-check';
      return;
    case 'httpchk':
      applyHttpchkOption(line, draft, args);
      return;
    default:
      return;
  }
}

/**
 * `option tcplog` and `log-format` set the same thing, HAProxy's `logformat_string`: the last one wins (in a
 * `defaults` section with HAProxy's warning). The format is checked at the end of parsing, as HAProxy does.
 */
export function setLogFormat(line: ConfigLine, draft: ProxyDraft, text: string, by: 'option tcplog' | 'log-format'): void {
  if (draft.kind === 'defaults' && draft.logFormat !== undefined) {
    line.warn(by === 'log-format' ? 'log-format' : 'option', `'${by}' overrides previous '${draft.logFormat.by}' in 'defaults' section.`, 'reader');
  }
  draft.logFormat = { text, source: line.at, by };
  draft.tcpLog = by === 'option tcplog';
}
