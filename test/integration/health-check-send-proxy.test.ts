import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ActiveChecker } from '../../src/health/active-checker.js';
import type { Probe } from '../../src/health/probe.js';
import { httpProbe } from '../../src/health/probes/http.js';
import { sendExpectProbe } from '../../src/health/probes/send-expect.js';
import { tcpConnectProbe } from '../../src/health/probes/tcp-connect.js';
import { Pool } from '../../src/pool.js';
import type { ServerOptions } from '../../src/server.js';
import { withTimeout } from '../helpers/timeout.js';

/**
 * HAProxy sends a send-proxy server's PROXY header on its checks when they have no port or addr of their own
 * (`src/check.c init_srv_check()`, `src/tcpcheck.c tcpcheck_eval_connect()`): v1 names the check connection's
 * addresses, v2 is a LOCAL command (measured against 2.6.12: `config2.diff.ts`, item 7).
 */
describe('checks of a send-proxy server send its PROXY header (issue 12 item 7)', () => {
  let server: net.Server;
  let port: number;
  const first: { local: number; bytes: Buffer }[] = [];
  before(async () => {
    server = net.createServer((c) => {
      c.on('error', () => {});
      c.once('data', (d: Buffer) => {
        first.push({ local: c.remotePort ?? 0, bytes: d });
        // One answer both the send/expect probe (READY) and the HTTP probe (a 200) pass with; the plain probe only connects.
        c.end('HTTP/1.0 200 OK\r\n\r\nREADY\r\n');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  async function checkOnce(probe: Probe, options: Partial<ServerOptions>, settings: { port?: number; addr?: string } = {}): Promise<{ status: string; first: Buffer | undefined }> {
    first.length = 0;
    const clock = new ManualClock();
    const pool = new Pool('be', { clock, servers: [{ name: 's1', host: '127.0.0.1', port, check: true, ...options }] });
    const checker = new ActiveChecker(pool, { clock, interMs: 1000, probe, servers: { s1: settings } });
    const result = new Promise<string>((resolve) => {
      pool.once('check:pass', (_s, cause) => resolve(cause.result.status));
      pool.once('check:fail', (_s, cause) => resolve(`${cause.result.status} ${cause.result.info ?? ''}`));
    });
    checker.checkNow(pool.get('s1'));
    clock.advance(0);
    const status = await withTimeout(result, 5000, 'the check');
    // The plain probe reports at connect; what it wrote arrives just after.
    for (let i = 0; i < 200 && first.length === 0 && options.sendProxy !== undefined && settings.port === undefined && settings.addr === undefined; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await checker.close();
    return { status, first: first[0]?.bytes };
  }

  it('plain check, v1: PROXY TCP4 with the check connection\'s own addresses', async () => {
    const { status, first: bytes } = await checkOnce(tcpConnectProbe(), { sendProxy: 'v1' });
    assert.equal(status, 'L4OK');
    const words = bytes?.toString('latin1').split(' ') ?? [];
    assert.deepEqual([words[0], words[1], words[2], words[3], words[5]], ['PROXY', 'TCP4', '127.0.0.1', '127.0.0.1', `${port}\r\n`]);
    assert.match(words[4] ?? '', /^\d+$/);
  });

  it('plain check, v2: a LOCAL header with no address (16 bytes)', async () => {
    const { status, first: bytes } = await checkOnce(tcpConnectProbe(), { sendProxy: 'v2' });
    assert.equal(status, 'L4OK');
    assert.equal(bytes?.toString('hex'), '0d0a0d0a000d0a515549540a20000000');
  });

  it('no header with a check port or addr of its own, nor for a server without send-proxy', async () => {
    assert.equal((await checkOnce(tcpConnectProbe(), { sendProxy: 'v1' }, { addr: '127.0.0.1' })).first, undefined);
    assert.equal((await checkOnce(tcpConnectProbe(), { sendProxy: 'v1' }, { port })).first, undefined);
    assert.equal((await checkOnce(tcpConnectProbe(), {})).first, undefined);
  });

  it('send/expect (implicit connect) and HTTP checks send it before their request', async () => {
    const se = await checkOnce(sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'string', pattern: 'READY' }]), { sendProxy: 'v1' });
    assert.equal(se.status, 'L7OK');
    assert.match(se.first?.toString('latin1') ?? '', /^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+\r\n/);
    const http = await checkOnce(httpProbe({ path: '/' }), { sendProxy: 'v2' });
    assert.equal(http.status, 'L7OK');
    assert.equal(http.first?.subarray(0, 16).toString('hex'), '0d0a0d0a000d0a515549540a20000000');
  });
});
