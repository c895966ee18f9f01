/**
 * Accepted sockets read with `onread` (src/proxy/client-read.ts) reach into Node's private `onread` symbols, so
 * every behaviour here runs twice on each Node version of the matrix: through that path and through the public
 * `data` path it falls back to (`SWITCHYARD_NO_CLIENT_ONREAD=1`), with real sockets on loopback.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { ClientReader } from '../../src/proxy/client-read.js';
import { Session } from '../../src/proxy/session.js';
import { type ConnectionRecord, TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { backend, closeServer, echo, listen, waitEvent, waitFor } from './helpers.js';

/** The `onread` callback Node will call for `socket`, if it was given one (Node's private `kBufferCb`). */
function onreadCallbackOf(socket: net.Socket): unknown {
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'kBufferCb');
  return key === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[key];
}

/** Collects everything `socket` receives until it ends. */
function received(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  return waitEvent(socket, 'end', 'the end of the stream').then(() => Buffer.concat(chunks));
}

function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

describe('ClientReader (onread for accepted sockets)', () => {
  it('finds the onread internals on this Node, and is off with SWITCHYARD_NO_CLIENT_ONREAD=1', () => {
    const callback = (): boolean => true;
    assert.ok(ClientReader.create(Buffer.alloc(16), callback, {}), `no onread internals found on Node ${process.version}`);
    assert.equal(ClientReader.create(Buffer.alloc(16), callback, { SWITCHYARD_NO_CLIENT_ONREAD: '1' }), undefined);
  });

  it('delivers every byte of an adopted socket to the callback, then its end, with bytesRead counted', async () => {
    const buffer = Buffer.alloc(4096);
    const got: Buffer[] = [];
    const reader = ClientReader.create(buffer, function (nread, b) {
      got.push(Buffer.from(b.subarray(0, nread)));
      return true;
    }, {})!;
    const server = net.createServer();
    const accepted = waitEvent<[net.Socket]>(server, 'connection');
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    const [socket] = await accepted;
    assert.equal(reader.adopt(socket), true);
    const data = pattern(100_000);
    client.end(data);
    const ended = waitEvent(socket, 'end');
    socket.resume();
    await ended;
    assert.deepEqual(Buffer.concat(got), data);
    assert.equal(socket.bytesRead, data.length);
    socket.destroy();
    client.destroy();
    await closeServer(server);
  });

  it('does not adopt a socket whose stream already holds bytes (they must come out of the stream first)', async () => {
    const reader = ClientReader.create(Buffer.alloc(64), () => true, {})!;
    const server = net.createServer();
    const accepted = waitEvent<[net.Socket]>(server, 'connection');
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    const [socket] = await accepted;
    client.write('early');
    await waitFor(() => socket.readableLength > 0, 'the bytes to reach the stream');
    assert.equal(reader.adopt(socket), false);
    assert.equal(socket.read().toString(), 'early');
    socket.destroy();
    client.destroy();
    await closeServer(server);
  });
});

for (const path of ['onread', 'data'] as const) {
  describe(`TcpProxy reading clients through ${path === 'onread' ? 'onread (Node internals)' : 'data events (the fallback)'}`, () => {
    const cleanup: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      while (cleanup.length > 0) await cleanup.pop()!();
    });

    /** A proxy attached to a server of the test's (to see its accepted sockets), one echo backend with `maxconn`. */
    async function rig(maxconn?: number) {
      const live = await backend(echo);
      cleanup.push(() => live.close());
      const pool = new Pool('fe', { servers: [{ name: 's1', host: '127.0.0.1', port: live.port, ...(maxconn === undefined ? {} : { maxconn }) }] });
      const balancer = new Balancer(pool);
      if (path === 'data') process.env['SWITCHYARD_NO_CLIENT_ONREAD'] = '1';
      let proxy: TcpProxy;
      try {
        proxy = new TcpProxy(balancer, { timeoutClientMs: 60_000, timeoutServerMs: 60_000 });
      } finally {
        delete process.env['SWITCHYARD_NO_CLIENT_ONREAD'];
      }
      const records: ConnectionRecord[] = [];
      proxy.on('connection:close', (r) => records.push(r));
      const server = net.createServer({ allowHalfOpen: true });
      const accepted: net.Socket[] = [];
      proxy.attach(server);
      server.on('connection', (socket) => accepted.push(socket));
      const port = await listen(server);
      cleanup.push(async () => {
        proxy.destroy();
        await proxy.close();
        await closeServer(server);
      });
      const connect = (): net.Socket => {
        const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
        c.on('error', () => {});
        cleanup.push(() => void c.destroy());
        return c;
      };
      return { proxy, records, accepted, connect };
    }

    it('relays 1 MiB from the client with its half-close, every byte in order, and counts bytesIn', async () => {
      const { records, accepted, connect } = await rig();
      const client = connect();
      const echoed = received(client);
      await waitEvent(client, 'connect');
      const data = pattern(1 << 20);
      client.end(data);
      assert.deepEqual(await echoed, data);
      await waitFor(() => records.length === 1, 'the record');
      assert.equal(records[0]!.termination, '--');
      assert.equal(records[0]!.bytesIn, data.length);
      assert.equal(records[0]!.bytesOut, data.length);
      assert.equal(onreadCallbackOf(accepted[0]!) === Session.onClientRead, path === 'onread');
    });

    // 100 bytes: the FIN is read at once, before the upstream is there (the stream holds nothing, so with onread it
    // emits `end` then); 200 000: more than a stream would buffer, reading stops before the FIN.
    for (const size of [100, 200_000]) it(`keeps what a queued client sends (${size} bytes) and its FIN, and relays them once connected`, async () => {
      const { proxy, records, connect } = await rig(1);
      const first = connect();
      const firstEchoed = received(first);
      await waitEvent(proxy, 'connection:open');
      const second = connect();
      const secondEchoed = received(second);
      const early = pattern(size);
      second.end(early);
      await waitEvent(second, 'finish', 'the queued client to send everything');
      await waitFor(() => proxy.stats().current === 2, 'the second connection to be accepted');
      first.end('x');
      assert.equal((await firstEchoed).toString(), 'x');
      assert.deepEqual(await secondEchoed, early);
      await waitFor(() => records.length === 2, 'both records');
      assert.deepEqual(records.map((r) => r.termination), ['--', '--']);
      assert.equal(records[1]!.bytesIn, early.length);
    });

    it('records CQ when a queued client resets', async () => {
      const { proxy, records, connect } = await rig(1);
      const first = connect();
      await waitEvent(proxy, 'connection:open');
      const second = connect();
      await waitEvent(second, 'connect');
      await waitFor(() => proxy.stats().current === 2, 'the second connection to be accepted');
      second.resetAndDestroy();
      await waitFor(() => records.length === 1, 'the record of the reset client');
      assert.equal(records[0]!.termination, 'CQ');
      assert.equal(records[0]!.bytesIn, 0);
      first.destroy();
    });
  });
}
