/**
 * Alerts and warnings about a configuration, with the location and wording `haproxy -c` uses, and the
 * one {@link LbError} (`ERR_LB_CONFIG`) that carries them when the configuration is invalid.
 */
import { LbError } from '../../errors.js';

/** `alert` makes the configuration invalid (HAProxy's `[ALERT]`); `warning` does not (`[WARNING]`). */
export type DiagnosticSeverity = 'alert' | 'warning';

/** One problem found in a configuration. */
export interface ConfigDiagnostic {
  readonly severity: DiagnosticSeverity;
  /** The file name (or the `fileName` option). */
  readonly file: string;
  /** 1-based line the problem is on (the line of the keyword that refers to it, for cross-section checks). */
  readonly line: number;
  /** The keyword concerned (`balance`, `inter`, `frontend`…), or '' for a line-level problem. */
  readonly keyword: string;
  /** The message alone, without location. */
  readonly message: string;
  /**
   * The text HAProxy prints after `config : `, location included, e.g.
   * `parsing [haproxy.cfg:9] : unknown keyword 'balanc' in 'backend' section; did you mean 'balance' maybe ?`.
   * May span several lines (caret lines, the explanation of "missing timeouts").
   */
  readonly text: string;
  /**
   * `alert` on the few warnings HAProxy prints as `[ALERT]` without counting them as errors (a second
   * `server-state-file`: `… already specified. Continuing.`): printed as an alert, the configuration stays valid.
   */
  readonly printedAs?: 'alert';
}

/** Most fatal errors reported before giving up, like HAProxy (`too many fatal errors (50), stopping now.`). */
export const MAX_ALERTS = 50;

/**
 * Renders a diagnostic as HAProxy writes it on stderr:
 * `[ALERT]    (1234) : config : parsing [f:9] : …` / `[WARNING]  (1234) : config : …`.
 */
export function formatDiagnostic(diagnostic: ConfigDiagnostic, pid: number): string {
  const tag = diagnostic.severity === 'alert' || diagnostic.printedAs === 'alert' ? '[ALERT]    ' : '[WARNING]  ';
  return `${tag}(${pid}) : config : ${diagnostic.text}`;
}

/** Where a message is placed on its line: HAProxy uses four shapes depending on who reports it. */
export type DiagnosticShape =
  /** `parsing [f:l] : msg` — most section keywords. */
  | 'parsing'
  /** `parsing [f:l]: msg` — the line reader (quotes, unknown keyword out of section). */
  | 'reader'
  /** `[f:l] : msg` — server keywords (the caller prefixes `'server be/name' : `). */
  | 'bare-location'
  /** `msg` — checks done after parsing (the line is still recorded in the diagnostic). */
  | 'no-location';

/** Collects diagnostics in order; the parser's one place to report. */
export class DiagnosticLog {
  readonly #items: ConfigDiagnostic[] = [];
  #alerts = 0;

  /**
   * Records one diagnostic; `context` lines are appended to the printed text. `nonfatal-alert` records a warning
   * printed as `[ALERT]` (see {@link ConfigDiagnostic.printedAs}).
   */
  add(
    level: DiagnosticSeverity | 'nonfatal-alert',
    at: { readonly file: string; readonly line: number },
    keyword: string,
    message: string,
    shape: DiagnosticShape = 'parsing',
    context: readonly string[] = [],
  ): ConfigDiagnostic {
    const where = `[${at.file}:${at.line}]`;
    const head =
      shape === 'parsing' ? `parsing ${where} : ${message}`
      : shape === 'reader' ? `parsing ${where}: ${message}`
      : shape === 'bare-location' ? `${where} : ${message}`
      : message;
    const text = context.length > 0 ? `${head}\n${context.join('\n')}` : head;
    const severity: DiagnosticSeverity = level === 'nonfatal-alert' ? 'warning' : level;
    const item: ConfigDiagnostic = { severity, file: at.file, line: at.line, keyword, message, text, ...(level === 'nonfatal-alert' ? { printedAs: 'alert' as const } : {}) };
    this.#items.push(item);
    if (severity === 'alert') this.#alerts++;
    return item;
  }

  /** Withdraws a diagnostic recorded earlier (one that only the rest of its section could rule out). */
  retract(item: ConfigDiagnostic): void {
    const i = this.#items.indexOf(item);
    if (i < 0) return;
    this.#items.splice(i, 1);
    if (item.severity === 'alert') this.#alerts--;
  }

  /** True once {@link MAX_ALERTS} alerts were recorded: the caller stops reading. */
  get full(): boolean {
    return this.#alerts >= MAX_ALERTS;
  }

  get alertCount(): number {
    return this.#alerts;
  }

  /** Every diagnostic, in the order found. */
  get all(): readonly ConfigDiagnostic[] {
    return this.#items;
  }
}

/**
 * The error thrown for an invalid configuration: code `ERR_LB_CONFIG`, a message listing the alerts in
 * HAProxy's shape, and `details.diagnostics` with every alert and warning.
 */
export function configError(file: string, diagnostics: readonly ConfigDiagnostic[]): LbError {
  const alerts = diagnostics.filter((d) => d.severity === 'alert');
  const list = alerts.map((d) => `  ${d.text.split('\n')[0] ?? ''}`).join('\n');
  const noun = alerts.length === 1 ? 'error' : 'errors';
  return new LbError('ERR_LB_CONFIG', `${alerts.length} ${noun} in HAProxy configuration ${JSON.stringify(file)}:\n${list}`, {
    details: { file, diagnostics },
  });
}
