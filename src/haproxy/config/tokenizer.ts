/**
 * Cuts one configuration line into words the way HAProxy 2.6's `parse_line()` does
 * (`doc/configuration.txt` §2.1–2.3): unprotected `#` starts a comment; spaces and tabs separate words;
 * `"…"` is weak quoting (environment variables expanded, backslash escapes processed), `'…'` strong quoting
 * (nothing interpreted); outside single quotes `\ `, `\\`, `\#`, `\'`, `\"`, `\t`, `\n`, `\r`, `\xNN` are
 * escapes and `\$` is one inside double quotes; any other backslash is kept as is. There is no line
 * continuation: a trailing backslash is a literal backslash word.
 */

/** The most words a line may have (HAProxy's `MAX_LINE_ARGS`). */
export const MAX_LINE_WORDS = 64;

/** Where a line is, for the `.FILE`, `.LINE` and `.SECTION` pseudo-variables. */
export interface LinePosition {
  readonly file: string;
  readonly line: number;
  /** Name of the current section, or its type when it has no name, or '' before the first section. */
  readonly section: string;
}

/** The environment variables `"${VAR}"` reads: a plain record (never `process.env` implicitly). */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

/** A line cut into words, or the reason it could not be, with HAProxy's message and a caret line. */
export type TokenizedLine =
  | {
      readonly ok: true;
      readonly words: readonly string[];
      /** Names of variables referenced inside double quotes that were not set (expanded to ''). */
      readonly unsetVariables: readonly string[];
    }
  | { readonly ok: false; readonly message: string; readonly context: readonly string[] };

const HEX = /^[0-9a-fA-F]$/;

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\v' || c === '\f';
}

function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

function isAlnum(c: string): boolean {
  return isAlpha(c) || (c >= '0' && c <= '9');
}

/**
 * Splits `raw` (one line without its `\n`) into words. Never throws; runs in time linear in the line
 * length plus the length of expanded variables.
 */
export function tokenizeLine(raw: string, env: ConfigEnv, where: LinePosition): TokenizedLine {
  const words: string[] = [];
  const unsetVariables: string[] = [];
  let word = '';
  let squote = -1;
  let dquote = -1;
  let i = 0;
  // Leading spaces are not part of the line HAProxy shows in its caret messages.
  while (i < raw.length && isSpace(raw.charAt(i))) i++;
  const shown = raw.slice(i);
  const fail = (what: string, at: number): TokenizedLine => ({
    ok: false,
    message: `${what} at position ${at + 1}:`,
    context: [`  ${printable(shown)}`, `  ${' '.repeat(Math.max(0, at - (raw.length - shown.length)))}^`],
  });

  for (; i < raw.length; ) {
    const c = raw.charAt(i);
    if (c === '\r' || c === '\n') break;
    if (c === '#' && squote < 0 && dquote < 0) break;
    if (c === '"' && squote < 0) {
      dquote = dquote < 0 ? i : -1;
      i++;
    } else if (c === "'" && dquote < 0) {
      squote = squote < 0 ? i : -1;
      i++;
    } else if (c === '\\' && squote < 0) {
      const n = raw.charAt(i + 1);
      if (n === ' ' || n === '\\' || n === '#' || n === "'" || n === '"') {
        word += n;
        i += 2;
      } else if (n === 't' || n === 'n' || n === 'r') {
        word += n === 't' ? '\t' : n === 'n' ? '\n' : '\r';
        i += 2;
      } else if (n === '$' && dquote >= 0) {
        word += '$';
        i += 2;
      } else if (n === 'x') {
        const h1 = raw.charAt(i + 2);
        const h2 = raw.charAt(i + 3);
        if (!HEX.test(h1) || !HEX.test(h2)) return fail('truncated or invalid hexadecimal sequence', i);
        word += String.fromCharCode(Number.parseInt(h1 + h2, 16));
        i += 4;
      } else {
        word += '\\';
        i++;
      }
    } else if (isSpace(c) && squote < 0 && dquote < 0) {
      while (i < raw.length && isSpace(raw.charAt(i))) i++;
      words.push(word);
      word = '';
      const next = raw.charAt(i);
      if (words.length >= MAX_LINE_WORDS && next !== '' && next !== '#' && next !== '\r' && next !== '\n') {
        return tooMany(words);
      }
    } else if (c === '$' && dquote >= 0) {
      i++;
      let brace = -1;
      if (raw.charAt(i) === '{') brace = i++;
      const first = raw.charAt(i);
      if (!isAlpha(first) && first !== '_' && first !== '.') {
        return fail('forbidden first char in environment variable name', i);
      }
      const nameStart = i;
      if (first === '.') i++;
      while (i < raw.length && (isAlnum(raw.charAt(i)) || raw.charAt(i) === '_')) i++;
      const name = raw.slice(nameStart, i);
      let value: string | undefined;
      if (name.startsWith('.')) {
        if (name === '.LINE') value = String(where.line);
        else if (name === '.FILE') value = where.file;
        else if (name === '.SECTION') value = where.section;
        else return fail('forbidden first char in environment variable name', nameStart);
      } else {
        value = Object.hasOwn(env, name) ? env[name] : undefined;
      }
      let expandWords = false;
      if (brace >= 0 && raw.charAt(i) === '[') {
        if (raw.charAt(i + 1) !== '*' || raw.charAt(i + 2) !== ']') {
          return fail('truncated or invalid word expansion sequence', i);
        }
        expandWords = true;
        i += 3;
      }
      if (brace >= 0) {
        if (raw.charAt(i) === '-') {
          const close = raw.indexOf('}', i);
          if (close < 0) return fail('unmatched brace in environment variable name', brace);
          value ??= raw.slice(i + 1, close);
          i = close;
        } else if (raw.charAt(i) !== '}') {
          return fail('unmatched brace in environment variable name', brace);
        }
        i++;
      }
      if (value === undefined) {
        if (!name.startsWith('.')) unsetVariables.push(name);
        continue;
      }
      if (!expandWords) {
        word += value;
        continue;
      }
      for (let k = 0; k < value.length; ) {
        if (isSpace(value.charAt(k)) || value.charAt(k) === '\n' || value.charAt(k) === '\r') {
          words.push(word);
          word = '';
          if (words.length >= MAX_LINE_WORDS) return tooMany(words);
          while (k < value.length && (isSpace(value.charAt(k)) || value.charAt(k) === '\n' || value.charAt(k) === '\r')) k++;
        } else {
          word += value.charAt(k++);
        }
      }
    } else {
      word += c;
      i++;
    }
  }
  if (squote >= 0 || dquote >= 0) return fail('unmatched quote', Math.max(squote, dquote));
  // Like HAProxy, a last empty word (trailing spaces, or a trailing "") is not a word.
  if (word.length > 0) words.push(word);
  return { ok: true, words, unsetVariables };
}

function tooMany(words: readonly string[]): TokenizedLine {
  const last = words[MAX_LINE_WORDS - 1] ?? '';
  let position = 1;
  for (let k = 0; k < MAX_LINE_WORDS - 1; k++) position += (words[k]?.length ?? 0) + 1;
  return {
    ok: false,
    message: `too many words, truncating after word ${MAX_LINE_WORDS}, position ${position}: <${last}>.`,
    context: [],
  };
}

/** Replaces control characters with '?' and shortens very long lines, as HAProxy does before printing one. */
export function printable(text: string, width = 80): string {
  const shortened = text.length > width ? `${text.slice(0, width - 3)}...` : text;
  return shortened.replace(/[\x00-\x1f\x7f]/g, '?');
}
