/**
 * `parseHaproxyConfig(text)`: reads the TCP subset of an HAProxy 2.6 configuration into a plain,
 * fully-resolved {@link HaproxyConfig}, or throws one `LbError` (`ERR_LB_CONFIG`) listing every error with
 * its file, line and keyword, worded as `haproxy -c` words it. Pure: no I/O (see `loadHaproxyConfigFile`).
 */
import { configError, DiagnosticLog, type DiagnosticShape } from './diagnostics.js';
import { draftFromDefaults, emptyDraft, type ProxyDraft } from './draft.js';
import { checkDrafts, freezeBackend, freezeCommon, freezeDefaults, freezeFrontend } from './finish.js';
import type { ConfigLine } from './line.js';
import { proxyTypeName } from './line.js';
import { tokenizeLine, type ConfigEnv } from './tokenizer.js';
import type { BackendConfig, FrontendConfig, HaproxyConfig, ListenConfig, SourceLocation } from './types.js';
import { applyGlobalLine, emptyGlobal, freezeGlobal, type GlobalDraft } from './global-section.js';
import { own, SUPPORTED_SECTIONS, UNSUPPORTED_SECTIONS, type SectionKind } from './keywords.js';
import { applyProxyLine } from './proxy-section.js';
import { invalidNameChar } from './server-line.js';

/** Options of {@link parseHaproxyConfig}. */
export interface ParseHaproxyConfigOptions {
  /** Name used in messages (`parsing [<fileName>:12] : …`). @defaultValue 'haproxy.cfg' */
  readonly fileName?: string;
  /** Variables for `"${VAR}"` expansion (only inside double quotes, as in HAProxy). @defaultValue process.env */
  readonly env?: ConfigEnv;
}

/** The section the next lines belong to. */
type Current =
  | { readonly kind: 'none' }
  | { readonly kind: 'global' }
  | { readonly kind: 'proxy'; readonly draft: ProxyDraft }
  | { readonly kind: 'skipped' };

const CONDITIONALS = new Set(['.if', '.elif', '.else', '.endif']);

/**
 * Parses an HAProxy configuration. Returns the description with its warnings, or throws an `LbError`
 * with code `ERR_LB_CONFIG` whose `details.diagnostics` lists every alert and warning
 * (`{ severity, file, line, keyword, message, text }`). Never throws anything else, whatever the input.
 *
 * @example
 * ```ts
 * const config = parseHaproxyConfig(text, { fileName: 'haproxy.cfg' })
 * for (const w of config.warnings) console.warn(w.text)
 * const web = config.backends.find((b) => b.name === 'web')
 * ```
 */
export function parseHaproxyConfig(text: string, options: ParseHaproxyConfigOptions = {}): HaproxyConfig {
  return parseHaproxyConfigSources([{ fileName: options.fileName ?? 'haproxy.cfg', text }], options.env ?? process.env);
}

/** One configuration file's name and text. */
export interface ConfigSource {
  readonly fileName: string;
  readonly text: string;
}

/**
 * Parses several files as one configuration, like `haproxy -f a.cfg -f b.cfg`: sections accumulate, and each
 * file starts outside any section. Same result and errors as {@link parseHaproxyConfig}.
 */
export function parseHaproxyConfigSources(sources: readonly ConfigSource[], env: ConfigEnv = process.env): HaproxyConfig {
  const log = new DiagnosticLog();
  const global: GlobalDraft = emptyGlobal();
  const defaults: ProxyDraft[] = [];
  const proxies: ProxyDraft[] = [];
  let file = sources[sources.length - 1]?.fileName ?? 'haproxy.cfg';
  let lastLine = 0;
  for (const source of sources) {
    if (log.full) break;
    file = source.fileName;
    lastLine = readSource(source, env, { global, defaults, proxies, log });
  }
  if (log.full) log.add('alert', { file, line: lastLine }, '', `too many fatal errors (${log.alertCount}), stopping now.`, 'reader');

  checkDrafts({ defaults, proxies, globalLogTargets: global.log.length, ...(global.serverStateFile === undefined ? {} : { serverStateFile: global.serverStateFile }) }, log);
  if (log.alertCount > 0) throw configError(file, log.all);

  const frontends: FrontendConfig[] = [];
  const backends: BackendConfig[] = [];
  const listens: ListenConfig[] = [];
  for (const p of proxies) {
    if (p.kind === 'frontend') frontends.push({ kind: 'frontend', ...freezeCommon(p), ...freezeFrontend(p) });
    else if (p.kind === 'backend') backends.push({ kind: 'backend', ...freezeCommon(p), ...freezeBackend(p) });
    else listens.push({ kind: 'listen', ...freezeCommon(p), ...freezeFrontend(p), ...freezeBackend(p) });
  }
  return {
    global: freezeGlobal(global),
    defaults: defaults.map(freezeDefaults),
    frontends,
    backends,
    listens,
    warnings: log.all,
  };
}


