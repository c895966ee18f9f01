import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { buildFromHaproxyConfig } from '../../src/haproxy/from-config.js';
import { parseHaproxyConfig } from '../../src/haproxy/config/parser.js';
import { waitFor } from '../proxy/helpers.js';
import { withTimeout } from '../helpers/timeout.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function greet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
  });
}

const config = (nbthread: string, bindPort: number, ports: number[]): string => `
global
    nbthread ${nbthread}
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen fe
    bind 127.0.0.1:${bindPort}
    balance roundrobin
${ports.map((p, i) => `    server s${i + 1} 127.0.0.1:${p} maxconn 3`).join('\n')}
`;

describe('switchyard -f with nbthread', () => {
  it('reads nbthread as HAProxy 2.6 does: 1 to 64, else an alert naming the value', () => {
    assert.equal(parseHaproxyConfig('global\n    nbthread 4\n').global.nbthread, 4);
    assert.equal(parseHaproxyConfig('global\n').global.nbthread, 1);
    for (const bad of ['0', '65', 'x', '2x']) {
      assert.throws(() => parseHaproxyConfig(`global\n    nbthread ${bad}\n`), (e: unknown) => e instanceof Error && JSON.stringify(e).includes(`'${bad}' is an invalid number of threads`));
    }
  });

  it('serves a frontend from nbthread threads (the main one and nbthread - 1 workers) with the one balancer of the main thread', async () => {
    const backends = await Promise.all(['a', 'b'].map(async (name) => {
      const server = net.createServer((s) => s.end(name));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }));
    const bindPort = await freePort();
    const haproxy = buildFromHaproxyConfig(parseHaproxyConfig(config('2', bindPort, backends.map((b) => (b.address() as net.AddressInfo).port))), {
      warnings: false, stderr: () => {}, stdout: () => {}, statsSockets: false,
    });
    await haproxy.start();
    try {
      const fe = haproxy.frontend('fe');
      // nbthread 2: the main thread and one worker thread accept.
      assert.equal(fe.workers?.workers, 1);
      assert.equal(fe.workers?.acceptOnMainThread, true);
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) seen.push(await withTimeout(greet(bindPort), 10_000, `connection ${i}`));
      assert.deepEqual(seen, ['a', 'b', 'a', 'b']);
      assert.deepEqual(haproxy.backend('fe').pool.servers.map((s) => s.totalConnections), [2, 2]);
    } finally {
      await withTimeout(haproxy.close({ deadlineMs: 2_000 }), 10_000, 'the instance to close');
      for (const b of backends) b.close();
    }
  });
  it('writes the tcplog line of every connection its threads serve (records forwarded from the workers)', async () => {
    const backend = net.createServer((s) => s.end('a'));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const bindPort = await freePort();
    const text = config('2', bindPort, [(backend.address() as net.AddressInfo).port])
      .replace('global\n', 'global\n    log stdout format raw local0\n')
      .replace('defaults\n', 'defaults\n    log global\n    option tcplog\n');
    const lines: string[] = [];
    const haproxy = buildFromHaproxyConfig(parseHaproxyConfig(text), { warnings: false, stderr: () => {}, stdout: (t: string) => lines.push(t), statsSockets: false });
    await haproxy.start();
    try {
      for (let i = 0; i < 6; i++) assert.equal(await withTimeout(greet(bindPort), 10_000, `connection ${i}`), 'a');
      await waitFor(() => lines.filter((l) => l.includes(' fe fe/s1 ')).length >= 6, `6 tcplog lines (got ${lines.length} lines)`);
      const traffic = lines.filter((l) => l.includes(' fe fe/s1 '));
      assert.equal(traffic.length, 6, traffic.join(''));
      for (const l of traffic) assert.match(l, /^127\.0\.0\.1:\d+ \[[^\]]+\] fe fe\/s1 \d+\/\d+\/\d+ 1 -- /, l);
    } finally {
      await withTimeout(haproxy.close({ deadlineMs: 2_000 }), 10_000, 'the instance to close');
      backend.close();
    }
  });
});
