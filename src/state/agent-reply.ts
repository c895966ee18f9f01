import type { CheckResult } from './check-result.js';
import type { AdminState } from './server-options.js';

/**
 * HAProxy's agent protocol (`src/tcpcheck.c tcpcheck_agent_expect_reply()`, `src/server.c
 * server_parse_weight_change_request()` and `server_parse_maxconn_change_request()`) as a pure function: what one
 * reply line asks of a server, and the agent check's status and info. The {@link Pool} applies it.
 *
 * A reply is one line of words separated by spaces, tabs or commas, case-insensitive, in any order, the last of a
 * kind winning: a health word (`up`, `down`, `stopped`, `fail`), an admin word (`ready`, `drain`, `maint`), a weight
 * (`75%`, of the initial weight), `maxconn:<n>` (0 = unlimited); `#` starts a description, used only with a health
 * word. Anything else is an error word (the first is reported).
 */
export interface AgentPlan {
  /** The admin state the reply asks for. */
  readonly admin?: AdminState;
  /** The user weight it sets (0–256). */
  readonly weight?: number;
  /** The maxconn it sets (0 = unlimited). */
  readonly maxconn?: number;
  /** `up`: health full; `down` (also `stopped`, `fail`): health 0. */
  readonly health?: 'up' | 'down';
  /** The agent check's result: `L7OK`/`L7STS` `via agent : …` with a health word, else `CHECKED`. */
  readonly result: CheckResult;
}

/** Splits a reply into its words and its description (HAProxy's loop over the line). */
function words(line: string): { readonly words: readonly string[]; readonly description: string } {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === ',') {
      i++;
      continue;
    }
    if (ch === '#') {
      i++;
      while (line[i] === ' ' || line[i] === '\t') i++;
      return { words: out, description: line.slice(i).replace(/^[ \n]+/, '') };
    }
    let end = i + 1;
    while (end < line.length && !' \t\n,'.includes(line[end]!)) end++;
    out.push(line.slice(i, end));
    i = end + 1;
  }
  return { words: out, description: '' };
}

/** `strtol()`: leading blanks, a sign, digits; the rest of the text. */
function strtol(text: string): { readonly value: number | undefined; readonly rest: string } {
  const m = /^\s*([+-]?\d+)/.exec(text);
  if (m === null) return { value: undefined, rest: text };
  return { value: Number(m[1]), rest: text.slice(m[0].length) };
}

/** A weight word (`50%`, `30`): the weight, or HAProxy's warning. */
export function agentWeight(text: string, initialWeight: number): number | string {
  const { value, rest } = strtol(text);
  if (value === undefined) return 'Empty weight string empty or preceded by garbage';
  if (rest === '%') {
    if (value < 0) return 'Relative weight must be positive.';
    return Math.min(256, Math.floor((initialWeight * value) / 100));
  }
  if (value < 0 || value > 256) return 'Absolute weight can only be between 0 and 256 inclusive.';
  if (rest !== '') return 'Trailing garbage in weight string';
  return value;
}

/** The text after `maxconn:`: the limit, or HAProxy's warning. */
export function agentMaxconn(text: string): number | string {
  if (text === '') return 'Require <maxconn>.';
  const { value, rest } = strtol(text);
  if (value === undefined) return 'maxconn string empty or preceded by garbage';
  if (rest !== '') return 'Trailing garbage in maxconn string';
  return Math.max(0, Math.min(value, 2_147_483_647));
}

/**
 * One agent check, as reported to `pool.reportAgent()`: the reply line (its first line is read, without line end),
 * or a result when the agent could not be asked (`L4CON` `Connection refused`, `L4TOUT`, or the previous status with
 * `Ignoring incomplete line from agent`), which changes nothing but the agent's status.
 */
export type AgentReport =
  | { readonly line: string; readonly durationMs?: number }
  | { readonly result: CheckResult }
  /** HAProxy `set server … agent up|down`: the agent's health forced, the server up or down with it. */
  | { readonly force: 'up' | 'down' }
  /**
   * HAProxy `enable agent` / `disable agent`: the agent check runs and applies, or not (its columns go empty, its
   * "down" no longer keeps the server down). The only report a disabled agent accepts.
   */
  | { readonly enabled: boolean };

/** What one reply line asks for, and the agent check's result (without its duration). */
export function planAgentReply(line: string, initialWeight: number): AgentPlan {
  const { words: list, description } = words(line);
  let health: { word: string; up: boolean } | undefined;
  let admin: string | undefined;
  let weightWord: string | undefined;
  let maxconnWord: string | undefined;
  let error: string | undefined;
  for (const word of list) {
    const w = word.toLowerCase();
    if (w === 'up') health = { word, up: true };
    else if (w === 'down' || w === 'stopped' || w === 'fail') health = { word, up: false };
    else if (w === 'ready' || w === 'drain' || w === 'maint') admin = w;
    else if (/^\d/.test(word) && word.includes('%')) weightWord = word;
    else if (w.startsWith('maxconn:')) maxconnWord = word.slice('maxconn:'.length);
    else error ??= word;
  }
  let warning: string | undefined;
  let weight: number | undefined;
  let maxconn: number | undefined;
  if (weightWord !== undefined) {
    const r = agentWeight(weightWord, initialWeight);
    if (typeof r === 'number') weight = r;
    else warning = r;
  }
  if (maxconnWord !== undefined) {
    const r = agentMaxconn(maxconnWord);
    if (typeof r === 'number') maxconn = r;
    else warning ??= r;
  }
  let result: CheckResult;
  if (health !== undefined) {
    let msg = description;
    if (msg === '' || health.up) msg = error ?? warning ?? msg;
    const info = `via agent : ${health.word}${msg === '' ? '' : ` (${msg})`}`;
    result = health.up ? { status: 'L7OK', code: 0, info } : { status: 'L7STS', code: 0, info };
  } else if (error !== undefined) {
    result = { status: 'CHECKED', info: `agent reports an error : ${error}` };
  } else if (warning !== undefined) {
    result = { status: 'CHECKED', info: `agent warns : ${warning}` };
  } else {
    result = { status: 'CHECKED' };
  }
  return {
    ...(admin === undefined ? {} : { admin: admin as AdminState }),
    ...(weight === undefined ? {} : { weight }),
    ...(maxconn === undefined ? {} : { maxconn }),
    ...(health === undefined ? {} : { health: health.up ? 'up' : 'down' }),
    result,
  };
}