interface ParseState {
  readonly global: GlobalDraft;
  readonly defaults: ProxyDraft[];
  readonly proxies: ProxyDraft[];
  readonly log: DiagnosticLog;
}

/** Reads the lines of one file into the shared state; returns the number of its last line. */
function readSource(source: ConfigSource, env: ConfigEnv, state: ParseState): number {
  const { global, defaults, proxies, log } = state;
  const file = source.fileName;
  const text = source.text;
  let current: Current = { kind: 'none' };
  let sectionName = '';
  let skippingConditional = 0;

  const lines = String(text).split('\n');
  // A final newline ends the last line; it does not start another one.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  else if (lines.length > 0 && (lines[lines.length - 1] ?? '') !== '') {
    const last = lines[lines.length - 1] ?? '';
    log.add('warning', { file, line: lines.length }, '', `Missing LF on last line, file might have been truncated at position ${last.length + 1}.`, 'reader');
  }

  for (let index = 0; index < lines.length && !log.full; index++) {
    const at: SourceLocation = { file, line: index + 1 };
    const raw = lines[index] ?? '';
    const report = (severity: 'alert' | 'warning' | 'nonfatal-alert') => (keyword: string, message: string, shape?: DiagnosticShape, context?: readonly string[]) =>
      log.add(severity, at, keyword, message, shape, context);
    const alert = report('alert');

    const nul = raw.indexOf('\0');
    if (nul >= 0) {
      alert('', `Stray NUL character at position ${nul + 1}.`, 'reader');
      continue;
    }
    if (/^\s*\[/.test(raw)) {
      alert('', `configuration scopes ('[…]' lines) are not supported in switchyard.`, 'reader');
      continue;
    }
    const tokens = tokenizeLine(raw, env, { file, line: at.line, section: sectionName });
    if (!tokens.ok) {
      alert('', tokens.message, 'reader', tokens.context);
      continue;
    }
    let words = tokens.words;
    if (words.length === 0 || words[0] === '') continue;
    for (const name of tokens.unsetVariables) {
      log.add('warning', at, words[0] ?? '', `environment variable '${name}' is not set; it expands to an empty string.`);
    }

    const first = words[0] ?? '';
    if (first.startsWith('.')) {
      if (CONDITIONALS.has(first)) {
        if (first === '.if') {
          if (skippingConditional === 0) alert(first, `conditional blocks ('.if') are not supported in switchyard; the block is skipped.`, 'reader');
          skippingConditional++;
        } else if (first === '.endif') {
          if (skippingConditional === 0) alert(first, `lone '.endif' with no matching '.if'.`, 'reader');
          else skippingConditional--;
        } else if (skippingConditional === 0) {
          alert(first, `lone '${first}' with no matching '.if'.`, 'reader');
        }
        continue;
      }
      if (skippingConditional > 0) continue;
      if (first === '.alert') alert(first, `'${words[1] ?? ''}'.`, 'reader');
      else if (first === '.warning') report('warning')(first, `'${words[1] ?? ''}'.`, 'reader');
      else if (first !== '.notice' && first !== '.diag') alert(first, `unknown directive '${first}'.`, 'reader');
      continue;
    }
    if (skippingConditional > 0) continue;

    let modifier: ConfigLine['modifier'] = 'none';
    if ((first === 'no' || first === 'default') && words.length > 1) {
      modifier = first;
      words = words.slice(1);
    }
    const keyword = words[0] ?? '';

    if ((SUPPORTED_SECTIONS as readonly string[]).includes(keyword)) {
      current = startSection(keyword as SectionKind, words, at, { defaults, proxies, log });
      sectionName = words[1] !== undefined && keyword !== 'global' ? words[1] : keyword;
      continue;
    }
    const unsupportedReason = own(UNSUPPORTED_SECTIONS, keyword);
    if (unsupportedReason !== undefined) {
      alert(keyword, `'${keyword}' sections are not supported in switchyard: ${unsupportedReason}.`);
      current = { kind: 'skipped' };
      sectionName = words[1] ?? keyword;
      continue;
    }

    const line: ConfigLine = { at, words, modifier, alert, warn: report('warning'), nonFatalAlert: report('nonfatal-alert') };
    switch (current.kind) {
      case 'none':
        alert(keyword, `unknown keyword '${keyword}' out of section.`, 'reader');
        break;
      case 'global':
        applyGlobalLine(line, global);
        break;
      case 'proxy':
        applyProxyLine(line, current.draft);
        break;
      case 'skipped':
        break;
    }
  }
  if (skippingConditional > 0 && !log.full) log.add('alert', { file, line: lines.length }, '.if', "non-terminated '.if' block.", 'reader');
  return lines.length;
}

