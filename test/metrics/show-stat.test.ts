import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { SHOW_STAT_FIELDS, showStatRecords, toShowStat } from '../../src/metrics/show-stat.js';
import { Pool } from '../../src/pool.js';
import type { TcpProxyStats } from '../../src/proxy/tcp-proxy.js';

/**
 * `show stat` of HAProxy 2.6.12 (Debian) for this configuration, captured from its stats socket
 * (header cut after agg_check_status, rows cut to the same columns, FRONTEND row dropped):
 *
 *   listen fe
 *     balance roundrobin
 *     server s1 127.0.0.1:1 check inter 1000   # refused: DOWN after its first check
 *     server s2 127.0.0.1:2 weight 3 backup
 *     server s3 127.0.0.1:3 disabled
 */
const HAPROXY_HEADER =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status';
const HAPROXY_ROWS = [
  'fe,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,1,1,,1,2,1,,0,,2,0,,0,L4CON,,0,,,,,,,,,,,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,3,0,,,,127.0.0.1:1,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,',
  'fe,s2,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,3,0,1,,,1,,,1,2,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:2,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,3,,,',
  'fe,s3,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1,,,1,2,3,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:3,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,',
  'fe,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,3,0,1,,0,1,0,,1,2,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,roundrobin,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,3,0,0,0',
];
/** Columns switchyard fills with the same meaning, compared with HAProxy's values above. */
const COMPARED = [
  'pxname', 'svname', 'qcur', 'qmax', 'scur', 'smax', 'stot', 'status', 'weight', 'act', 'bck', 'chkfail', 'pid', 'sid',
  'lbtot', 'type', 'check_status', 'check_duration', 'last_chk', 'check_desc', 'check_rise', 'check_fall', 'check_health',
  'addr', 'mode', 'algo', 'uweight',
] as const;

/** RFC 4180 CSV with HAProxy's quoting: fields may be quoted, "" inside quotes is a quote. */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  assert.equal(quoted, false, `unterminated quote in ${line}`);
  out.push(field);
  return out;
}

