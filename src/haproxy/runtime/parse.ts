/**
 * Reading runtime API input as HAProxy 2.6's CLI does (`src/cli.c`): a request is one line; `;` separates
 * commands on it (`\;` keeps a literal semicolon); words are separated by spaces or tabs; a backslash makes the
 * next character literal. Any bytes give words: nothing here throws.
 */

/** Most words of one command (HAProxy `MAX_CLI_ARGS`); the rest of the line is dropped. */
export const MAX_CLI_ARGS = 64;

/** Longest request line accepted, in bytes (HAProxy's buffer is of this order). */
export const MAX_LINE_BYTES = 16_384;

/** Splits a request line into its commands, on unescaped `;`. The escapes stay for {@link splitWords}. */
export function splitCommands(line: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      i++;
    } else if (c === ';') {
      out.push(line.slice(start, i));
      start = i + 1;
    }
  }
  out.push(line.slice(start));
  return out;
}

/** The words of one command: split on spaces and tabs, backslash escapes resolved (`fe\/s1` → `fe/s1`). */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = command.length;
  while (i < n && words.length < MAX_CLI_ARGS) {
    while (i < n && (command[i] === ' ' || command[i] === '\t')) i++;
    if (i >= n) break;
    let word = '';
    while (i < n && command[i] !== ' ' && command[i] !== '\t') {
      if (command[i] === '\\' && i + 1 < n) {
        word += command[i + 1];
        i += 2;
      } else {
        word += command[i];
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

/**
 * C's `strtol(text, &end, 10)`: optional leading spaces, an optional sign, digits. Returns the value and what
 * follows the digits; `value` is undefined when no digit was read (HAProxy's "empty or preceded by garbage").
 */
export function strtol(text: string): { readonly value: number | undefined; readonly rest: string } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(text);
  if (m === null) return { value: undefined, rest: text };
  const digits = m[2] ?? '';
  let value = Number(digits.length > 15 ? digits.slice(0, 15) : digits);
  if (m[1] === '-') value = -value;
  return { value, rest: text.slice(m[0].length) };
}

/** C's `atoi()`: the leading number of `text`, 0 when there is none. */
export function atoi(text: string): number {
  return strtol(text).value ?? 0;
}
