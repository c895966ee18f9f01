import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Pool } from '../../../src/pool.js';
import type { Server } from '../../../src/server.js';
import { ServerMap, mapWeights } from '../../../src/strategies/internal/map-table.js';
import { servers } from '../../helpers/picks.js';

/** HAProxy's recalc_server_map() loop, transcribed literally: O(slots × servers). */
function literalMap(list: readonly Server[]): string[] {
  const weights = mapWeights(list);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 1) return [list[weights.findIndex((w) => w > 0)]!.name];
  const score = weights.map(() => 0);
  const table: string[] = [];
  for (let slot = 0; slot < total; slot++) {
    let best = -1;
    let max = 0;
    for (let i = 0; i < list.length; i++) {
      if (weights[i] === 0) continue;
      score[i]! += weights[i]!;
      const v = Math.trunc((score[i]! + total) / total);
      if (best < 0 || v > max) {
        max = v;
        best = i;
      }
    }
    table.push(list[best]!.name);
    score[best]! -= total;
  }
  return table;
}

function built(list: readonly Server[]): string[] {
  const map = new ServerMap();
  map.rebuild(list);
  return Array.from({ length: map.size }, (_, i) => map.at(i)!.name);
}

describe('ServerMap', () => {
  it('lays out weights 1,2,3 as HAProxy does: s1 s3 s2 s3 s2 s3', () => {
    assert.deepEqual(built(new Pool('be', { servers: servers([1, 2, 3]) }).servers), ['s1', 's3', 's2', 's3', 's2', 's3']);
  });

  it('fills the same table as the literal HAProxy loop for any weights', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 256 }), { minLength: 1, maxLength: 24 }), (weights) => {
        fc.pre(weights.some((w) => w > 0));
        const list = new Pool('be', { servers: servers(weights) }).servers;
        assert.deepEqual(built(list), literalMap(list));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('builds a table for 100 000 servers (linear-logarithmic, not quadratic)', () => {
    const pool = new Pool('be');
    for (let i = 0; i < 100_000; i++) pool.add({ name: `s${i}`, host: '127.0.0.1', port: 1 + (i % 60000) });
    const map = new ServerMap();
    map.rebuild(pool.servers);
    assert.equal(map.size, 100_000);
    assert.equal(map.at(0)!.name, 's0');
    assert.equal(new Set(Array.from({ length: map.size }, (_, i) => map.at(i))).size, 100_000);
  });
});
