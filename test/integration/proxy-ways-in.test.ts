import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { type ConnectionRecord, TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { backend, closeServer, closedByPeer, collect, echo, listen, s, waitEvent, waitFor } from '../proxy/helpers.js';

describe('TcpProxy ways in: attach() and handle() (loopback)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function setup(options = {}): Promise<{ proxy: TcpProxy; records: ConnectionRecord[] }> {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const proxy = new TcpProxy(new Balancer(new Pool('fe', { servers: [s('s1', b.port)] })), options);
    cleanup.push(() => proxy.destroy());
    const records: ConnectionRecord[] = [];
    proxy.on('connection:close', (r) => records.push(r));
    return { proxy, records };
  }

  it("attach() proxies an application's server, leaves its other listeners alone, and close() detaches without closing it", async () => {
    const { proxy, records } = await setup();
    const appServer = net.createServer({ pauseOnConnect: true });
    let seenByApp = 0;
    appServer.on('connection', () => seenByApp++);
    const port = await listen(appServer);
    cleanup.push(() => closeServer(appServer));
    proxy.attach(appServer).attach(appServer);
    const client = net.connect(port, '127.0.0.1');
    const got = collect(client);
    client.write('through the app server');
    await got.until(22);
    assert.equal(got.text(), 'through the app server');
    assert.equal(seenByApp, 1);
    client.end();
    await waitFor(() => records.length === 1, 'the connection record');
    await proxy.close();
    assert.equal(appServer.listening, true, 'the application still owns its server');
    assert.equal(appServer.listenerCount('connection'), 1);
  });

  it('handle() proxies one socket from anywhere', async () => {
    const { proxy } = await setup();
    const elsewhere = net.createServer((socket) => proxy.handle(socket));
    const port = await listen(elsewhere);
    cleanup.push(() => closeServer(elsewhere));
    const client = net.connect(port, '127.0.0.1');
    const got = collect(client);
    client.write('handed over');
    await got.until(11);
    assert.equal(got.text(), 'handed over');
    assert.equal(proxy.connections, 1);
    client.destroy();
  });

  it('ignores a socket that is already destroyed', async () => {
    const { proxy } = await setup();
    const socket = new net.Socket();
    socket.destroy();
    proxy.handle(socket);
    assert.equal(proxy.connections, 0);
    assert.equal(proxy.stats().total, 0);
  });

  it('closes the connection with PC when the key option throws, instead of crashing the host', async () => {
    const { proxy, records } = await setup({
      key: () => {
        throw new Error('no tenant');
      },
    });
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    const rejected = waitEvent<[LbError]>(proxy, 'connection:reject');
    const client = net.connect(port, '127.0.0.1');
    const [error] = await rejected;
    assert.ok(LbError.is(error) && error.code === 'ERR_LB_INVALID_ARG');
    assert.equal((error.cause as Error).message, 'no tenant');
    await closedByPeer(client);
    await waitFor(() => records.length === 1, 'the connection record');
    assert.equal(records[0]!.termination, 'PC');
  });

  it('closes the connection with PC when the key option returns something that is not a key, naming the value', async () => {
    const { proxy, records } = await setup({ key: () => Number.NaN });
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    const rejected = waitEvent<[LbError]>(proxy, 'connection:reject');
    const client = net.connect(port, '127.0.0.1');
    const [error] = await rejected;
    assert.ok(LbError.is(error) && error.code === 'ERR_LB_INVALID_ARG');
    assert.match(error.message, /^key option must return a string, a finite number or undefined, got NaN$/);
    await closedByPeer(client);
    await waitFor(() => records.length === 1, 'the connection record');
    assert.equal(records[0]!.termination, 'PC');
    assert.equal(records[0]!.server, undefined);
  });
});
