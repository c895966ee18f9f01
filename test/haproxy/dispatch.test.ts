/**
 * `dispatch <addr>` (issue 12 item 14): without `balance`, every connection of the backend goes to that address
 * and is logged without a server (`<NOSRV>`); `show stat` has the BACKEND row only, UP. With `balance` HAProxy
 * ignores it and warns.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { buildFromHaproxyConfig } from '../../src/haproxy/from-config.js';
import { parseHaproxyConfig } from '../../src/haproxy/config/parser.js';
import { statRecords } from '../../src/haproxy/runtime/views.js';
import { waitFor } from '../proxy/helpers.js';

const DEFAULTS = 'defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n';

describe('dispatch', () => {
  it('reads dispatch <addr:port>, and ignores it with HAProxy\'s warning when a balance algorithm is set', () => {
    const c = parseHaproxyConfig(`${DEFAULTS}listen a\n  bind 127.0.0.1:1\n  dispatch 127.0.0.1:9\nlisten b\n  bind 127.0.0.1:2\n  balance roundrobin\n  dispatch 127.0.0.1:9\n  server s 127.0.0.1:3\n`, { fileName: 't.cfg' });
    assert.deepEqual(c.listens.map((l) => l.dispatch), [{ host: '127.0.0.1', port: 9 }, undefined]);
    assert.ok(c.warnings.some((w) => w.text === "dispatch address of proxy 'b' will be ignored in balance mode."));
    assert.throws(() => parseHaproxyConfig(`${DEFAULTS}backend a\n  dispatch 127.0.0.1\n`, { fileName: 't.cfg' }), /'dispatch' : missing port specification in '127\.0\.0\.1'/);
    assert.throws(() => parseHaproxyConfig(`defaults\n  dispatch 127.0.0.1:9\n`, { fileName: 't.cfg' }), /'dispatch' not allowed in 'defaults' section\./);
  });

  it('sends every connection to the dispatch address, logs it as <NOSRV>, and shows only the BACKEND row, UP', async () => {
    const target = net.createServer((c) => c.end('dispatched\n')).listen(0, '127.0.0.1');
    await once(target, 'listening');
    const port = (target.address() as net.AddressInfo).port;
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const fe = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const lines: string[] = [];
    const config = parseHaproxyConfig(`global\n  log stderr format raw local0 info\n${DEFAULTS}  log global\nlisten fe\n  bind 127.0.0.1:${fe}\n  option tcplog\n  dispatch 127.0.0.1:${port}\n`);
    const haproxy = buildFromHaproxyConfig(config, { stderr: (t) => lines.push(t), warnings: false, statsSockets: false });
    try {
      await haproxy.start();
      for (let i = 0; i < 2; i++) {
        const socket = net.connect(fe, '127.0.0.1');
        let data = '';
        socket.setEncoding('utf8').on('data', (d: string) => (data += d));
        await once(socket, 'close');
        assert.equal(data, 'dispatched\n');
        await waitFor(() => lines.length > i, `tcplog line ${i + 1}`);
      }
      assert.match(lines[0]!, /^127\.0\.0\.1:\d+ \[[^\]]+\] fe fe\/<NOSRV> \d+\/\d+\/\d+ 11 -- 1\/1\/0\/0\/0 0\/0\n$/);
      const rows = statRecords(haproxy).map((r) => [r.svname, r.status, r.stot]);
      assert.deepEqual(rows, [['FRONTEND', 'OPEN', 2], ['BACKEND', 'UP', 2]]);
    } finally {
      await haproxy.close();
      target.close();
    }
  });
});
