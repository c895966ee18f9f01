import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { toPrometheus } from '../../src/metrics/prometheus.js';
import { showStatRecords, toShowStat } from '../../src/metrics/show-stat.js';
import { Pool } from '../../src/pool.js';
import { createStatsHandler } from '../../src/stats/stats-handler.js';
import { withTimeout } from '../helpers/timeout.js';
import { type StatsServer, basic, formToken, request, statsServer } from './support.js';

const AUTH = basic('admin', 'pw');
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function webPool(clock: ManualClock): Pool {
  return new Pool('web', {
    clock,
    servers: [
      { name: 's1', host: '127.0.0.1', port: 1001, check: true },
      { name: 's2', host: '127.0.0.1', port: 1002, check: true },
      { name: 's3', host: '127.0.0.1', port: 1003 },
      { name: 'b1', host: '127.0.0.1', port: 1004, backup: true },
    ],
  });
}

describe('stats handler over pools (node:http on 127.0.0.1)', () => {
  const clock = new ManualClock(1_000_000);
  const pool = webPool(clock);
  const balancer = new Balancer(pool, { clock });
  const lines: string[] = [];
  let page: StatsServer;
  before(async () => {
    page = await statsServer({ source: [balancer], uri: '/stats', refreshMs: 5000, auth: [{ user: 'admin', password: 'pw' }], admin: true, log: (l) => lines.push(l) });
  });
  after(async () => {
    await page.close();
    balancer.destroy();
  });

  it('serves the page, ;csv, ;json and /metrics from the same show stat rows', async () => {
    clock.advance(7000);
    const html = await request(page.port, '/stats', { headers: { authorization: AUTH } });
    assert.equal(html.status, 200);
    assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(html.body, /<tr class=active_going_down id="web\/s1">/, 'a checked server starts UP 1/3 (going down colour)');
    assert.match(html.body, /<tr class=active_no_check id="web\/s3">/);
    assert.match(html.body, /<tr class=backup_no_check id="web\/b1">/);
    const csv = await request(page.port, '/stats;csv', { headers: { authorization: AUTH } });
    assert.equal(csv.body, toShowStat([balancer]));
    const json = await request(page.port, '/stats;json', { headers: { authorization: AUTH } });
    assert.equal(json.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(json.body), showStatRecords([balancer]));
    const metrics = await request(page.port, '/metrics', { headers: { authorization: AUTH } });
    assert.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(metrics.body, toPrometheus([balancer]));
  });

  it('has no script, no style attribute, and one style element whose hash the Content-Security-Policy allows', async () => {
    const r = await request(page.port, '/stats', { headers: { authorization: AUTH } });
    assert.doesNotMatch(r.body, /<script|\son[a-z]+=|\sstyle=/i);
    const styles = [...r.body.matchAll(/<style>([\s\S]*?)<\/style>/g)];
    assert.equal(styles.length, 1);
    const hash = createHash('sha256').update(styles[0]?.[1] ?? '').digest('base64');
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.ok(csp.includes(`style-src 'sha256-${hash}'`), csp);
    assert.doesNotMatch(csp, /unsafe-inline|script-src/);
    assert.doesNotMatch(r.body, /(src|href)="https?:/, 'no external resource');
  });

  it('refreshes through the Refresh header; ;norefresh turns it off', async () => {
    assert.equal((await request(page.port, '/stats', { headers: { authorization: AUTH } })).headers.refresh, '5');
    assert.equal((await request(page.port, '/stats;norefresh', { headers: { authorization: AUTH } })).headers.refresh, undefined);
  });

  it('colours rows as HAProxy does: DOWN, MAINT, DRAIN, UP', async () => {
    pool.setHealth('s1', 'up');
    pool.setHealth('s2', 'down');
    pool.setAdminState('s3', 'maint');
    pool.setAdminState('b1', 'drain');
    try {
      const r = await request(page.port, '/stats', { headers: { authorization: AUTH } });
      assert.match(r.body, /<tr class=active_up id="web\/s1">/);
      assert.match(r.body, /<tr class=active_down id="web\/s2">/);
      assert.match(r.body, /<tr class=maintain id="web\/s3">/);
      assert.match(r.body, /<tr class=backup_draining id="web\/b1">/);
      assert.match(r.body, /<td class=ac>\d+s DOWN<\/td>/);
    } finally {
      pool.setHealth('s2', 'up');
      pool.setAdminState('s3', 'ready');
      pool.setAdminState('b1', 'ready');
    }
  });

  it('asks for credentials: 401 with a Basic challenge on every view without them or with a wrong password', async () => {
    for (const path of ['/stats', '/stats;csv', '/stats;json', '/metrics']) {
      const r = await request(page.port, path);
      assert.equal(r.status, 401, path);
      assert.equal(r.headers['www-authenticate'], 'Basic realm="HAProxy Statistics", charset="UTF-8"');
    }
    assert.equal((await request(page.port, '/stats', { headers: { authorization: basic('admin', 'nope') } })).status, 401);
    assert.equal((await request(page.port, '/stats', { headers: { authorization: basic('nobody', 'pw') } })).status, 401);
  });

  it('drains a server from a form post, answers 303 to ;st=DONE and logs HAProxy\'s line', async () => {
    const token = formToken((await request(page.port, '/stats', { headers: { authorization: AUTH } })).body);
    lines.length = 0;
    const r = await request(page.port, '/stats', {
      method: 'POST', headers: { ...FORM, authorization: AUTH, origin: page.origin, 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ s: 's1', action: 'drain', b: 'web', token }).toString(),
    });
    assert.equal(r.status, 303, r.body);
    assert.equal(r.headers.location, '/stats;st=DONE');
    assert.equal(pool.get('s1').adminState, 'drain');
    assert.deepEqual(lines, ['Server web/s1 enters drain state. 2 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.']);
    const done = await request(page.port, '/stats;st=DONE', { headers: { authorization: AUTH } });
    assert.match(done.body, /Action processed successfully\./);
    assert.match(done.body, /<tr class=active_draining id="web\/s1">/);
    lines.length = 0;
    const ready = await request(page.port, '/stats', { method: 'POST', headers: { ...FORM, authorization: AUTH }, body: `s=s1&action=ready&b=web&token=${token}` });
    assert.equal(ready.status, 303);
    assert.deepEqual(lines, ['Server web/s1 is UP (leaving forced drain).']);
  });

  it('forces health from the page with the cause "changed from Web interface"; sets a weight', async () => {
    const token = formToken((await request(page.port, '/stats', { headers: { authorization: AUTH } })).body);
    lines.length = 0;
    const post = (body: string): Promise<{ status: number }> => request(page.port, '/stats', { method: 'POST', headers: { ...FORM, authorization: AUTH }, body: `${body}&b=web&token=${token}` });
    assert.equal((await post('s=s2&action=hdown')).status, 303);
    assert.equal(pool.get('s2').operationalState, 'down');
    assert.match(lines[0] ?? '', /^Server web\/s2 is DOWN, changed from Web interface\. 2 active and 1 backup servers left\./);
    assert.equal((await post('s=s2&action=hrunn')).status, 303);
    assert.match(lines[1] ?? '', /^Server web\/s2 is UP, changed from Web interface\./);
    assert.equal((await post('s=s3&action=weight&weight=7')).status, 303);
    assert.equal(pool.get('s3').weight, 7);
    assert.equal((await post('s=s3&action=weight&weight=100%25')).status, 303);
    assert.equal(pool.get('s3').weight, 1);
    assert.equal(lines.length, 2, 'HAProxy logs no line for a weight change');
  });

  it('refuses bad input with a clear 4xx, changes nothing and keeps serving', async () => {
    const token = formToken((await request(page.port, '/stats', { headers: { authorization: AUTH } })).body);
    const okPost = { ...FORM, authorization: AUTH };
    const cases: [string, string, { method?: string; headers?: Record<string, string>; body?: string }, number, RegExp][] = [
      ['path traversal', '/stats/../../etc/passwd', { headers: { authorization: AUTH } }, 400, /path traversal/],
      ['encoded traversal', '/stats/%2e%2e/%2e%2e/etc/passwd', { headers: { authorization: AUTH } }, 400, /path traversal/],
      ['traversal after an option', '/stats;csv/../x', { headers: { authorization: AUTH } }, 400, /path traversal/],
      ['backslash', '/stats\\..\\x', { headers: { authorization: AUTH } }, 400, /backslash/],
      ['a path below the page', '/stats/admin', { headers: { authorization: AUTH } }, 404, /Not Found/],
      ['huge query', `/stats?${'a'.repeat(5000)}`, { headers: { authorization: AUTH } }, 414, /5\d{3} bytes long/],
      ['unknown option', '/stats;export', { headers: { authorization: AUTH } }, 400, /unknown option 'export'/],
      ['bad page option', '/stats;page=web:0', { headers: { authorization: AUTH } }, 400, /page/],
      ['too many options', `/stats${';up'.repeat(20)}`, { headers: { authorization: AUTH } }, 400, /too many options/],
      ['another path', '/other', {}, 404, /only serves the stats page/],
      ['POST without auth', '/stats', { method: 'POST', headers: FORM, body: `s=s1&action=maint&b=web&token=${token}` }, 401, /user name and password/],
      ['POST with a wrong password', '/stats', { method: 'POST', headers: { ...FORM, authorization: basic('admin', 'x') }, body: `s=s1&action=maint&b=web&token=${token}` }, 401, /Unauthorized/],
      ['forged cross-site POST (Origin)', '/stats', { method: 'POST', headers: { ...okPost, origin: 'http://evil.example' }, body: `s=s1&action=maint&b=web&token=${token}` }, 403, /cross-site request refused \(Origin/],
      ['forged cross-site POST (Sec-Fetch-Site)', '/stats', { method: 'POST', headers: { ...okPost, 'sec-fetch-site': 'same-site' }, body: `s=s1&action=maint&b=web&token=${token}` }, 403, /Sec-Fetch-Site: same-site/],
      ['POST without token', '/stats', { method: 'POST', headers: okPost, body: 's=s1&action=maint&b=web' }, 403, /no token/],
      ['POST with a forged token', '/stats', { method: 'POST', headers: okPost, body: `s=s1&action=maint&b=web&token=${'A'.repeat(43)}` }, 403, /token is not valid/],
      ['unknown action', '/stats', { method: 'POST', headers: okPost, body: `s=s1&action=shutdown&b=web&token=${token}` }, 400, /unknown action 'shutdown'/],
      ['no action', '/stats', { method: 'POST', headers: okPost, body: `s=s1&b=web&token=${token}` }, 400, /no action/],
      ['no server selected', '/stats', { method: 'POST', headers: okPost, body: `action=maint&b=web&token=${token}` }, 400, /no server selected/],
      ['unknown field', '/stats', { method: 'POST', headers: okPost, body: `s=s1&action=maint&b=web&token=${token}&x=1` }, 400, /unknown form field 'x'/],
      ['unknown backend', '/stats', { method: 'POST', headers: okPost, body: `s=s1&action=maint&b=nope&token=${token}` }, 404, /backend 'nope'/],
      ['one unknown server among two', '/stats', { method: 'POST', headers: okPost, body: `s=s1&s=zz&action=maint&b=web&token=${token}` }, 404, /no server 'zz'/],
      ['health action on an unchecked server', '/stats', { method: 'POST', headers: okPost, body: `s=s3&action=hdown&b=web&token=${token}` }, 409, /no running health check/],
      ['weight out of range', '/stats', { method: 'POST', headers: okPost, body: `s=s1&action=weight&weight=999&b=web&token=${token}` }, 400, /0 to 256/],
      ['weight that is not a number', '/stats', { method: 'POST', headers: okPost, body: `s=s1&action=weight&weight=-1&b=web&token=${token}` }, 400, /weight must be/],
      ['wrong content type', '/stats', { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: '{"action":"maint"}' }, 415, /x-www-form-urlencoded/],
      ['huge body', '/stats', { method: 'POST', headers: okPost, body: `s=${'s'.repeat(70_000)}&action=maint&b=web` }, 413, /larger than 65536 bytes/],
      ['POST to an export', '/stats;csv', { method: 'POST', headers: okPost, body: `s=s1&action=maint&b=web&token=${token}` }, 405, /allowed: GET, HEAD/],
      ['PUT', '/stats', { method: 'PUT', headers: okPost, body: '' }, 405, /Method Not Allowed: PUT/],
    ];
    const before = JSON.stringify(pool.snapshot());
    for (const [what, path, init, status, message] of cases) {
      const r = await request(page.port, path, init);
      assert.equal(r.status, status, `${what}: ${r.body}`);
      assert.match(r.body, message, what);
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8', what);
      assert.equal(JSON.stringify(pool.snapshot()), before, `${what} changed nothing`);
    }
    // A query too large for Node's header limit never reaches the handler: Node refuses it itself, with a 431
    // (Node 20, 22) or by closing while the client is still sending, which the client sees as a reset (Node 24).
    const huge = await request(page.port, `/stats?${'a'.repeat(100_000)}`).then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => err.code,
    );
    assert.ok(huge === 431 || huge === 'ECONNRESET' || huge === 'EPIPE', `Node refused the request, got ${String(huge)}`);
    assert.equal((await request(page.port, '/stats', { headers: { authorization: AUTH } })).status, 200, 'still serving');
  });

  it('pages a backend of 1 000 servers: 200 rows a page, with links to the others', async () => {
    const big = new Pool('big', { clock, servers: Array.from({ length: 1000 }, (_, i) => ({ name: `n${i + 1}`, host: '127.0.0.1', port: 2000 + i })) });
    const s = await statsServer({ source: big, uri: '/' });
    try {
      const first = await request(s.port, '/');
      const rows = (body: string): string[] => [...body.matchAll(/ id="big\/(n\d+)">/g)].map((m) => m[1] ?? '');
      assert.deepEqual(rows(first.body), Array.from({ length: 200 }, (_, i) => `n${i + 1}`));
      assert.match(first.body, /servers 1–200 of 1000/);
      assert.match(first.body, /href="\/;page=big:2#big">next ›<\/a>/);
      const last = await request(s.port, '/;page=big:5');
      assert.deepEqual(rows(last.body), Array.from({ length: 200 }, (_, i) => `n${i + 801}`));
      const csv = await request(s.port, '/;csv');
      assert.equal(csv.body.split('\n').length, 1 + 1000 + 1 + 1, 'the CSV is never paged');
    } finally {
      await s.close();
    }
  });

  it('is connect/express middleware: other paths go to next()', async () => {
    const handler = createStatsHandler({ source: pool, uri: '/stats' });
    const server = http.createServer((req, res) => handler(req, res, () => res.end('next')));
    server.listen(0, '127.0.0.1');
    await withTimeout(new Promise((r) => server.once('listening', r)), 5000, 'listen');
    const { port } = server.address() as net.AddressInfo;
    try {
      assert.equal((await request(port, '/other')).body, 'next');
      assert.equal((await request(port, '/stats')).status, 200);
      const head = await request(port, '/stats', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal((await request(port, '/stats', { method: 'POST', headers: FORM, body: 's=s1&action=maint&b=web' })).status, 405, 'admin is off by default');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('validates its options once, naming the option', () => {
    const bad = (options: object, field: RegExp): void => {
      assert.throws(() => createStatsHandler(options as never), (e: unknown) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG' && field.test(e.message));
    };
    bad({ source: pool, admin: true }, /^admin needs auth/);
    bad({ source: pool, uri: 'stats' }, /^uri must be a path/);
    bad({ source: pool, refreshMs: 10 }, /^refreshMs must be an integer from 1000/);
    bad({ source: pool, auth: [{ user: 'a:b', password: 'x' }] }, /^auth\[0\]\.user must not contain a colon/);
    bad({ source: pool, pageSize: 0 }, /^pageSize/);
    bad({ source: pool, colour: 'red' }, /colour/);
    bad({ source: 42 }, /^source must be/);
    bad({ source: [pool, pool] }, /must not repeat a pool name/);
    bad({ source: pool, metricsUri: '/x', uri: '/x' }, /^metricsUri must differ from uri/);
  });
});
