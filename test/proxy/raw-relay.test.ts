/**
 * The relay on Node's TCP handles (src/proxy/raw-socket.ts, `relay: 'handles'`, the default) reaches into Node's
 * internal bindings, so the relay's cases run on both relays, on each Node of the matrix, with real sockets on
 * loopback: bytes both ways with half-close, resets on either side, refused servers, servers by host name,
 * what `ProxyConnection` hands out, and the feature check.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import { LbError } from '../../src/errors.js';
import { loadRawHandles } from '../../src/proxy/raw-handles.js';
import type { ProxyConnection, TcpProxyOptions } from '../../src/proxy/tcp-proxy.js';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { backend, collect, echo, proxyRig, refusedPort, s, waitEvent, waitFor } from './helpers.js';

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8) + seed) & 0xff;
  return b;
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('loadRawHandles (the feature check)', () => {
  it("finds Node's TCP handle bindings on this Node, and none with SWITCHYARD_NO_RAW_RELAY=1", () => {
    const raw = loadRawHandles({});
    assert.ok(raw, `Node ${process.version} lacks a member the relay on handles uses`);
    assert.equal(typeof raw.TCP, 'function');
    assert.ok(raw.state instanceof Int32Array);
    assert.equal(loadRawHandles({ SWITCHYARD_NO_RAW_RELAY: '1' }), undefined);
  });

  it("refuses a relay other than 'handles' or 'sockets', naming the field and the value", () => {
    const balancer = new Balancer(new Pool('fe', { servers: [s('s1', 1)] }));
    assert.throws(
      () => new TcpProxy(balancer, { relay: 'streams' } as unknown as TcpProxyOptions),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && /relay/.test(err.message) && /streams/.test(err.message),
    );
  });
});

for (const relay of ['handles', 'sockets'] as const) {
  describe(`TcpProxy with relay: '${relay}'`, () => {
    const options: TcpProxyOptions = { relay, timeoutClientMs: 60_000, timeoutServerMs: 60_000 };

    it(`hands out ${relay === 'handles' ? 'its own sockets' : 'net.Sockets'} with the peer's addresses`, async () => {
      const b = await backend(echo);
      const r = await proxyRig([s('s1', b.port)], options);
      try {
        const opened = waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
        const client = r.connect();
        await waitEvent(client, 'connect');
        const [c] = await opened;
        assert.equal(c.client instanceof net.Socket, relay === 'sockets');
        assert.equal(c.upstream instanceof net.Socket, relay === 'sockets');
        assert.equal(c.client.remotePort, client.localPort);
        assert.equal(c.client.remoteAddress, '127.0.0.1');
        assert.equal(c.client.localPort, r.port);
        assert.equal(c.upstream?.remotePort, b.port);
        assert.equal(c.clientPort, client.localPort);
        client.end();
        const record = await r.closed();
        assert.equal(record.termination, '--');
      } finally {
        await r.shutdown();
        await b.close();
      }
    });

    it('relays 3 MB up and 2 MB down with half-close, byte for byte, and closes with --', async () => {
      const down = pattern(2 * 1024 * 1024, 7);
      const b = await backend((socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (d: Buffer) => chunks.push(d));
        // Answers after the client's FIN (half-close), then ends its side.
        socket.on('end', () => {
          socket.write(Buffer.from(digest(Buffer.concat(chunks)), 'hex'));
          socket.end(down);
        });
      });
      const r = await proxyRig([s('s1', b.port)], options);
      try {
        const up = pattern(3 * 1024 * 1024, 3);
        const client = r.connect(true);
        const got = collect(client);
        client.end(up);
        await got.ended();
        const all = got.buffer();
        assert.equal(all.length, 32 + down.length);
        assert.equal(all.subarray(0, 32).toString('hex'), digest(up));
        assert.ok(all.subarray(32).equals(down));
        const record = await r.closed();
        assert.equal(record.termination, '--');
        assert.equal(record.bytesIn, up.length);
        assert.equal(record.bytesOut, 32 + down.length);
      } finally {
        await r.shutdown();
        await b.close();
      }
    });

    it('ends with SD when the server resets after sending, and the client sees the bytes then the cut', async () => {
      const b = await backend((socket) => {
        socket.once('data', () => {
          socket.write('partial');
          setImmediate(() => socket.resetAndDestroy());
        });
      });
      const r = await proxyRig([s('s1', b.port)], options);
      try {
        const client = r.connect();
        const clientClosed = waitEvent(client, 'close');
        const got = collect(client);
        client.write('go');
        const record = await r.closed();
        assert.equal(record.termination, 'SD');
        await clientClosed;
        assert.equal(got.text(), 'partial');
      } finally {
        await r.shutdown();
        await b.close();
      }
    });

    it('ends with CD when the client resets during the transfer, and cuts the server side', async () => {
      let serverSide: net.Socket | undefined;
      const b = await backend((socket) => {
        serverSide = socket;
        socket.on('data', () => socket.write('pong'));
      });
      const r = await proxyRig([s('s1', b.port)], options);
      try {
        const client = r.connect();
        const got = collect(client);
        client.write('ping');
        await got.until(4);
        client.resetAndDestroy();
        const record = await r.closed();
        assert.equal(record.termination, 'CD');
        // The proxy closed its side: the server reads the end of the stream (it allows half-open, so it stays open).
        await waitFor(() => serverSide?.readableEnded === true || serverSide?.destroyed === true, 'the server side to be cut');
      } finally {
        await r.shutdown();
        await b.close();
      }
    });

    it('ends with SC when the server refuses the connection', async () => {
      const port = await refusedPort();
      const r = await proxyRig([s('s1', port)], { ...options, retries: 0 });
      try {
        const client = r.connect();
        const clientClosed = waitEvent(client, 'close');
        const record = await r.closed();
        assert.equal(record.termination, 'SC');
        assert.equal(record.attempts, 1);
        await clientClosed;
      } finally {
        await r.shutdown();
      }
    });

    /** Sends `text` through `r` and back (an echo server) and half-closes; `whileOpen` checks the connection `connection:open` gave. */
    async function echoOnce(r: Awaited<ReturnType<typeof proxyRig>>, text: string, whileOpen: (c: ProxyConnection) => void): Promise<void> {
      const opened = waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
      const client = r.connect();
      const got = collect(client);
      client.write(text);
      const [c] = await opened;
      whileOpen(c);
      await got.until(text.length);
      assert.equal(got.text(), text);
      client.end();
      assert.equal((await r.closed()).termination, '--');
    }

    it('dials a server given by an IPv6 address (::1) and relays both ways', async () => {
      const server = net.createServer({ allowHalfOpen: true }, echo);
      await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
      const port = (server.address() as net.AddressInfo).port;
      const r = await proxyRig([{ name: 's1', host: '::1', port }], options);
      try {
        await echoOnce(r, 'over v6', (c) => {
          assert.equal(c.upstream instanceof net.Socket, relay === 'sockets');
          assert.equal(c.upstream?.remoteAddress, '::1');
          assert.equal(c.upstream?.remotePort, port);
        });
      } finally {
        await r.shutdown();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('dials a server given by host name with net.connect() (the name is resolved), and relays', async () => {
      const b = await backend(echo);
      const r = await proxyRig([{ name: 's1', host: 'localhost', port: b.port }], options);
      try {
        await echoOnce(r, 'by name', (c) => assert.ok(c.upstream instanceof net.Socket));
      } finally {
        await r.shutdown();
        await b.close();
      }
    });
  });
}