interface SectionState {
  readonly defaults: ProxyDraft[];
  readonly proxies: ProxyDraft[];
  readonly log: DiagnosticLog;
}

/** Starts a section: checks its header line and creates its draft from the right defaults section. */
function startSection(kind: SectionKind, words: readonly string[], at: SourceLocation, state: SectionState): Current {
  const { log } = state;
  if (kind === 'global') return { kind: 'global' };

  let name = words[1];
  let from: string | undefined;
  let rest = words.slice(2);
  if (kind === 'defaults' && name === 'from') {
    name = '';
    rest = words.slice(1);
  }
  if (rest.length > 0) {
    if (rest[0] === 'from' && rest[1] !== undefined && rest.length === 2) {
      from = rest[1];
    } else {
      log.add('alert', at, kind, `please use the 'bind' keyword for listening addresses.`);
      return { kind: 'skipped' };
    }
  }
  if (kind !== 'defaults' && (name === undefined || name === '')) {
    log.add('alert', at, kind, `'${kind}' expects an <id> argument`);
    return { kind: 'skipped' };
  }
  name ??= '';
  const bad = invalidNameChar(name);
  if (bad !== undefined && kind !== 'defaults') {
    log.add('alert', at, kind, `character '${bad}' is not permitted in '${kind}' name '${name}'.`);
    return { kind: 'skipped' };
  }

  if (kind !== 'defaults') {
    const clash = state.proxies.find((p) => p.name === name && (kind === 'listen' || p.kind === 'listen' || p.kind === kind));
    if (clash !== undefined) {
      log.add('alert', at, kind, `Parsing [${at.file}:${at.line}]: ${proxyTypeName(kind)} '${name}' has the same name as ${proxyTypeName(clash.kind)} '${name}' declared at ${clash.source.file}:${clash.source.line}.`, 'no-location');
    }
  }

  let base: ProxyDraft | undefined;
  if (from !== undefined) {
    const found = state.defaults.filter((d) => d.name === from);
    if (found.length === 0) {
      log.add('alert', at, 'from', `defaults section '${from}' not found for ${proxyTypeName(kind)} '${name}'.`);
    } else if (found.length > 1) {
      const [a, b] = found;
      log.add('alert', at, 'from', `ambiguous defaults section name '${from}' referenced by ${proxyTypeName(kind)} '${name}' exists at least at ${a?.source.file}:${a?.source.line} and ${b?.source.file}:${b?.source.line}.`);
    } else {
      base = found[0];
    }
  } else if (kind !== 'defaults') {
    base = state.defaults[state.defaults.length - 1];
  }
  const draft = base === undefined ? emptyDraft(kind, name, at) : draftFromDefaults(kind, name, at, base, base.name);
  if (from !== undefined) draft.from = from;
  if (kind === 'defaults') state.defaults.push(draft);
  else state.proxies.push(draft);
  return { kind: 'proxy', draft };
}
