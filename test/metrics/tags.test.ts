import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { toPrometheus } from '../../src/metrics/prometheus.js';
import { SHOW_STAT_FIELDS, showStatRecords, toShowStat } from '../../src/metrics/show-stat.js';
import { Pool } from '../../src/pool.js';
import { parsePrometheus } from '../helpers/prometheus-parser.js';

function fixture(): Pool {
  return new Pool('redis', {
    clock: new ManualClock(),
    servers: [
      { name: 'a', host: '10.0.0.1', port: 6379, tags: { 'xds.locality': 'eu/eu-a/', 'xds.cluster': 'redis' } },
      { name: 'b', host: 'fd00::2', port: 6379, tags: { 'xds.locality': 'eu/eu-b/,x' } },
      { name: 'c', host: '10.0.0.3', port: 6379 },
    ],
  });
}

/** The cells of one CSV line, HAProxy's quoting undone. */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  for (const m of line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)) {
    if (m.index === line.length) break;
    const cell = m[1]!;
    cells.push(cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell);
  }
  return cells;
}

function invalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message));
}

describe('where a server came from, in show stat and Prometheus', () => {
  it('adds the asked tags as show stat columns after HAProxy\'s, empty where a row has none', () => {
    const pool = fixture();
    const text = toShowStat(new Balancer(pool), { tags: ['xds.locality', 'xds.cluster'] });
    const [header, ...rows] = text.trimEnd().split('\n');
    assert.equal(header, `# ${SHOW_STAT_FIELDS.join(',')},xds.locality,xds.cluster,`);
    const cells = rows.map((line) => {
      const c = csvCells(line);
      assert.equal(c.length, SHOW_STAT_FIELDS.length + 2, 'two tag columns');
      return [c[0], c[1], c.at(-2), c.at(-1)];
    });
    assert.deepEqual(cells, [
      ['redis', 'a', 'eu/eu-a/', 'redis'],
      ['redis', 'b', 'eu/eu-b/,x', ''],
      ['redis', 'c', '', ''],
      ['redis', 'BACKEND', '', ''],
    ]);
    // Without the option, HAProxy's columns only.
    assert.equal(toShowStat(pool).split('\n')[0], `# ${SHOW_STAT_FIELDS.join(',')},`);
    assert.equal(Object.keys(showStatRecords(pool)[0]!).includes('xds.locality'), false);
  });

  it('refuses tag columns that are not keys or that HAProxy already uses', () => {
    const pool = fixture();
    invalid(() => toShowStat(pool, { tags: ['status'] }), /tags\[0\] must not be one of HAProxy's show stat columns, got "status"/);
    invalid(() => toShowStat(pool, { tags: [''] }), /tags\[0\] must be a non-empty string/);
    invalid(() => toShowStat(pool, { tags: 'zone' as never }), /tags must be an array of tag keys/);
    invalid(() => toShowStat(pool, { tags: ['a', 'a'] }), /tags must not name a tag twice/);
    invalid(() => showStatRecords(pool, { tags: [] } as never), /show stat options.tags is not a known option/);
  });

  it('exports one server_info series per server with its address and tags as tag_ labels', () => {
    const families = parsePrometheus(toPrometheus(fixture(), { labels: { instance: 'i1' } }));
    const info = families.get('switchyard_server_info');
    assert.ok(info);
    assert.equal(info.type, 'gauge');
    assert.deepEqual(info.samples.map((s) => [s.labels, s.value]), [
      [{ instance: 'i1', pool: 'redis', server: 'a', address: '10.0.0.1:6379', tag_xds_cluster: 'redis', tag_xds_locality: 'eu/eu-a/' }, 1],
      [{ instance: 'i1', pool: 'redis', server: 'b', address: '[fd00::2]:6379', tag_xds_locality: 'eu/eu-b/,x' }, 1],
      [{ instance: 'i1', pool: 'redis', server: 'c', address: '10.0.0.3:6379' }, 1],
    ]);
    // Tags label server_info only: every other series keeps its labels.
    assert.deepEqual(Object.keys(families.get('switchyard_server_up')!.samples[0]!.labels).sort(), ['instance', 'pool', 'server']);
  });

  it('keeps the first of two tag keys that give one label name, and refuses constant labels it could clash with', () => {
    const pool = new Pool('p', { servers: [{ name: 'a', host: '10.0.0.1', port: 1, tags: { 'z.a': 'dot', z_a: 'underscore' } }] });
    const info = parsePrometheus(toPrometheus(pool)).get('switchyard_server_info')!;
    assert.equal(info.samples[0]!.labels['tag_z_a'], 'dot', "'z.a' sorts before 'z_a'");
    invalid(() => toPrometheus(pool, { labels: { tag_zone: 'x' } }), /labels.tag_zone must not be one of the labels switchyard sets/);
    invalid(() => toPrometheus(pool, { labels: { address: 'x' } }), /labels.address must not be one of the labels switchyard sets/);
  });
});
