import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigFiles } from '../../src/cli/check.js';
import { LbError } from '../../src/errors.js';
import { buildFromHaproxyConfig } from '../../src/haproxy/from-config.js';
import { parseHaproxyConfig } from '../../src/haproxy/config/parser.js';
import { SAFETY_MS, waitFor } from '../proxy/helpers.js';

/** Free loopback ports (bound, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, async () => {
    const s = net.createServer().listen(0, '127.0.0.1');
    await once(s, 'listening');
    return s;
  }));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** A backend that writes its name and closes. */
async function backend(name: string, port: number): Promise<net.Server> {
  const s = net.createServer((c) => c.end(`${name}\n`)).listen(port, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

/** One connection through the proxy: the line it read ('' when closed without data). */
async function fetchLine(port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => {});
  await once(socket, 'close');
  return data.trim();
}

const DEFAULTS = 'defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n';

describe('buildFromHaproxyConfig', () => {
  it('builds one pool, balancer, checker and observer per backend and one proxy per frontend, mapped from the description', () => {
    const config = parseHaproxyConfig(`${DEFAULTS}
frontend ft
  bind 127.0.0.1:18500
  default_backend be
backend be
  balance source
  hash-type consistent
  retries 2
  option redispatch
  timeout queue 700ms
  server s1 127.0.0.1:18501 check inter 3s fastinter 1s downinter 5s rise 3 fall 4 weight 7 maxconn 9 maxqueue 2 observe layer4 error-limit 4 on-error mark-down
  server s2 127.0.0.1:18502 backup disabled id 12 slowstart 2s
`);
    const haproxy = buildFromHaproxyConfig(config, { warnings: false });
    const be = haproxy.backend('be');
    assert.equal(be.pool.name, 'be');
    assert.equal(be.balancer.strategy.name, 'source');
    assert.equal(be.balancer.timeoutQueueMs, 700);
    const s1 = be.pool.get('s1');
    assert.deepEqual([s1.weight, s1.maxconn, s1.maxqueue, s1.rise, s1.fall, s1.check, s1.status], [7, 9, 2, 3, 4, true, 'UP 1/4']);
    const s2 = be.pool.get('s2');
    assert.deepEqual([s2.backup, s2.adminState, s2.id, s2.slowstartMs], [true, 'maint', 12, 2000]);
    assert.equal(be.checker.running, false, 'nothing is checked before start()');
    assert.equal(be.observer?.consecutiveErrors(s1), 0);
    const ft = haproxy.frontend('ft');
    assert.equal(ft.backend, be);
    assert.equal(ft.proxy.retries, 2);
    assert.equal(ft.proxy.timeoutConnectMs, 1000);
    assert.deepEqual(ft.addresses, []);
    assert.throws(() => haproxy.backend('nope'), (e) => LbError.is(e) && e.code === 'ERR_LB_INVALID_ARG');
    haproxy.destroy();
  });

  it('listens only once started, balances like the configuration says, and closes gracefully', async () => {
    const [fe, p1, p2] = await freePorts(3);
    const b1 = await backend('s1', p1!);
    const b2 = await backend('s2', p2!);
    const config = parseHaproxyConfig(`${DEFAULTS}listen web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:${p1}\n  server s2 127.0.0.1:${p2}\n`);
    const haproxy = buildFromHaproxyConfig(config, { warnings: false });
    await assert.rejects(fetchLine(fe!).then((l) => (l === '' ? Promise.reject(new Error('refused')) : l)));
    await haproxy.start();
    assert.deepEqual(haproxy.frontend('web').addresses.map((a) => (typeof a === 'string' ? a : a.port)), [fe]);
    assert.deepEqual([await fetchLine(fe!), await fetchLine(fe!), await fetchLine(fe!)], ['s1', 's2', 's1']);
    await haproxy.close();
    assert.equal(haproxy.stopping, true);
    await haproxy.close();
    b1.close();
    b2.close();
  });

  it('writes HAProxy state lines: the [WARNING] copy on stderr and the raw line to `log stderr`', async () => {
    const [fe, p1] = await freePorts(2);
    const config = parseHaproxyConfig(`global\n  log stderr format raw local0 info\n${DEFAULTS}  log global\nlisten web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:${p1} check inter 50\n`);
    const lines: string[] = [];
    const haproxy = buildFromHaproxyConfig(config, { pid: 4242, stderr: (t) => lines.push(t) });
    await haproxy.start();
    await waitFor(() => lines.length >= 4, 'the DOWN lines');
    assert.deepEqual(lines.slice(0, 4), [
      '[WARNING]  (4242) : Server web/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: ' +
        `${/check duration: (\d+)ms/.exec(lines[0] ?? '')?.[1]}ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n`,
      lines[0]!.slice('[WARNING]  (4242) : '.length),
      "[ALERT]    (4242) : proxy 'web' has no server available!\n",
      'proxy web has no server available!\n',
    ]);
    await haproxy.close();
  });

  it('logs a tcplog line per connection to the frontend\'s targets', async () => {
    const [fe, p1] = await freePorts(2);
    const b1 = await backend('s1', p1!);
    const config = parseHaproxyConfig(`global\n  log stdout format raw local0 info\n${DEFAULTS}  log global\n  option tcplog\nlisten web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:${p1}\n`);
    const out: string[] = [];
    const haproxy = buildFromHaproxyConfig(config, { warnings: false, stdout: (t) => out.push(t) });
    await haproxy.start();
    assert.equal(await fetchLine(fe!), 's1');
    await waitFor(() => out.length === 1, 'the tcplog line');
    assert.match(out[0]!, /^127\.0\.0\.1:\d+ \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] web web\/s1 \d+\/\d+\/\d+ 3 -- \d+\/\d+\/\d+\/\d+\/0 0\/0\n$/);
    await haproxy.close();
    b1.close();
  });

  it('gives each server its own send-proxy, send-proxy-v2 and on-marked-* (per server, as in HAProxy), the proxy none', () => {
    const config = parseHaproxyConfig(`${DEFAULTS}listen web\n  bind 127.0.0.1:18591\n` +
      '  server s1 127.0.0.1:1 send-proxy on-marked-down shutdown-sessions\n  server s2 127.0.0.1:2 send-proxy-v2 on-marked-up shutdown-backup-sessions\n  server s3 127.0.0.1:3\n');
    const haproxy = buildFromHaproxyConfig(config, { warnings: false });
    const [s1, s2, s3] = haproxy.backend('web').pool.servers;
    assert.deepEqual([s1, s2, s3].map((s) => [s?.sendProxy, s?.onMarkedDown, s?.onMarkedUp]), [
      ['v1', 'shutdown-sessions', undefined],
      ['v2', undefined, 'shutdown-backup-sessions'],
      [undefined, undefined, undefined],
    ]);
  });

  it('switchyard -c accepts servers of one backend with different send-proxy and on-marked-* (HAProxy: valid)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-build-'));
    const file = join(dir, 'mixed.cfg');
    await writeFile(file, `${DEFAULTS}listen web\n  bind 127.0.0.1:18590\n  server s1 127.0.0.1:1 send-proxy on-marked-down shutdown-sessions\n  server s2 127.0.0.1:2 send-proxy-v2\n  server s3 127.0.0.1:3\n`);
    const report = await checkConfigFiles([file], { pid: 1, version: 'x', executable: 'switchyard' });
    assert.deepEqual([report.exitCode, report.stdout, report.stderr], [0, ['Configuration file is valid'], []]);
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on a unix socket (replacing a stale one), logs its clients as unix:<listener id>, counts every listener', { timeout: SAFETY_MS }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-unix-'));
    const [p1, fe] = await freePorts(2);
    const b1 = await backend('s1', p1!);
    const path = join(dir, 'fe.sock');
    // A socket file left behind by an earlier run (still bound here): HAProxy binds over it, and so does switchyard.
    const stale = net.createServer().listen(path);
    await once(stale, 'listening');
    const config = parseHaproxyConfig(`global\n  log stdout format raw local0 info\n${DEFAULTS}  log global\n` +
      `listen feu\n  bind 127.0.0.1:${fe}\n  bind unix@${path}\n  server s1 127.0.0.1:${p1}\n`);
    const out: string[] = [];
    const haproxy = buildFromHaproxyConfig(config, { warnings: false, stdout: (t) => out.push(t) });
    try {
      await haproxy.start();
      assert.deepEqual(haproxy.frontend('feu').addresses.filter((a) => typeof a === 'string'), [path]);
      assert.equal(haproxy.listenerCount, 2);
      const line = await new Promise<string>((resolve, reject) => {
        const c = net.connect(path);
        let text = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => (text += d));
        c.on('error', reject);
        c.on('close', () => resolve(text));
      });
      assert.equal(line, 's1\n');
      assert.deepEqual(out, ['Connect to unix:2 (feu/TCP)\n']);
    } finally {
      await haproxy.close();
      stale.close();
      b1.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects start() with HAProxy 2.6\'s alert naming the bind line, and releases everything, when a bind address is taken', async () => {
    // unref: a failed assertion below must not keep the test process alive.
    const taken = net.createServer().listen(0, '127.0.0.1').unref();
    await once(taken, 'listening');
    const port = (taken.address() as net.AddressInfo).port;
    const haproxy = buildFromHaproxyConfig(parseHaproxyConfig(`${DEFAULTS}listen web\n  bind 127.0.0.1:${port}\n  server s1 127.0.0.1:1\n`), { warnings: false });
    // HAProxy 2.6's alert, with the line of the `bind`: `Binding [haproxy.cfg:7] for proxy web: cannot bind socket (…) for [addr]`.
    await assert.rejects(haproxy.start(), { code: 'ERR_LB_INVALID_STATE', message: `Binding [haproxy.cfg:7] for proxy web: cannot bind socket (Address already in use) for [127.0.0.1:${port}]` });
    assert.equal(haproxy.stopping, true);
    taken.close();
  });

  it('destroy() cuts live connections; [Symbol.asyncDispose] closes', { timeout: SAFETY_MS }, async () => {
    const [fe, p1] = await freePorts(2);
    const held = net.createServer(() => {}).listen(p1, '127.0.0.1');
    await once(held, 'listening');
    const haproxy = buildFromHaproxyConfig(parseHaproxyConfig(`${DEFAULTS}listen web\n  bind 127.0.0.1:${fe}\n  server s1 127.0.0.1:${p1}\n`), { warnings: false });
    await haproxy.start();
    const client = net.connect(fe!, '127.0.0.1');
    client.on('error', () => {});
    await waitFor(() => haproxy.connections === 1, 'the connection');
    const closed = once(client, 'close');
    haproxy.destroy();
    await closed;
    await haproxy[Symbol.asyncDispose]();
    held.close();
  });
});
