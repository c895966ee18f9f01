/**
 * The runtime API's `help` and "Unknown command" replies, built as HAProxy 2.6 builds them
 * (`src/cli.c cli_gen_usage_msg()`): the commands whose first words match, or the closest ones by HAProxy's
 * word fingerprint distance, sorted, then the `help`/`prompt`/`quit` lines.
 */

/** A command as the help lists it: its fixed words and its usage line. */
export interface HelpEntry {
  readonly words: readonly string[];
  readonly usage: string;
}

/** HAProxy `CLI_PREFIX_KW_NB`: at most this many words are compared. */
const PREFIX_WORDS = 5;
/** HAProxy `CLI_MAX_MATCHES`. */
const MAX_MATCHES = 5;

const ALWAYS = [
  '  help [<command>]                        : list matching or all commands',
  '  prompt                                  : toggle interactive mode with prompt',
  '  quit                                    : disconnect',
];

/**
 * The usage message for `args` (the words typed, after `help` when `isHelp`). Ends with a newline; the session
 * adds the reply's final empty line.
 */
export function usageMessage(entries: readonly HelpEntry[], args: readonly string[], isHelp: boolean): string {
  let length = 0;
  for (const e of entries) {
    for (let i = 0; i < PREFIX_WORDS; i++) {
      const w = e.words[i];
      const a = args[i];
      if (w === undefined || a === undefined || a === '' || w !== a) break;
      if (i + 1 > length) length = i + 1;
    }
  }
  let head: string;
  if (isHelp) head = 'The following commands are valid at this level:';
  else if (length === 0 && (args.length === 0 || args[0] === '')) head = 'Unknown command. Please enter one of the following commands only:';
  else head = 'Unknown command, but maybe one of the following ones is a better match:';

  const prefixMatches = (e: HelpEntry): boolean => {
    for (let i = 0; i < length; i++) if (e.words[i] !== args[i]) return false;
    return true;
  };
  const matches: { entry: HelpEntry; dist: number }[] = [];
  const next = args[length];
  if (next !== undefined && next !== '') {
    for (const e of entries) {
      if (!prefixMatches(e)) continue;
      let totlen = 0;
      const typed = new Uint8Array(1024);
      for (let i = length; i < PREFIX_WORDS && args[i] !== undefined && args[i] !== ''; i++) {
        fingerprint(typed, args[i] ?? '');
        totlen += byteLength(args[i] ?? '');
      }
      const known = new Uint8Array(1024);
      for (let i = length; i < PREFIX_WORDS && e.words[i] !== undefined; i++) {
        fingerprint(known, e.words[i] ?? '');
        totlen += byteLength(e.words[i] ?? '');
      }
      const dist = distance(typed, known);
      const worst = matches.length < MAX_MATCHES ? Infinity : (matches[MAX_MATCHES - 1]?.dist ?? Infinity);
      if (dist < Math.floor((5 * totlen) / 2) && dist < worst) {
        if (matches.length === MAX_MATCHES) matches.pop();
        let at = matches.length;
        while (at > 0 && (matches[at - 1]?.dist ?? 0) > dist) at--;
        matches.splice(at, 0, { entry: e, dist });
      }
    }
  }
  let listed: HelpEntry[];
  if (matches.length > 0) {
    const best = matches[0]?.dist ?? 0;
    listed = [];
    for (const m of matches) {
      if (m.dist > Math.floor((5 * best) / 2)) break;
      listed.push(m.entry);
    }
  } else {
    listed = entries.filter(prefixMatches);
  }
  listed.sort(compareEntries);
  return [head, ...listed.map((e) => `  ${e.usage}`), ...ALWAYS].join('\n') + '\n';
}

function compareEntries(l: HelpEntry, r: HelpEntry): number {
  let i = 0;
  for (; l.words[i] !== undefined && r.words[i] !== undefined; i++) {
    const a = l.words[i] ?? '';
    const b = r.words[i] ?? '';
    if (a !== b) return a < b ? -1 : 1;
  }
  return (l.words[i] === undefined ? 0 : 1) - (r.words[i] === undefined ? 0 : 1);
}

/** HAProxy `update_word_fingerprint()`: counts of letter-class transitions, begin and end included. */
function fingerprint(fp: Uint8Array, word: string): void {
  let from = 28;
  for (const byte of Buffer.from(word, 'utf8')) {
    let to: number;
    const c = byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte;
    if (c >= 0x61 && c <= 0x7a) to = c - 0x61 + 1;
    else if (c >= 0x30 && c <= 0x39) to = 27;
    else to = 28;
    const i = from * 32 + to;
    fp[i] = ((fp[i] ?? 0) + 1) & 0xff;
    from = to;
  }
  const end = from * 32 + 28;
  fp[end] = ((fp[end] ?? 0) + 1) & 0xff;
}

/** HAProxy `word_fingerprint_distance()`. */
function distance(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < 1024; i++) d += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return d;
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
