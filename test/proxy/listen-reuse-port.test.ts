import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { reusePortSupported } from '../../src/proxy/tcp-proxy-options.js';
import { backend, echo } from './helpers.js';

/** One echo round trip through 127.0.0.1:`port`. */
async function roundTrip(port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => socket.end('ping'));
    socket.once('close', () => resolve());
  });
  return Buffer.concat(chunks).toString();
}

describe('TcpProxy listen({ reusePort })', () => {
  it('knows which Node versions read reusePort', () => {
    for (const v of ['20.19.0', '20.20.2', '22.11.0', '23.0.0']) assert.equal(reusePortSupported(v), false, v);
    for (const v of ['22.12.0', '22.23.5', '23.1.0', '24.0.0', '25.2.1']) assert.equal(reusePortSupported(v), true, v);
  });

  if (reusePortSupported()) {
    it(`lets two proxies listen on one port and share its connections (Node ${process.versions.node})`, async () => {
      const be = await backend(echo);
      const pool = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: be.port }] });
      const a = new TcpProxy(new Balancer(pool));
      const b = new TcpProxy(new Balancer(pool));
      try {
        const { port } = await a.listen({ host: '127.0.0.1', port: 0, reusePort: true });
        // Without SO_REUSEPORT on both this second bind is refused (ERR_LB_LISTEN, EADDRINUSE).
        await b.listen({ host: '127.0.0.1', port, reusePort: true });
        assert.equal(b.address()?.port, port);
        const N = 40;
        for (let i = 0; i < N; i++) assert.equal(await roundTrip(port), 'ping', `round trip ${i}`);
        assert.equal(a.stats().total + b.stats().total, N, 'every connection went through one of the two');
      } finally {
        await Promise.all([a.close(), b.close()]);
        await be.close();
      }
    });
  } else {
    it(`refuses reusePort on Node ${process.versions.node} instead of ignoring it, and listens without it`, async () => {
      const pool = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: 1 }] });
      const proxy = new TcpProxy(new Balancer(pool));
      try {
        await assert.rejects(async () => proxy.listen({ host: '127.0.0.1', port: 0, reusePort: true }), (err: unknown) => {
          assert.ok(LbError.is(err));
          assert.equal(err.code, 'ERR_LB_INVALID_ARG');
          assert.match(err.message, /reusePort/);
          assert.match(err.message, /Node 22\.12\+ or 23\.1\+/);
          return true;
        });
        assert.equal(proxy.address(), undefined);
        const { port } = await proxy.listen({ host: '127.0.0.1', port: 0, reusePort: false });
        assert.ok(port > 0);
      } finally {
        await proxy.close();
      }
    });
  }
});
