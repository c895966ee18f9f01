import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { PROXY_V2_SIGNATURE } from '../../src/proxy/proxy-protocol.js';
import type { TcpProxyOptions } from '../../src/proxy/tcp-proxy.js';
import {
  type Backend,
  type ProxyRig,
  backend,
  blackhole,
  closedByPeer,
  collect,
  echo,
  proxyRig,
  s,
  waitEvent,
  waitFor,
} from '../proxy/helpers.js';

describe('TcpProxy data path (loopback)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });
  async function rig(b: Backend, options = {}): Promise<ProxyRig> {
    cleanup.push(() => b.close());
    const r = await proxyRig([s('s1', b.port)], options);
    cleanup.push(() => r.shutdown());
    return r;
  }

  it('dials on accept, so a server that speaks first is heard before the client sends anything', async () => {
    const b = await backend((socket) => socket.write('220 smtp.example ESMTP ready\r\n'));
    const r = await rig(b);
    const client = r.connect();
    const got = collect(client);
    await got.until(30);
    assert.equal(got.text(), '220 smtp.example ESMTP ready\r\n');
    assert.equal(r.proxy.stats().current, 1);
  });

  it('forwards a client FIN and still delivers what the server sends after it', async () => {
    const b = await backend((socket) => {
      const request = collect(socket);
      socket.on('end', () => {
        // The client is done sending; answer in pieces after its FIN.
        socket.write(`got ${request.text()};`);
        setImmediate(() => socket.end('and more after your FIN'));
      });
    });
    const r = await rig(b);
    const client = r.connect(true);
    const got = collect(client);
    client.end('question');
    await got.ended();
    assert.equal(got.text(), 'got question;and more after your FIN');
    const record = await r.closed();
    assert.equal(record.termination, '--');
    assert.equal(record.bytesIn, 8);
    assert.equal(record.bytesOut, got.length);
  });

  it('forwards a server FIN and still delivers what the client sends after it', async () => {
    let fromClient: ReturnType<typeof collect> | undefined;
    const b = await backend((socket) => {
      fromClient = collect(socket);
      socket.end('bye, but keep talking');
    });
    const r = await rig(b);
    const client = r.connect(true);
    const got = collect(client);
    await got.ended();
    assert.equal(got.text(), 'bye, but keep talking');
    client.write('late words ');
    client.end('and the end');
    await waitFor(() => fromClient !== undefined, 'the backend connection');
    await fromClient!.ended();
    assert.equal(fromClient!.text(), 'late words and the end');
    const record = await r.closed();
    assert.equal(record.termination, '--');
    assert.equal(record.bytesIn, 22);
  });

  it('closes the client promptly when the server resets mid-stream (SD), leaking nothing', async () => {
    // Reset once the proxy has relayed everything and waits for more: an RST behind unread data may read as EOF.
    const b = await backend((socket) => {
      socket.write('first part');
      socket.once('data', () => socket.resetAndDestroy());
    });
    const r = await rig(b);
    const client = r.connect();
    client.on('error', () => {}); // a FIN or, with bytes still unread on the proxy's side, a RST
    await collect(client).until(10);
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.write('ack');
    await closed;
    const record = await r.closed();
    assert.equal(record.termination, 'SD');
    assert.equal(record.server, 's1');
    assert.equal((record.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
    assert.equal(r.proxy.connections, 0);
    assert.equal(r.pool.get('s1').currentConnections, 0);
    assert.equal(r.proxy.stats().servers['s1']!.serverAborts, 1);
  });

  it('closes the server side promptly when the client resets mid-stream (CD)', async () => {
    let upstream: ReturnType<typeof collect> | undefined;
    const b = await backend((socket) => {
      upstream = collect(socket);
      socket.write('hello');
    });
    const r = await rig(b);
    const client = r.connect();
    await collect(client).until(5);
    client.resetAndDestroy();
    await waitFor(() => upstream !== undefined, 'the backend connection');
    await upstream!.ended();
    const record = await r.closed();
    assert.equal(record.termination, 'CD');
  });

  it('sends a byte-exact PROXY v1 line before the first client byte', async () => {
    let seen: ReturnType<typeof collect> | undefined;
    const b = await backend((socket) => (seen = collect(socket)));
    const r = await rig(b, { sendProxy: 'v1' });
    const client = r.connect();
    await waitEvent(client, 'connect');
    client.write('DATA');
    const expected = `PROXY TCP4 127.0.0.1 127.0.0.1 ${client.localPort} ${r.port}\r\nDATA`;
    await waitFor(() => seen !== undefined, 'the backend connection');
    await seen!.until(expected.length);
    assert.equal(seen!.text(), expected);
  });

  it('sends a byte-exact PROXY v2 header before the first client byte', async () => {
    let seen: ReturnType<typeof collect> | undefined;
    const b = await backend((socket) => (seen = collect(socket)));
    const r = await rig(b, { sendProxy: 'v2' });
    const client = r.connect();
    await waitEvent(client, 'connect');
    client.write('DATA');
    const header = Buffer.alloc(28);
    PROXY_V2_SIGNATURE.copy(header);
    header.set([0x21, 0x11, 0x00, 0x0c, 127, 0, 0, 1, 127, 0, 0, 1], 12);
    header.writeUInt16BE(client.localPort!, 24);
    header.writeUInt16BE(r.port, 26);
    const expected = Buffer.concat([header, Buffer.from('DATA')]);
    await waitFor(() => seen !== undefined, 'the backend connection');
    await seen!.until(expected.length);
    assert.deepEqual(seen!.buffer(), expected);
  });

  async function clockRig(b: Backend, options: TcpProxyOptions): Promise<{ r: ProxyRig; clock: ManualClock }> {
    const clock = new ManualClock();
    cleanup.push(() => b.close());
    const r = await proxyRig([s('s1', b.port)], { ...options, clock }, {}, clock);
    cleanup.push(() => r.shutdown());
    return { r, clock };
  }

  it('ends an idle connection with cD after timeoutClientMs, never before', async () => {
    const { r, clock } = await clockRig(await backend(() => {}), { timeoutClientMs: 1000 });
    const opened = waitEvent(r.proxy, 'connection:open');
    const client = r.connect();
    await opened;
    // The sweep runs every timeout/8 = 125 ms and saw the connection open at its first pass.
    clock.advance(1124);
    assert.equal(r.proxy.connections, 1);
    assert.equal(r.records.length, 0);
    clock.advance(1);
    await closedByPeer(client);
    assert.equal((await r.closed()).termination, 'cD');
  });

  it('ends a connection with sD after timeoutServerMs of silence on the server side', async () => {
    const { r, clock } = await clockRig(await backend(() => {}), { timeoutServerMs: 1000 });
    const opened = waitEvent(r.proxy, 'connection:open');
    const client = r.connect();
    await opened;
    clock.advance(500);
    client.write('x');
    await waitFor(() => r.proxy.stats().bytesIn === 1, 'the byte to be relayed');
    clock.advance(1000);
    assert.equal(r.proxy.connections, 1, 'the byte restarted the inactivity count');
    clock.advance(250);
    await closedByPeer(client);
    assert.equal((await r.closed()).termination, 'sD');
  });

  it('uses timeoutTunnelMs instead of the client and server timeouts once connected', async () => {
    const { r, clock } = await clockRig(await backend(echo), { timeoutClientMs: 20, timeoutServerMs: 20, timeoutTunnelMs: 60_000 });
    const opened = waitEvent(r.proxy, 'connection:open');
    const client = r.connect();
    await opened;
    clock.advance(59_000);
    assert.equal(r.proxy.connections, 1);
    clock.advance(16_000);
    await closedByPeer(client);
    assert.equal((await r.closed()).termination, 'cD');
  });

  it('applies timeoutClientMs while connecting (cC)', async () => {
    const hole = await blackhole();
    cleanup.push(() => hole.close());
    const clock = new ManualClock();
    const r = await proxyRig([s('s1', hole.port)], { clock, timeoutClientMs: 800, timeoutConnectMs: 10_000 }, {}, clock);
    cleanup.push(() => r.shutdown());
    const client = r.connect();
    await waitFor(() => r.pool.get('s1').currentConnections === 1, 'the attempt to start');
    clock.advance(1000);
    await closedByPeer(client);
    assert.equal((await r.closed()).termination, 'cC');
  });

  it('close() stops accepting and resolves only when live transfers have completed', async () => {
    const size = 4 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) payload.writeUInt32BE(i, i);
    const digest = createHash('sha256').update(payload).digest('hex');
    const half = size / 2;
    const b = await backend((socket) => {
      // Send the first half at once and the second half when the client asks: the test closes the proxy
      // in between, so the transfers are live while it drains.
      const pump = (from: number, to: number, then: () => void): void => {
        let offset = from;
        const more = (): void => {
          while (offset < to) {
            const ok = socket.write(payload.subarray(offset, offset + 65536));
            offset += 65536;
            if (!ok) return void socket.once('drain', more);
          }
          then();
        };
        more();
      };
      socket.once('data', () => pump(0, half, () => socket.once('data', () => pump(half, size, () => socket.end()))));
    });
    const r = await rig(b);
    const clients = [r.connect(true), r.connect(true), r.connect(true)];
    const received = clients.map((c) => collect(c));
    for (const c of clients) c.write('go');
    await Promise.all(received.map((g) => g.until(half)));
    let closed = false;
    const closing = r.proxy.close().then(() => (closed = true));
    assert.equal(r.proxy.close(), r.proxy.close(), 'close() returns the same promise');
    const late = net.connect(r.port, '127.0.0.1');
    const [err] = await waitEvent<[NodeJS.ErrnoException]>(late, 'error');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(closed, false);
    assert.equal(r.proxy.connections, 3);
    for (const c of clients) c.end('more');
    await closing;
    // Resolved once the proxy relayed everything and closed; the clients may still be reading their buffers.
    assert.deepEqual(
      r.records.map((x) => x.bytesOut),
      [size, size, size],
    );
    await Promise.all(received.map((g) => g.ended()));
    for (const g of received) {
      assert.equal(g.length, size);
      assert.equal(createHash('sha256').update(g.buffer()).digest('hex'), digest);
    }
    assert.deepEqual(
      r.records.map((x) => x.termination),
      ['--', '--', '--'],
    );
  });

  it('close({ deadlineMs }) destroys what is still open at the deadline (KD)', async () => {
    const clock = new ManualClock();
    const b = await backend(() => {});
    cleanup.push(() => b.close());
    const r = await proxyRig([s('s1', b.port)], { clock }, {}, clock);
    cleanup.push(() => r.shutdown());
    const opened = waitEvent(r.proxy, 'connection:open');
    const client = r.connect();
    await opened;
    const closing = r.proxy.close({ deadlineMs: 5000 });
    clock.advance(4999);
    assert.equal(client.destroyed, false);
    assert.equal(r.proxy.connections, 1);
    clock.advance(1);
    await closing;
    await closedByPeer(client);
    assert.equal((await r.closed()).termination, 'KD');
  });
});
