import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { circles, graph, layerProblems } from '../scripts/check-layers.js';

const src = new URL('../src/', import.meta.url);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('the house (docs/architecture.md)', () => {
  it('has no import circle and no import from a lower layer to a higher one', () => {
    assert.deepEqual(layerProblems(), []);
  });

  it('finds a circle when there is one (the check can fail)', () => {
    const g = graph();
    g.set('errors.ts', [...(g.get('errors.ts') ?? []), 'pool.ts']);
    assert.ok(circles(g).some((c) => c.includes('errors.ts') && c.includes('pool.ts')));
    assert.ok(layerProblems(g).some((p) => p.startsWith('errors.ts (foundation) imports pool.ts (pool)')));
  });

  it('keeps every src/ file under 400 lines', () => {
    const long = sourceFiles(src.pathname)
      .map((f) => [path.relative(src.pathname, f), fs.readFileSync(f, 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 400);
    assert.deepEqual(long, []);
  });
});
