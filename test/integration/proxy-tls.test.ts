import assert from 'node:assert/strict';
import type net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { type ConnectionRecord, TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { selfSignedCertificate } from '../adapters/support.js';
import { type Backend, backend, waitFor } from '../proxy/helpers.js';

const material = selfSignedCertificate('localhost');

/**
 * TLS terminated by the application's own `tls.Server`, its decrypted sockets handed to `proxy.handle()`. The
 * checks that tell a reset from an end of stream read Node's handle of a plain TCP socket; a TLS socket must
 * still close normally whichever side ends first (an earlier version left such sessions open for ever when
 * the server closed first).
 */
describe('TcpProxy behind a tls.Server (proxy.handle on secureConnection)', { skip: material === undefined ? 'no openssl command' : false }, () => {
  let server: tls.Server;
  let port: number;
  let upstream: Backend;
  let proxy: TcpProxy;
  let balancer: Balancer;
  const records: ConnectionRecord[] = [];
  let serverFirst = true;

  before(async () => {
    upstream = await backend((socket) => {
      socket.resume();
      if (serverFirst) socket.end('hello');
      else socket.on('end', () => socket.end('bye'));
    });
    balancer = new Balancer(new Pool('tls', { servers: [{ name: 'b', host: '127.0.0.1', port: upstream.port }] }));
    proxy = new TcpProxy(balancer);
    proxy.on('connection:close', (r) => records.push(r));
    server = tls.createServer({ ...material!, allowHalfOpen: true });
    server.on('secureConnection', (socket) => proxy.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  after(async () => {
    proxy.destroy();
    balancer.destroy();
    await new Promise((resolve) => server.close(resolve));
    await upstream.close();
  });

  /** One TLS client: sends `send` (and ends first when `endFirst`), ends when the proxy does, resolves with what it got. */
  function client(send: string, endFirst: boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      let got = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => (got += d));
      c.on('secureConnect', () => (endFirst ? c.end(send) : c.write(send)));
      c.on('end', () => c.end());
      c.on('error', reject);
      c.on('close', () => resolve(got));
    });
  }

  it('refuses to attach to a tls.Server (its connection sockets are encrypted and read by TLS too), naming the way that works', () => {
    const other = tls.createServer({ ...material! });
    const listeners = other.listenerCount('connection');
    assert.throws(() => proxy.attach(other), (err: unknown) => {
      assert.ok(LbError.is(err));
      assert.equal(err.code, 'ERR_LB_INVALID_ARG');
      assert.match(err.message, /server.*tls\.Server.*handle\(socket\).*secureConnection/);
      return true;
    });
    assert.equal(other.listenerCount('connection'), listeners, 'no listener added');
  });

  for (const first of ['server', 'client'] as const) {
    it(`closes normally (--) when the ${first} ends first, with every byte relayed, and leaves no session open`, async () => {
      serverFirst = first === 'server';
      const before = records.length;
      for (let i = 0; i < 5; i++) assert.equal(await client('x', first === 'client'), first === 'server' ? 'hello' : 'bye');
      await waitFor(() => records.length === before + 5 && proxy.connections === 0, `5 records and no session open (have ${records.length - before}, ${proxy.connections} open)`);
      assert.deepEqual(records.slice(before).map((r) => [r.termination, r.bytesIn, r.bytesOut]), Array(5).fill(['--', 1, first === 'server' ? 5 : 3]));
    });
  }
});
