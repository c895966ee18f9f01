/**
 * What a request asks the stats handler for, read from its request target: the page (`<uri>`), its display
 * options (`;up`, `;norefresh`, `;page=<proxy>:<n>`, `;st=DONE`), the exports (`;csv`, `;json`), or the
 * Prometheus metrics (`<metricsUri>`). Strict: a target that is too long, holds a dot segment or an encoded
 * dot, slash or backslash, or carries an option the page does not know is refused with a 4xx, never guessed at.
 */

/** A request the handler serves. */
export type StatsTarget =
  | {
      readonly kind: 'page';
      /** `;csv`, `;json` or the HTML page. */
      readonly view: 'html' | 'csv' | 'json';
      readonly up: boolean;
      readonly norefresh: boolean;
      readonly done: boolean;
      readonly page: { readonly proxy: string; readonly n: number } | undefined;
    }
  | { readonly kind: 'metrics' };

/** A request the handler refuses or does not own. */
export type TargetRefusal =
  /** Not the handler's path: the next middleware (or a 404). */
  | { readonly kind: 'not-mine' }
  | { readonly kind: 'refused'; readonly status: 400 | 404 | 414; readonly message: string };

/** Options as many as this in one target at most. */
const MAX_OPTIONS = 8;
const PROXY_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Reads a request target (`req.url`). */
export function readTarget(url: string, uri: string, metricsUri: string | undefined, maxLength: number): StatsTarget | TargetRefusal {
  if (url.length > maxLength) return { kind: 'refused', status: 414, message: `the request target is ${url.length} bytes long; at most ${maxLength} are accepted` };
  // Control characters, backslashes, dot segments and their encoded forms: a path traversal or a confused
  // proxy in front; nothing the page links to looks like this.
  if (/[\u0000-\u001f\u007f\\]/.test(url)) return { kind: 'refused', status: 400, message: 'the request target holds a control character or a backslash' };
  if (/%(2e|2f|5c|00)/i.test(url) || /(^|[/;?&])\.\.?([/;?&]|$)/.test(url)) {
    return { kind: 'refused', status: 400, message: 'the request target holds a dot segment or an encoded dot, slash or backslash (path traversal)' };
  }
  if (metricsUri !== undefined && (url === metricsUri || url.startsWith(`${metricsUri}?`))) return { kind: 'metrics' };
  if (!url.startsWith(uri)) return { kind: 'not-mine' };
  let rest = url.slice(uri.length);
  if (rest.startsWith('/')) rest = rest.slice(1);
  if (rest !== '' && !/^[;?&]/.test(rest)) {
    // `/stats/x` or `/statsx`: another path (a neighbour of the page, or a traversal attempt that decoded to it).
    return rest.includes('/') || uri.endsWith('/') ? { kind: 'refused', status: 404, message: `no such page under ${uri}` } : { kind: 'not-mine' };
  }
  const words = rest.split(/[;?&]/).filter((w) => w !== '');
  if (words.length > MAX_OPTIONS) return { kind: 'refused', status: 400, message: `too many options (${words.length}); at most ${MAX_OPTIONS} are accepted` };
  let view: 'html' | 'csv' | 'json' = 'html';
  let up = false;
  let norefresh = false;
  let done = false;
  let page: { proxy: string; n: number } | undefined;
  for (const word of words) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const bad = (why: string): TargetRefusal => ({ kind: 'refused', status: 400, message: `option '${truncate(word)}' ${why}` });
    switch (name) {
      case 'csv':
      case 'json':
        if (value !== undefined) return bad('takes no value');
        view = name;
        break;
      case 'up':
      case 'norefresh':
        if (value !== undefined) return bad('takes no value');
        if (name === 'up') up = true;
        else norefresh = true;
        break;
      case 'st':
        if (value !== 'DONE') return bad("expects 'DONE'");
        done = true;
        break;
      case 'page': {
        const m = value === undefined ? null : /^(.*):(\d{1,6})$/.exec(decodeSafe(value));
        if (m === null || !PROXY_NAME.test(m[1] ?? '') || Number(m[2]) < 1) return bad("expects '<proxy>:<page number>'");
        page = { proxy: m[1] ?? '', n: Number(m[2]) };
        break;
      }
      default:
        return { kind: 'refused', status: 400, message: `unknown option '${truncate(name)}': the page knows csv, json, up, norefresh, page=<proxy>:<n> and st=DONE` };
    }
  }
  return { kind: 'page', view, up, norefresh, done, page };
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
