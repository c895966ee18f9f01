/**
 * One statement of a configuration as the section readers see it: its words, its `no`/`default`
 * modifier and where to report problems about it. Internal.
 */
import type { ConfigDiagnostic, DiagnosticShape } from './diagnostics.js';
import type { SourceLocation } from './types.js';

/** A tokenized line with its reporters. */
export interface ConfigLine {
  readonly at: SourceLocation;
  /** The words; `words[0]` is the keyword (the `no`/`default` modifier already removed). */
  readonly words: readonly string[];
  /** `no option x` → 'no'; `default option x` → 'default'. */
  readonly modifier: 'none' | 'no' | 'default';
  /** Reports an error (the configuration is invalid); returns it, so that it can be retracted. */
  alert(keyword: string, message: string, shape?: DiagnosticShape): ConfigDiagnostic;
  /** Reports a warning (the configuration stays valid). */
  warn(keyword: string, message: string, shape?: DiagnosticShape): void;
  /** Reports what HAProxy prints as an `[ALERT]` but does not count as an error (the configuration stays valid). */
  nonFatalAlert(keyword: string, message: string, shape?: DiagnosticShape): void;
}

/** HAProxy's name for a proxy kind in messages: a `listen` section is a "proxy". */
export function proxyTypeName(kind: 'defaults' | 'frontend' | 'backend' | 'listen'): string {
  return kind === 'listen' ? 'proxy' : kind;
}

/** How messages name a section: `backend 'web'`, `proxy 'web'` (listen), `defaults section 'tcp'`, `defaults section`. */
export function describeSection(kind: 'defaults' | 'frontend' | 'backend' | 'listen', name: string): string {
  if (kind === 'defaults') return name === '' ? 'defaults section' : `defaults section '${name}'`;
  return `${proxyTypeName(kind)} '${name}'`;
}
