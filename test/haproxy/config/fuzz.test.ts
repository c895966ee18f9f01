import { describe, it } from 'node:test';
import fc from 'fast-check';
import { anyText, configLike, mutatedWalkthrough, parsesOrRejectsCleanly } from '../../helpers/config-fuzz.js';

describe('parseHaproxyConfig under hostile input (issue 7, fuzzing)', () => {
  it('returns or throws an LbError with line numbers for arbitrary strings', () => {
    fc.assert(fc.property(anyText, parsesOrRejectsCleanly), { numRuns: 500 });
  });

  it('returns or throws an LbError with line numbers for configuration-like word soup', () => {
    fc.assert(fc.property(configLike, parsesOrRejectsCleanly), { numRuns: 500 });
  });

  it('returns or throws an LbError with line numbers for mutated copies of a valid configuration', () => {
    fc.assert(fc.property(mutatedWalkthrough, parsesOrRejectsCleanly), { numRuns: 500 });
  });

  it('stays fast on very long lines, very many lines and huge variable expansions', () => {
    parsesOrRejectsCleanly(`backend b\n  server s1 127.0.0.1:1 ${'x'.repeat(200_000)}\n`);
    parsesOrRejectsCleanly(`${'#'.repeat(100_000)}\n`.repeat(20));
    parsesOrRejectsCleanly(`defaults\n${'  retries 1\n'.repeat(50_000)}`);
    parsesOrRejectsCleanly(`backend b\n${'  server s 127.0.0.1:1\n'.repeat(3000)}`);
    parsesOrRejectsCleanly(`backend b\n  server "${'${OPTS[*]}'.repeat(1000)}" 127.0.0.1:1\n`);
    parsesOrRejectsCleanly(`backend b\n  ${'a'.repeat(50_000)}\n  ${'b'.repeat(50_000)}\n`);
  });
});
