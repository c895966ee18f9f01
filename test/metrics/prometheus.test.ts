import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { PROMETHEUS_CONTENT_TYPE, toPrometheus } from '../../src/metrics/prometheus.js';
import { Pool } from '../../src/pool.js';
import type { TcpProxyStats } from '../../src/proxy/tcp-proxy.js';
import { type MetricFamily, parsePrometheus } from '../helpers/prometheus-parser.js';

function fixture() {
  const clock = new ManualClock();
  const pool = new Pool('web', {
    clock,
    servers: [
      { name: 'web1', host: '127.0.0.1', port: 8081, weight: 2, maxconn: 10, check: true },
      { name: 'web2', host: '127.0.0.1', port: 8082 },
      { name: 'spare', host: '127.0.0.1', port: 8083, backup: true },
    ],
  });
  const balancer = new Balancer(pool, { strategy: 'first' });
  return { pool, balancer, clock };
}

/** `{labels} -> value` of a family, labels rendered as a=b,c=d (sorted), for compact asserts. */
function values(f: MetricFamily | undefined): Record<string, number> {
  assert.ok(f, 'family present');
  return Object.fromEntries(
    f.samples.map((s) => [
      Object.entries(s.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      s.value,
    ]),
  );
}

describe('toPrometheus', () => {
  it('renders valid exposition text with HELP and TYPE for every metric, and every sample checked', async () => {
    const { pool, balancer } = fixture();
    const held = [await balancer.acquire(), await balancer.acquire()];
    held[1]!.release();
    pool.setAdminState('web2', 'maint');
    const families = parsePrometheus(toPrometheus(balancer));
    for (const f of families.values()) {
      assert.ok(f.help && f.help.length > 0, `${f.name} has HELP`);
      assert.ok(f.type === 'gauge' || f.type === 'counter', `${f.name} has a TYPE`);
      assert.ok(f.samples.length > 0, `${f.name} has samples`);
      assert.equal(f.type === 'counter', f.name.endsWith('_total'), `${f.name}: counters and only counters end in _total`);
    }
    const s = (name: string) => values(families.get(`switchyard_${name}`));
    const web = (n: string) => `pool=web,server=${n}`;
    assert.deepEqual(s('server_up'), { [web('web1')]: 1, [web('web2')]: 0, [web('spare')]: 1 });
    assert.deepEqual(s('server_usable'), { [web('web1')]: 1, [web('web2')]: 0, [web('spare')]: 1 });
    assert.deepEqual(s('server_weight'), { [web('web1')]: 2, [web('web2')]: 1, [web('spare')]: 1 });
    assert.deepEqual(s('server_current_connections'), { [web('web1')]: 1, [web('web2')]: 0, [web('spare')]: 0 });
    assert.deepEqual(s('server_max_connections'), { [web('web1')]: 2, [web('web2')]: 0, [web('spare')]: 0 });
    assert.deepEqual(s('server_connections_total'), { [web('web1')]: 2, [web('web2')]: 0, [web('spare')]: 0 });
    assert.deepEqual(s('server_lb_selections_total'), { [web('web1')]: 2, [web('web2')]: 0, [web('spare')]: 0 });
    assert.deepEqual(s('server_connection_limit'), { [web('web1')]: 10, [web('web2')]: 0, [web('spare')]: 0 });
    assert.deepEqual(s('server_queue_current'), { [web('web1')]: 0, [web('web2')]: 0, [web('spare')]: 0 });
    assert.deepEqual(s('server_check_health'), { [web('web1')]: 2 }, 'only checked servers have a health counter');
    assert.deepEqual(s('server_check_failures_total'), { [web('web1')]: 0, [web('web2')]: 0, [web('spare')]: 0 });
    assert.equal(s('server_admin_state')[`${web('web2')},state=maint`], 1);
    assert.equal(s('server_admin_state')[`${web('web2')},state=ready`], 0);
    assert.deepEqual(s('pool_servers'), { 'pool=web': 3 });
    assert.deepEqual(s('pool_usable_servers'), { 'group=active,pool=web': 1, 'group=backup,pool=web': 1 });
    assert.deepEqual(s('pool_available'), { 'pool=web': 1 });
    assert.deepEqual(s('pool_leases_current'), { 'pool=web': 1 });
    assert.deepEqual(s('pool_leases_total'), { 'pool=web': 2 });
    assert.deepEqual(s('pool_queue_timeouts_total'), { 'pool=web': 0 });
    assert.equal(families.has('switchyard_server_bytes_in_total'), false, 'no bytes without a proxy');
    held[0]!.release();
  });

  it('adds bytes, connect errors, retries and redispatches from a proxy, 0 for servers it never tried', () => {
    const { pool } = fixture();
    const proxy: TcpProxyStats = {
      current: 0, total: 3, bytesIn: 30, bytesOut: 600, connectErrors: 1, noServer: 0, retries: 2, redispatches: 1, terminations: {},
      servers: {
        web1: { current: 0, total: 3, bytesIn: 30, bytesOut: 600, connectErrors: 1, retries: 2, redispatches: 1, serverAborts: 0 },
      },
    };
    const families = parsePrometheus(toPrometheus({ pool, proxy }));
    assert.deepEqual(values(families.get('switchyard_server_bytes_in_total')), {
      'pool=web,server=web1': 30, 'pool=web,server=web2': 0, 'pool=web,server=spare': 0,
    });
    assert.equal(values(families.get('switchyard_server_bytes_out_total'))['pool=web,server=web1'], 600);
    assert.equal(values(families.get('switchyard_server_connect_errors_total'))['pool=web,server=web1'], 1);
    assert.equal(values(families.get('switchyard_server_retries_total'))['pool=web,server=web1'], 2);
    assert.equal(values(families.get('switchyard_server_redispatches_total'))['pool=web,server=web1'], 1);
    assert.equal(families.has('switchyard_pool_leases_current'), false, 'no balancer, no lease metrics');
  });

  it('reports downtime in seconds', () => {
    const { pool, clock } = fixture();
    pool.setHealth('web1', 'down');
    clock.advance(2500);
    const families = parsePrometheus(toPrometheus(pool));
    assert.equal(values(families.get('switchyard_server_downtime_seconds_total'))['pool=web,server=web1'], 2.5);
    assert.equal(values(families.get('switchyard_server_up'))['pool=web,server=web1'], 0);
  });

  it('escapes label values and keeps several pools in one family each', () => {
    const odd = new Pool('we"b\\1\nx', { servers: [{ name: 'a,b "c"', host: '127.0.0.1', port: 1 }] });
    const other = new Pool('db', { servers: [{ name: 'db1', host: '127.0.0.1', port: 2 }] });
    const text = toPrometheus([odd, other.snapshot()], { prefix: 'lb_', labels: { instance: 'h"1' } });
    assert.match(text, /lb_server_up\{instance="h\\"1",pool="we\\"b\\\\1\\nx",server="a,b \\"c\\""\} 1\n/);
    const families = parsePrometheus(text);
    const up = families.get('lb_server_up')!;
    assert.deepEqual(up.samples.map((s) => s.labels), [
      { instance: 'h"1', pool: 'we"b\\1\nx', server: 'a,b "c"' },
      { instance: 'h"1', pool: 'db', server: 'db1' },
    ]);
    assert.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('rejects bad options and repeated pools, naming the field', () => {
    const { pool } = fixture();
    const bad: [() => unknown, RegExp][] = [
      [() => toPrometheus(pool, { prefix: '1x' }), /prefix must be empty or start a valid metric name/],
      [() => toPrometheus(pool, { labels: { pool: 'x' } }), /labels.pool must not be one of the labels switchyard sets/],
      [() => toPrometheus(pool, { labels: { 'a-b': 'x' } }), /labels.a-b must be a valid label name/],
      [() => toPrometheus(pool, { labels: { a: 1 as never } }), /labels.a must be a string/],
      [() => toPrometheus([pool, pool]), /must not repeat a pool name, got "web"/],
      [() => toPrometheus(42 as never), /stats input must be a Pool, a Balancer or a pool snapshot/],
    ];
    for (const [fn, message] of bad) {
      assert.throws(fn, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message), String(message));
    }
  });
});

describe('the strict exposition parser (test helper)', () => {
  it('rejects what Prometheus rejects', () => {
    const bad = [
      'a 1',
      'a{b="1"} 1\nc 1\na{b="2"} 1\n',
      '# TYPE a gauge\n# TYPE a gauge\na 1\n',
      'a 1\n# TYPE a gauge\n',
      'a{b="\\x"} 1\n',
      'a{b="1",b="2"} 1\n',
      'a 1\na 1\n',
      '1a 1\n',
      'a one\n',
      'a{__b="1"} 1\n',
    ];
    for (const text of bad) assert.throws(() => parsePrometheus(text), Error, JSON.stringify(text));
    assert.equal(parsePrometheus('# HELP a x\\ny\n# TYPE a counter\na{b="q\\"",} +Inf 123\n').get('a')?.samples[0]?.value, Infinity);
  });
});
