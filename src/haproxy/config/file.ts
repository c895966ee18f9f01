/**
 * Reading configuration files from disk: the only I/O of the HAProxy configuration face.
 */
import { readFile } from 'node:fs/promises';
import { LbError } from '../../errors.js';
import type { ConfigDiagnostic } from './diagnostics.js';
import { parseHaproxyConfigSources, type ConfigSource } from './parser.js';
import type { ConfigEnv } from './tokenizer.js';
import type { HaproxyConfig } from './types.js';

/** Options of {@link loadHaproxyConfigFile}. */
export interface LoadHaproxyConfigOptions {
  /** Variables for `"${VAR}"` expansion. @defaultValue process.env */
  readonly env?: ConfigEnv;
}

/**
 * Reads and parses one configuration file, or several as `haproxy -f a.cfg -f b.cfg` does (sections
 * accumulate in order). Messages name each file as the path was given. Rejects with `ERR_LB_CONFIG` when a
 * file cannot be read (the diagnostic is on line 0, HAProxy's "Cannot open configuration file" wording,
 * `cause` = the fs error) or when the configuration has errors (see `parseHaproxyConfig`).
 *
 * @example
 * ```ts
 * const config = await loadHaproxyConfigFile('/etc/haproxy/haproxy.cfg')
 * ```
 */
export async function loadHaproxyConfigFile(path: string | readonly string[], options: LoadHaproxyConfigOptions = {}): Promise<HaproxyConfig> {
  const paths = typeof path === 'string' ? [path] : [...path];
  const sources: ConfigSource[] = [];
  for (const p of paths) {
    try {
      sources.push({ fileName: p, text: await readFile(p, 'utf8') });
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory'
        : (err as NodeJS.ErrnoException).code === 'EACCES' ? 'Permission denied'
        : (err as NodeJS.ErrnoException).code === 'EISDIR' ? 'Is a directory'
        : (err as Error).message;
      const message = `Cannot open configuration file/directory ${p} : ${reason}`;
      const diagnostic: ConfigDiagnostic = { severity: 'alert', file: p, line: 0, keyword: '', message, text: message };
      throw new LbError('ERR_LB_CONFIG', message, { cause: err, details: { file: p, diagnostics: [diagnostic] } });
    }
  }
  return parseHaproxyConfigSources(sources, options.env ?? process.env);
}
