/**
 * The arguments of `show stat`, read as HAProxy 2.6 reads them: when there are at least three, the first three are
 * the `<iid> <type> <sid>` filter (the proxy as a name or a number, `-1` for all; a word that names no proxy and is
 * no number is `No such proxy.`), and the words after them are `up`, `no-maint`, `typed`, `json` or `desc` (the
 * last of `typed`/`json` wins; other words are ignored). With fewer than three, every word is such a keyword.
 */
import type { HaproxyInstance } from '../build/instance.js';
import { atoi } from './parse.js';
import type { ShowStatFilter } from './views.js';

/** What `show stat` is asked for. */
export interface ShowStatRequest {
  readonly filter: ShowStatFilter;
  readonly format: 'csv' | 'typed' | 'json';
  /** `desc` was named (HAProxy adds each field's description; switchyard does not have them). */
  readonly desc: boolean;
}

/** Reads `words` (the arguments after `show stat`); a string is the error reply. */
export function parseShowStatArgs(words: readonly string[], instance: HaproxyInstance): ShowStatRequest | string {
  let [iid, type, sid] = [-1, -1, -1];
  let rest = words;
  if (words.length >= 3 && words[0] !== '' && words[1] !== '' && words[2] !== '') {
    const proxy = words[0] ?? '';
    if (proxy !== '-1') {
      const named = instance.frontends.get(proxy)?.uuid ?? instance.backends.get(proxy)?.uuid;
      iid = named ?? atoi(proxy);
      if (iid === 0) return 'No such proxy.\n';
    }
    type = atoi(words[1] ?? '');
    sid = atoi(words[2] ?? '');
    rest = words.slice(3);
  }
  let [up, noMaint, desc, format] = [false, false, false, 'csv' as ShowStatRequest['format']];
  for (const w of rest) {
    if (w === 'up') up = true;
    else if (w === 'no-maint') noMaint = true;
    else if (w === 'desc') desc = true;
    else if (w === 'typed' || w === 'json') format = w;
  }
  return { filter: { iid, type, sid, up, noMaint }, format, desc };
}
