/**
 * The `stats` statement of a frontend or listen section (`doc/configuration.txt` §4.2, `stats *`): the subset
 * switchyard serves as its stats page. HAProxy's wording where it has one; a clear refusal for the forms
 * switchyard does not read (ACL conditions other than `if TRUE`, realms, scopes, per-page HTTP rules).
 */
import type { ProxyDraft } from './draft.js';
import type { ConfigLine } from './line.js';
import { describeSection } from './line.js';
import { parseTime } from './time-units.js';

/** HAProxy 2.6's `stats` default URI prefix. */
export const STATS_DEFAULT_URI = '/haproxy?stats';

const EXPECTS = "expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'";

/** `stats` sub-keywords HAProxy knows that switchyard refuses, with the reason. */
const STATS_UNSUPPORTED: Readonly<Record<string, string>> = Object.freeze({
  realm: 'the realm is fixed to "HAProxy Statistics"',
  scope: 'every proxy is shown; use the page\'s own links to page through large backends',
  'show-node': 'the node name is not shown',
  'show-desc': 'descriptions are not shown',
  'show-modules': 'stats modules are not implemented',
  'http-request': 'HTTP rules need mode http',
  'bind-process': 'HAProxy processes do not apply to an in-process balancer',
  socket: "'stats socket' belongs in the global section",
  timeout: "'stats timeout' belongs in the global section",
  maxconn: "'stats maxconn' belongs in the global section",
});

/** Applies one `stats …` line of a proxy section to its draft. */
export function applyStatsLine(line: ConfigLine, draft: ProxyDraft): void {
  const args = line.words.slice(1);
  const sub = args[0];
  if (draft.kind === 'defaults' || draft.kind === 'backend') {
    line.alert('stats', `'stats' in ${describeSection(draft.kind, draft.name)} is not supported in switchyard: serve the stats page from a frontend or listen section with 'mode http' and no server.`);
    return;
  }
  if (sub === undefined || sub === '') {
    line.alert('stats', `missing keyword in 'stats', ${EXPECTS}.`, 'reader');
    return;
  }
  const extra = (from: number): boolean => {
    if (args.length <= from) return false;
    line.alert('stats', `'stats ${sub}' cannot handle unexpected argument '${args[from] ?? ''}'.`);
    return true;
  };
  const stats = (draft.stats ??= {
    uri: STATS_DEFAULT_URI, auth: [], admin: false, hideVersion: false, showLegends: false, source: line.at,
  });
  switch (sub) {
    case 'enable':
      extra(1);
      return;
    case 'uri': {
      const uri = args[1];
      if (uri === undefined || uri === '') line.alert('stats', "'uri' needs an URI prefix.");
      else if (!uri.startsWith('/')) line.alert('stats', `'stats uri' expects a prefix starting with '/', got '${uri}'.`);
      else if (!extra(2)) stats.uri = uri;
      return;
    }
    case 'refresh': {
      const text = args[1];
      if (text === undefined || text === '') {
        line.alert('stats', "'stats refresh' expects <delay> as argument.");
        return;
      }
      const t = parseTime(text);
      if (!t.ok) {
        const char = t.reason === 'empty' || t.reason === 'overflow' ? '' : t.char;
        line.alert('stats', t.reason === 'overflow' ? `timer overflow in argument '${text}' to stats refresh interval.` : `unexpected character '${char}' in argument to stats refresh interval.`, 'reader');
        return;
      }
      if (t.ms < 1000) {
        line.alert('stats', `'stats refresh' expects at least one second (the page refreshes in whole seconds), got '${text}'.`);
        return;
      }
      if (!extra(2)) stats.refreshMs = t.ms;
      return;
    }
    case 'auth': {
      const pair = args[1] ?? '';
      const colon = pair.indexOf(':');
      if (colon <= 0) {
        line.alert('stats', `'stats auth' expects <user>:<password> as argument, got '${pair}'.`);
        return;
      }
      if (!extra(2)) stats.auth.push({ user: pair.slice(0, colon), password: pair.slice(colon + 1) });
      return;
    }
    case 'admin': {
      const cond = args.slice(1);
      if (cond[0] !== 'if' && cond[0] !== 'unless') {
        line.alert('stats', "'stats admin' requires either 'if' or 'unless' followed by a condition.");
        return;
      }
      if (cond.length !== 2 || cond[0] !== 'if' || cond[1] !== 'TRUE') {
        line.alert('stats', `'stats admin ${cond.join(' ')}' is not supported in switchyard: only 'stats admin if TRUE' is (ACL conditions are HTTP-mode routing); restrict access with 'stats auth'.`);
        return;
      }
      stats.admin = true;
      return;
    }
    case 'hide-version':
      if (!extra(1)) stats.hideVersion = true;
      return;
    case 'show-legends':
      if (!extra(1)) stats.showLegends = true;
      return;
    default:
      break;
  }
  const reason = Object.hasOwn(STATS_UNSUPPORTED, sub) ? STATS_UNSUPPORTED[sub] : undefined;
  if (reason !== undefined) line.alert('stats', `'stats ${sub}' is not supported in switchyard: ${reason}.`);
  else line.alert('stats', `unknown stats parameter '${sub}', ${EXPECTS}.`, 'reader');
}