/** Splits CSV text into records, honouring line breaks inside quoted fields. */
function parseCsv(text: string): string[][] {
  const records: string[] = [];
  let current = '';
  let quotes = 0;
  for (const line of text.split('\n')) {
    current = current === '' && quotes % 2 === 0 ? line : `${current}\n${line}`;
    quotes += (line.match(/"/g) ?? []).length;
    if (quotes % 2 === 0) {
      records.push(current);
      current = '';
      quotes = 0;
    }
  }
  return records.filter((r) => r !== '').map(parseCsvLine);
}

function haproxyFixture() {
  const clock = new ManualClock();
  const pool = new Pool('fe', {
    clock,
    servers: [
      { name: 's1', host: '127.0.0.1', port: 1, check: true },
      { name: 's2', host: '127.0.0.1', port: 2, weight: 3, backup: true },
      { name: 's3', host: '127.0.0.1', port: 3, disabled: true },
    ],
  });
  pool.reportCheck(pool.get('s1'), { status: 'L4CON', info: 'Connection refused', durationMs: 0 });
  const balancer = new Balancer(pool, { strategy: 'roundrobin' });
  return { pool, balancer, clock };
}

describe('toShowStat', () => {
  it('prints the HAProxy 2.6 header, and a trailing comma on every line as HAProxy does', () => {
    const { balancer } = haproxyFixture();
    const text = toShowStat(balancer);
    const lines = text.split('\n');
    assert.equal(lines[0], `${HAPROXY_HEADER},`);
    assert.deepEqual(SHOW_STAT_FIELDS, HAPROXY_HEADER.slice(2).split(','));
    assert.equal(lines.at(-1), '', 'ends with a line feed');
    for (const line of lines.slice(0, -1)) assert.ok(line.endsWith(','), line);
    assert.equal(lines.length, 1 + 4 + 1);
  });

  it('fills the columns it has with the values HAProxy shows for the same configuration', () => {
    const { balancer } = haproxyFixture();
    const ours = parseCsv(toShowStat(balancer, { header: false }));
    const theirs = HAPROXY_ROWS.map(parseCsvLine);
    assert.equal(ours.length, theirs.length);
    ours.forEach((row, r) => {
      assert.equal(row.length, SHOW_STAT_FIELDS.length + 1, 'every column, then the empty field after the trailing comma');
      for (const column of COMPARED) {
        // The backend's peak of concurrent sessions is not tracked (a balancer counts leases, not their peak).
        if (row[1] === 'BACKEND' && column === 'smax') continue;
        const i = SHOW_STAT_FIELDS.indexOf(column);
        assert.equal(row[i], theirs[r]![i], `${row[1]} ${column}`);
      }
    });
  });

  it('leaves empty the columns it has no value for, and counts time on the pool clock', () => {
    const { balancer, clock } = haproxyFixture();
    clock.advance(61_000);
    const [s1, s2, , backend] = showStatRecords(balancer);
    assert.equal(s1!.downtime, 61);
    assert.equal(s1!.lastchg, 61);
    assert.equal(s1!.chkdown, 1);
    assert.equal(s2!.chkfail, undefined, 'no check, no chkfail');
    assert.equal(s1!.bin, undefined, 'no proxy, no bytes');
    assert.equal(s1!.rate, undefined);
    assert.equal(backend!.qcur, 0);
    assert.equal(backend!.slim, undefined);
  });

  it('quotes fields holding commas, quotes or line breaks, as HAProxy csv_enc does', () => {
    const pool = new Pool('p,1', { servers: [{ name: 'say "hi"', host: '127.0.0.1', port: 1, check: true }] });
    pool.reportCheck(pool.get('say "hi"'), { status: 'L7RSP', info: 'bad answer, line\nbreak', durationMs: 3 });
    const text = toShowStat(pool, { header: false });
    assert.ok(text.startsWith('"p,1","say ""hi""",'), text);
    const [row] = parseCsv(text);
    assert.equal(row![SHOW_STAT_FIELDS.indexOf('last_chk')], 'bad answer, line\nbreak');
    assert.equal(row![SHOW_STAT_FIELDS.indexOf('check_duration')], '3');
    assert.equal(row![SHOW_STAT_FIELDS.indexOf('check_desc')], 'Layer7 invalid response');
  });

  it('adds a FRONTEND row and per-server traffic from a proxy', () => {
    const { pool, balancer } = haproxyFixture();
    const proxy: TcpProxyStats = {
      current: 1, total: 4, bytesIn: 40, bytesOut: 400, connectErrors: 0, noServer: 0, retries: 1, redispatches: 0, terminations: {},
      servers: { s2: { current: 1, total: 4, bytesIn: 40, bytesOut: 400, connectErrors: 3, retries: 1, redispatches: 1, serverAborts: 0 } },
    };
    const rows = showStatRecords({ pool: balancer, proxy });
    assert.deepEqual(rows.map((r) => r.svname), ['FRONTEND', 's1', 's2', 's3', 'BACKEND']);
    assert.deepEqual([rows[0]!.status, rows[0]!.type, rows[0]!.scur, rows[0]!.stot, rows[0]!.bin], ['OPEN', 0, 1, 4, 40]);
    // econ counts connections that failed for good: 3 failed attempts, one retried, one redispatched.
    assert.deepEqual([rows[2]!.bin, rows[2]!.bout, rows[2]!.econ, rows[2]!.wretr, rows[2]!.wredis], [40, 400, 1, 1, 1]);
    assert.deepEqual([rows[1]!.bin, rows[1]!.econ], [0, 0]);
    assert.deepEqual([rows[4]!.bin, rows[4]!.bout, rows[4]!.econ], [40, 400, 1]);
    assert.equal(rows[4]!.stot, 4, "the backend's stot counts client connections (the proxy's total), not attempts");
    assert.equal(pool.size, 3);
  });

  it('numbers pools by position and rejects bad input', () => {
    const a = new Pool('a', { servers: [{ name: 'x', host: '127.0.0.1', port: 1 }] });
    const b = new Pool('b', { servers: [{ name: 'y', host: '127.0.0.1', port: 1 }] });
    assert.deepEqual(showStatRecords([a, b.snapshot()]).map((r) => `${r.pxname}/${r.svname}:${r.iid}`), ['a/x:1', 'a/BACKEND:1', 'b/y:2', 'b/BACKEND:2']);
    assert.equal(showStatRecords(b.snapshot())[0]!.lastchg, undefined, 'a snapshot has no clock');
    assert.equal(showStatRecords(b.snapshot(), { nowMs: 5000 })[0]!.lastchg, 5);
    assert.throws(() => toShowStat(a, { header: 'no' as never }), (e: unknown) => LbError.is(e) && /header must be a boolean/.test(e.message));
    assert.throws(() => toShowStat([a, a]), (e: unknown) => LbError.is(e) && /must not repeat a pool name/.test(e.message));
  });
});
