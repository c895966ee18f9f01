import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { LbError } from '../../src/errors.js';
import type { ConfigDiagnostic } from '../../src/haproxy/config/diagnostics.js';
import { parseHaproxyConfig } from '../../src/haproxy/config/parser.js';

/**
 * The fuzzing property of parseHaproxyConfig and its input generators, shared by test/haproxy/config/fuzz.test.ts
 * (`npm test`, a few hundred runs) and test/reliability/fuzz.rel.ts (the reliability sizes).
 */

/** A hang guard, not a benchmark: any single parse taking this long means something is super-linear. */
export const MAX_PARSE_MS = 2000;

export const WALKTHROUGH = readFileSync(new URL('../../examples/haproxy.cfg', import.meta.url), 'utf8');

/** The property of issue 7: returns, or throws an ERR_LB_CONFIG LbError whose diagnostics have line numbers; never anything else, never slowly. */
export function parsesOrRejectsCleanly(text: string): void {
  const start = process.hrtime.bigint();
  try {
    const config = parseHaproxyConfig(text, { fileName: 'fuzz.cfg', env: { HOST: '127.0.0.1', OPTS: 'check weight 2' } });
    for (const w of config.warnings) assert.ok(Number.isInteger(w.line) && w.line >= 1, `warning with a line number: ${w.text}`);
  } catch (err) {
    assert.ok(LbError.is(err), `only LbError is thrown, got ${String(err)}`);
    assert.equal(err.code, 'ERR_LB_CONFIG');
    const diagnostics = err.details['diagnostics'] as readonly ConfigDiagnostic[];
    assert.ok(diagnostics.some((d) => d.severity === 'alert'), 'a rejection carries at least one alert');
    for (const d of diagnostics) {
      assert.ok(Number.isInteger(d.line) && d.line >= 1, `diagnostic with a line number: ${d.text}`);
      assert.equal(d.file, 'fuzz.cfg');
      assert.equal(typeof d.message, 'string');
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(ms < MAX_PARSE_MS, `parse took ${ms.toFixed(0)} ms`);
}

/** Words that steer the parser into its interesting paths. */
const WORDS = [
  'global', 'defaults', 'frontend', 'backend', 'listen', 'resolvers', 'from', 'no', 'default', 'bind', 'mode', 'tcp', 'http',
  'balance', 'random(3)', 'source', 'hash-type', 'consistent', 'default_backend', 'use_backend', 'server', 'default-server',
  'check', 'inter', 'fastinter', 'rise', 'fall', 'weight', 'backup', 'observe', 'layer4', 'on-error', 'id', 'init-state',
  'timeout', 'connect', 'client', 'retries', 'option', 'redispatch', 'httpchk', 'tcp-check', 'send', 'send-binary', 'expect',
  'rstring', 'binary', '!', 'log', 'stats', 'socket', 'level', 'admin', 'spread-checks', '.if', '.endif', '.alert',
  'constructor', '__proto__', 'toString', 'hasOwnProperty', 'web', 's1', '127.0.0.1:80', '[::1]:8080', '*:80', ':::1',
  '4', '4s', '25d', '1m30s', '0', '-1', '99999999999999999999', '"${HOST}:80"', '"${OPTS[*]}"', '"$', "'", '"', '\\',
  '\\x4', '\\x41', '#', '${', '(', '((((', '^(a+)+$', 'ffff', 'abc',
];

const line = fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }).map((ws) => ws.join(' '));
export const configLike = fc.array(fc.oneof(line, line.map((l) => `  ${l}`), fc.string({ maxLength: 40 })), { maxLength: 40 }).map((ls) => ls.join('\n'));

/** Edits that keep most of a valid file: the kind of damage a hand edit does. */
export const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('x', '"', "'", '\\', '#', ' ', '\n', '$', '{', 'check ', '\0', '\r') }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

export type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

export function mutate(text: string, m: Mutation): string {
  const at = m.at % (text.length + 1);
  const lines = text.split('\n');
  switch (m.kind) {
    case 'insert': return text.slice(0, at) + m.text + text.slice(at);
    case 'delete': return text.slice(0, at) + text.slice(at + m.length);
    case 'truncate': return text.slice(0, at);
    case 'duplicate-line': {
      const i = m.at % lines.length;
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    case 'swap-lines': {
      const i = m.at % lines.length;
      const j = m.with % lines.length;
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      return lines.join('\n');
    }
  }
}


/** Any string: binary code units, up to 400. */
export const anyText = fc.string({ unit: 'binary', maxLength: 400 });

/** A valid configuration (the walk-through) with one to six hand-edit-like mutations. */
export const mutatedWalkthrough = fc.array(mutation, { minLength: 1, maxLength: 6 }).map((ms) => ms.reduce(mutate, WALKTHROUGH));
