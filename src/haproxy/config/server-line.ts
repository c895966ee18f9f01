/**
 * `server <name> <address> [keywords…]` and `default-server [keywords…]` lines: name and address checks,
 * duplicate names, and the lint warning for check intervals that are probably seconds written as
 * milliseconds (`inter 4` is 4 ms in HAProxy).
 */
import { parseAddress } from './address.js';
import type { ProxyDraft } from './draft.js';
import type { ConfigLine } from './line.js';
import { describeSection } from './line.js';
import { parseServerKeywords, type ServerKeywords } from './server-keywords.js';
import { formatTime } from './time-units.js';

/** Below this a check interval is reported as probably meant in seconds. */
export const MIN_SENSIBLE_INTERVAL_MS = 100;

const INTERVAL_KEYWORDS = new Set(['inter', 'fastinter', 'downinter']);

/** The first character HAProxy does not allow in a proxy or server name (letters, digits, `-_.:`), if any. */
export function invalidNameChar(name: string): string | undefined {
  return [...name].find((c) => !/^[A-Za-z0-9_.:-]$/.test(c));
}

/** Applies a `server` line: adds the server to the draft with the current `default-server` values. */
export function applyServerLine(line: ConfigLine, draft: ProxyDraft): void {
  const [, name, address, ...keywords] = line.words;
  if (name === undefined || name === '' || address === undefined || address === '') {
    line.alert('server', `'server' expects <name> and <addr>[:<port>] as arguments.`, 'bare-location');
    return;
  }
  const label = `'server ${draft.name}/${name}' : `;
  const bad = invalidNameChar(name);
  if (bad !== undefined) {
    line.alert('server', `character '${bad}' is not permitted in server name '${name}'.`, 'bare-location');
    return;
  }
  const parsed = parseAddress(address, { allowRange: false, prefix: label });
  if (!parsed.ok) {
    const message = parsed.missingPort === true
      ? `${label}a server without a port (HAProxy: the client's destination port) is not supported in switchyard: write '${address}:<port>'.`
      : parsed.message;
    line.alert('server', message, 'bare-location');
    return;
  }
  const own = parseServerKeywords(keywords, name, (kw, message) => line.alert(kw, `${label}${message}`, 'bare-location'));
  lintIntervals(line, own, `server ${draft.name}/${name}`);
  const previous = draft.servers.find((s) => s.name === name);
  if (previous !== undefined) {
    line.alert('server', `${describeSection(draft.kind, draft.name)}, another server named '${name}' was already defined at line ${previous.source.line}, please use distinct names.`);
    return;
  }
  const server = {
    name,
    host: parsed.host,
    port: parsed.port,
    settings: { ...draft.defaultServer, ...own.settings },
    source: line.at,
  };
  if (server.settings.agentCheck === true && server.settings.agentPort === undefined && server.settings.checkPort === undefined) {
    line.alert('agent-check', `${label}server ${name} does not have agent port. Agent check has been disabled.`, 'bare-location');
  }
  draft.servers.push(own.id === undefined ? server : { ...server, id: own.id });
}

/** Applies a `default-server` line: later `server` lines of the section start from these values. */
export function applyDefaultServerLine(line: ConfigLine, draft: ProxyDraft): void {
  const own = parseServerKeywords(line.words.slice(1), undefined, (kw, message) => line.alert(kw, message, 'bare-location'));
  lintIntervals(line, own, `default-server of ${describeSection(draft.kind, draft.name)}`);
  Object.assign(draft.defaultServer, own.settings);
}

function lintIntervals(line: ConfigLine, own: ServerKeywords, who: string): void {
  for (const t of own.times) {
    if (!INTERVAL_KEYWORDS.has(t.keyword) || t.ms >= MIN_SENSIBLE_INTERVAL_MS) continue;
    const unitless = /^[0-9]+$/.test(t.text);
    const hint = unitless ? ` HAProxy reads a time without unit as milliseconds; did you mean ${formatTime(t.ms * 1000)}?` : '';
    line.warn(t.keyword, `${who}: '${t.keyword} ${t.text}' checks every ${t.ms} ms, under ${MIN_SENSIBLE_INTERVAL_MS} ms.${hint}`);
  }
}
