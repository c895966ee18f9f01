import assert from 'node:assert/strict';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { ProxyConnection, ProxySocket } from '../../src/proxy/tcp-proxy.js';
import {
  Alternate, type Backend, backend, closedByPeer, collect, echo, proxyRig, s, waitEvent, waitFor,
} from './helpers.js';

/** A backend that records the first bytes of each connection (a PROXY header, or the client's first write). */
async function recorder(): Promise<Backend & { readonly seen: ReturnType<typeof collect>[] }> {
  const seen: ReturnType<typeof collect>[] = [];
  const b = await backend((socket) => seen.push(collect(socket)));
  return Object.assign(b, { seen });
}

/** Still relayed both ways: what the client writes comes back from the echo backend. */
async function stillRelayed(client: net.Socket): Promise<void> {
  const got = collect(client);
  client.write('ping');
  await got.until(4);
  assert.equal(got.text(), 'ping');
}

describe('TcpProxy per-server settings (sendProxy, onMarkedDown, onMarkedUp)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it("writes each server's own PROXY header, the proxy's for a server without one, none for sendProxy: false", async () => {
    const backends = [await recorder(), await recorder(), await recorder()];
    for (const b of backends) cleanup.push(() => b.close());
    const [b1, b2, b3] = backends as [typeof backends[0], typeof backends[0], typeof backends[0]];
    const r = await proxyRig(
      [s('s1', b1.port), s('s2', b2.port, { sendProxy: 'v2' }), s('s3', b3.port, { sendProxy: false })],
      { sendProxy: 'v1' },
      { strategy: new Alternate() },
    );
    cleanup.push(() => r.shutdown());
    for (const b of backends) {
      const client = r.connect();
      await waitEvent(client, 'connect');
      client.write('DATA');
      await waitFor(() => b.seen.length === 1, 'the backend connection');
      await b.seen[0]!.until(4);
      await waitFor(() => b.seen[0]!.text().endsWith('DATA'), 'the client bytes');
      client.destroy();
    }
    assert.match(b1.seen[0]!.text(), /^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+\r\nDATA$/);
    const v2 = b2.seen[0]!.buffer();
    assert.deepEqual([...v2.subarray(12, 14)], [0x21, 0x11], 'a v2 header: PROXY command, TCP over IPv4');
    assert.equal(v2.length, 16 + 12 + 4);
    assert.equal(b3.seen[0]!.text(), 'DATA');
  });

  it("cuts the connections of a server with onMarkedDown 'shutdown-sessions' when it goes down, not those of a server without", async () => {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const r = await proxyRig([s('s1', b.port, { onMarkedDown: 'shutdown-sessions' }), s('s2', b.port)], {}, { strategy: new Alternate() });
    cleanup.push(() => r.shutdown());
    const a = r.connect();
    const [first] = await waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
    const c = r.connect();
    const [second] = await waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
    assert.deepEqual([first.server?.name, second.server?.name], ['s1', 's2']);
    r.pool.setHealth('s1', 'down');
    await closedByPeer(a);
    assert.equal((await r.closed()).termination, 'D-');
    r.pool.setHealth('s2', 'down');
    await stillRelayed(c);
    assert.equal(r.proxy.connections, 1);
  });

  it("lets a server's onMarkedDown 'none' keep its connections under a proxy-wide 'shutdown-sessions', and follows servers added later", async () => {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const r = await proxyRig([s('s1', b.port, { onMarkedDown: 'none' })], { onMarkedDown: 'shutdown-sessions' }, { strategy: new Alternate() });
    cleanup.push(() => r.shutdown());
    const kept = r.connect();
    await waitEvent(r.proxy, 'connection:open');
    r.pool.setHealth('s1', 'down');
    await stillRelayed(kept);
    r.pool.setHealth('s1', 'up');
    r.pool.add(s('s2', b.port));
    const clients: net.Socket[] = [];
    const servers: (string | undefined)[] = [];
    for (let i = 0; i < 2; i++) {
      clients.push(r.connect());
      servers.push((await waitEvent<[ProxyConnection]>(r.proxy, 'connection:open'))[0].server?.name);
    }
    assert.deepEqual([...servers].sort(), ['s1', 's2']);
    r.pool.setHealth('s2', 'down');
    await closedByPeer(clients[servers.indexOf('s2')]!);
    assert.equal((await r.closed()).termination, 'D-');
    await stillRelayed(clients[servers.indexOf('s1')]!);
  });

  it("cuts backup connections when an active server with onMarkedUp 'shutdown-backup-sessions' comes up, not when another one does", async () => {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const r = await proxyRig([
      s('a1', b.port, { onMarkedUp: 'shutdown-backup-sessions' }),
      s('a2', b.port),
      s('b1', b.port, { backup: true }),
    ]);
    cleanup.push(() => r.shutdown());
    r.pool.setHealth('a1', 'down');
    r.pool.setHealth('a2', 'down');
    const client = r.connect();
    const [connection] = await waitEvent<[ProxyConnection]>(r.proxy, 'connection:open');
    assert.equal(connection.server?.name, 'b1');
    r.pool.setHealth('a2', 'up');
    await stillRelayed(client);
    r.pool.setHealth('a1', 'up');
    await closedByPeer(client);
    assert.equal((await r.closed()).termination, 'U-');
  });
});

describe('TcpProxy connection:close', () => {
  it('passes the finished connection with its record (the accepted socket is its client)', async () => {
    const b = await backend(echo);
    const r = await proxyRig([s('s1', b.port)]);
    try {
      let accepted: ProxySocket | undefined;
      r.proxy.on('connection:open', (c) => (accepted = c.client));
      const closed = waitEvent<[unknown, ProxyConnection]>(r.proxy, 'connection:close');
      const client = r.connect();
      await waitFor(() => accepted !== undefined, 'the connection');
      client.end();
      const [record, connection] = await closed;
      assert.equal((record as { server: string }).server, 's1');
      assert.equal(connection.client, accepted);
      assert.equal(connection.server?.name, 's1');
    } finally {
      await r.shutdown();
      await b.close();
    }
  });
});
