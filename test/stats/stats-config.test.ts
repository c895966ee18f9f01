import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { buildFromHaproxyConfig } from '../../src/haproxy/from-config.js';
import type { ConfigDiagnostic } from '../../src/haproxy/config/diagnostics.js';
import { parseHaproxyConfig } from '../../src/haproxy/config/parser.js';
import type { HaproxyConfig } from '../../src/haproxy/config/types.js';
import { showStat } from '../../src/haproxy/runtime/views.js';
import { statsPageOf } from '../../src/stats/from-config.js';
import { withTimeout } from '../helpers/timeout.js';
import { basic, formToken, request } from './support.js';

const DEFAULTS = 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n';

function parse(text: string): HaproxyConfig {
  return parseHaproxyConfig(DEFAULTS + text, { fileName: 't.cfg', env: {} });
}

function alerts(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    if (!LbError.is(e)) throw e;
    return ((e.details['diagnostics'] ?? []) as ConfigDiagnostic[]).filter((d) => d.severity === 'alert').map((d) => d.text);
  }
  assert.fail('the configuration was accepted');
}

const STATS = 'listen stats\n  mode http\n  bind 127.0.0.1:8404\n';

describe('stats sections in haproxy.cfg', () => {
  it('reads stats enable, uri, refresh, auth, admin if TRUE, hide-version and show-legends', () => {
    const c = parse(`${STATS}  stats enable\n  stats uri /st\n  stats refresh 10s\n  stats auth a:b\n  stats auth c:d:e\n  stats admin if TRUE\n  stats hide-version\n  stats show-legends\n`);
    const l = c.listens[0];
    assert.equal(l?.mode, 'http');
    assert.deepEqual({ ...l?.stats, source: undefined }, {
      uri: '/st', refreshMs: 10_000, auth: [{ user: 'a', password: 'b' }, { user: 'c', password: 'd:e' }], admin: true, hideVersion: true, showLegends: true, source: undefined,
    });
    assert.deepEqual(c.warnings, []);
  });

  it('uses HAProxy\'s default uri and enables the page with any stats line', () => {
    const c = parse('frontend st\n  mode http\n  bind 127.0.0.1:8404\n  stats refresh 5s\n');
    assert.equal(c.frontends[0]?.stats?.uri, '/haproxy?stats');
    assert.equal(c.frontends[0]?.stats?.admin, false);
  });

  it('keeps refusing mode http with today\'s message for a section that does more than serve stats', () => {
    const message = /^parsing \[t\.cfg:7\] : 'mode http' is not supported in switchyard: only mode tcp is \(HTTP-mode routing is a non-goal for now\)\.$/;
    assert.match(alerts('listen web\n  mode http\n  bind 127.0.0.1:80\n  server s1 127.0.0.1:81\n')[0] ?? '', message);
    assert.match(alerts('listen web\n  mode http\n  bind 127.0.0.1:80\n')[0] ?? '', message, 'no stats line');
    assert.match(alerts('listen web\n  mode http\n  bind 127.0.0.1:80\n  stats enable\n  server s1 127.0.0.1:81\n')[0] ?? '', message, 'stats and a server');
    assert.match(alerts('frontend web\n  mode http\n  bind 127.0.0.1:80\n  stats enable\n  default_backend b\nbackend b\n  server s1 127.0.0.1:81\n')[0] ?? '', message, 'stats and a backend');
    assert.match(alerts('backend b\n  mode http\n  server s1 127.0.0.1:81\n')[0] ?? '', message);
    assert.match(alerts('defaults d\n  mode http\n')[0] ?? '', /'mode http' is not supported in switchyard/);
  });

  it('refuses what it does not serve, with the keyword and the reason', () => {
    assert.deepEqual(alerts(`${STATS}  stats admin if LOCALHOST\n  stats auth a:b\n`), [
      "parsing [t.cfg:9] : 'stats admin if LOCALHOST' is not supported in switchyard: only 'stats admin if TRUE' is (ACL conditions are HTTP-mode routing); restrict access with 'stats auth'.",
    ]);
    assert.deepEqual(alerts(`${STATS}  stats admin\n`), ["parsing [t.cfg:9] : 'stats admin' requires either 'if' or 'unless' followed by a condition."]);
    assert.deepEqual(alerts(`${STATS}  stats admin if TRUE\n`), ["proxy 'stats': 'stats admin' needs 'stats auth' in switchyard: admin actions are never served without authentication."]);
    assert.deepEqual(alerts(`${STATS}  stats uri\n`), ["parsing [t.cfg:9] : 'uri' needs an URI prefix."]);
    assert.deepEqual(alerts(`${STATS}  stats refresh 1x\n`), ["parsing [t.cfg:9]: unexpected character 'x' in argument to stats refresh interval."]);
    assert.deepEqual(alerts(`${STATS}  stats auth nobody\n`), ["parsing [t.cfg:9] : 'stats auth' expects <user>:<password> as argument, got 'nobody'."]);
    assert.deepEqual(alerts(`${STATS}  stats realm x\n`), ['parsing [t.cfg:9] : \'stats realm\' is not supported in switchyard: the realm is fixed to "HAProxy Statistics".']);
    assert.match(alerts(`${STATS}  stats bogus\n`)[0] ?? '', /^parsing \[t\.cfg:9\]: unknown stats parameter 'bogus', expects 'admin', 'uri'/);
    assert.match(alerts('backend b\n  stats enable\n  server s1 127.0.0.1:81\n')[0] ?? '', /'stats' in backend 'b' is not supported in switchyard/);
  });

  it('ignores stats in a mode tcp section with HAProxy\'s warning', () => {
    const c = parse('listen web\n  bind 127.0.0.1:80\n  stats enable\n  server s1 127.0.0.1:81\n');
    assert.deepEqual(c.warnings.map((w) => w.text), ["'stats' statement ignored for proxy 'web' as it requires HTTP mode."]);
    assert.equal(c.listens[0]?.stats, undefined);
  });

  it('serves the page of a built instance: its ;csv is the runtime API\'s show stat, and a drain is logged by the instance', { timeout: 20_000 }, async () => {
    const [port, web] = [await freePort(), await freePort()];
    const config = parse(`listen stats\n  mode http\n  bind 127.0.0.1:${port}\n  stats uri /s\n  stats auth admin:pw\n  stats admin if TRUE\n`
      + `listen web\n  bind 127.0.0.1:${web}\n  server s1 127.0.0.1:2\n  server s2 127.0.0.1:3\n`);
    const stderr: string[] = [];
    const clock = new ManualClock(50_000);
    const haproxy = buildFromHaproxyConfig(config, { clock, pid: 7, stderr: (t) => stderr.push(t), statsPage: statsPageOf, statsSockets: false });
    assert.equal(haproxy.frontends.has('stats'), false, 'the stats section is not a TCP proxy');
    assert.equal(haproxy.backends.has('stats'), false);
    await haproxy.start();
    try {
      const page = haproxy.statsPageAddresses.find((a) => a.section === 'stats');
      assert.ok(page !== undefined, `served: ${JSON.stringify(haproxy.statsPageAddresses)} ${stderr.join('')}`);
      const auth = basic('admin', 'pw');
      const csv = await request(page.address.port, '/s;csv', { headers: { authorization: auth } });
      assert.equal(csv.body, showStat(haproxy, { iid: -1, type: -1, sid: -1, up: false, noMaint: false }));
      assert.doesNotMatch(csv.body, /^stats,/m, 'the stats section has no row');
      const token = formToken((await request(page.address.port, '/s', { headers: { authorization: auth } })).body);
      const r = await request(page.address.port, '/s', {
        method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `s=s2&action=drain&b=web&token=${token}`,
      });
      assert.equal(r.status, 303, r.body);
      assert.equal(haproxy.backend('web').pool.get('s2').adminState, 'drain');
      assert.ok(stderr.includes('[WARNING]  (7) : Server web/s2 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.\n'), stderr.join(''));
      const down = await request(page.address.port, '/s', {
        method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `s=s1&action=hdown&b=web&token=${token}`,
      });
      assert.equal(down.status, 409, 'an unchecked server has no health check to force');
    } finally {
      haproxy.destroy();
      await haproxy.close();
    }
  });
});

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await withTimeout(new Promise((r) => s.once('listening', r)), 5000, 'listen');
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
