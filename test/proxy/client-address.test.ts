/**
 * When the proxy looks up a client's address (a `getpeername()` per connection, which HAProxy gets free from
 * `accept()`): at accept for a strategy that reads it (`usesClientAddress` not false: `source`, or a strategy of the
 * application that does not say) or for a `connection:close` record (made after the socket has closed); otherwise
 * only when asked, while the socket is open. Both relays, real sockets on loopback.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import type { Server } from '../../src/server.js';
import type { PickContext, Strategy } from '../../src/strategies/strategy.js';
import { type ProxyConnection, TcpProxy, type TcpProxyOptions } from '../../src/proxy/tcp-proxy.js';
import { type StrategyName, createStrategy } from '../../src/strategies/index.js';
import { backend, echo, s, waitEvent, waitFor } from './helpers.js';

/** A strategy of the application's that keeps what it was told; `usesClientAddress` as given. */
function recording(usesClientAddress: boolean | undefined): Strategy & { readonly seen: (string | undefined)[] } {
  const seen: (string | undefined)[] = [];
  return {
    name: 'recording',
    ...(usesClientAddress === undefined ? {} : { usesClientAddress }),
    seen,
    pick(candidates: readonly Server[], ctx: PickContext) {
      seen.push(ctx.clientAddress);
      return candidates[0];
    },
  };
}

/** A proxy (one echo server, `strategy`) listening on loopback, given to `body`, and everything closed after it. */
async function withProxy<T>(strategy: Strategy | 'roundrobin', options: TcpProxyOptions, body: (proxy: TcpProxy, port: number) => Promise<T>): Promise<T> {
  const b = await backend(echo);
  const balancer = new Balancer(new Pool('fe', { servers: [s('s1', b.port)] }), { strategy });
  const proxy = new TcpProxy(balancer, options);
  try {
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    return await body(proxy, port);
  } finally {
    proxy.destroy();
    await proxy.close();
    balancer.destroy();
    await b.close();
  }
}

function connect(port: number): net.Socket {
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('error', () => {});
  return client;
}

/** One connection through a proxy without a `connection:close` listener; returns its ProxyConnection after it closed. */
function oneConnection(strategy: Strategy, options: TcpProxyOptions): Promise<ProxyConnection> {
  return withProxy(strategy, options, async (proxy, port) => {
    const opened = waitEvent<[ProxyConnection]>(proxy, 'connection:open');
    const client = connect(port);
    const [c] = await opened;
    client.write('ping');
    await waitEvent(client, 'data');
    client.end();
    await waitEvent(client, 'close');
    await waitFor(() => proxy.stats().current === 0, 'the proxied connection to close');
    return c;
  });
}

describe('usesClientAddress of the built-in strategies', () => {
  it('is false for every strategy but source, which reads the address', () => {
    // Every name: the type check fails when a strategy is added and not listed here.
    const every: Record<StrategyName, true> = { roundrobin: true, 'static-rr': true, leastconn: true, first: true, source: true, random: true, swrr: true, p2c: true };
    const names = Object.keys(every) as StrategyName[];
    const reads = names.filter((name) => createStrategy(name).usesClientAddress !== false);
    assert.deepEqual(reads, ['source']);
  });
});

for (const relay of ['handles', 'sockets'] as const) {
  describe(`the client's address, relay: '${relay}'`, () => {
    const options: TcpProxyOptions = { relay, timeoutClientMs: 60_000, timeoutServerMs: 60_000 };

    it('is not looked up for a strategy that does not read it when nothing asks while the socket is open', async () => {
      const strategy = recording(false);
      const c = await oneConnection(strategy, options);
      assert.deepEqual(strategy.seen, [undefined]);
      // Asked only after the socket closed: the address was never looked up, so it is unknown.
      assert.equal(c.clientAddress, undefined);
    });

    it('is given to a strategy that does not say whether it reads it, and kept after the close', async () => {
      const strategy = recording(undefined);
      const c = await oneConnection(strategy, options);
      assert.deepEqual(strategy.seen, ['127.0.0.1']);
      assert.equal(c.clientAddress, '127.0.0.1');
      assert.equal(typeof c.clientPort, 'number');
    });

    it('is looked up when asked while the socket is open, for any strategy', () =>
      withProxy('roundrobin', options, async (proxy, port) => {
        const opened = waitEvent<[ProxyConnection]>(proxy, 'connection:open');
        const client = connect(port);
        await waitEvent(client, 'connect');
        const [c] = await opened;
        assert.equal(c.clientAddress, '127.0.0.1');
        assert.equal(c.clientPort, client.localPort);
        client.destroy();
        await waitFor(() => proxy.stats().current === 0, 'the proxied connection to close');
        // Kept once looked up.
        assert.equal(c.clientAddress, '127.0.0.1');
      }));

    it('is in every connection:close record, with roundrobin, though the socket has closed when it is made', () =>
      withProxy('roundrobin', options, async (proxy, port) => {
        const records: { clientAddress: string | undefined; clientPort: number | undefined }[] = [];
        proxy.on('connection:close', (r) => records.push(r));
        const ports: number[] = [];
        for (let i = 0; i < 3; i++) {
          const client = connect(port);
          await waitEvent(client, 'connect');
          ports.push(client.localPort!);
          // A reset before any byte: the record is made after both sockets closed.
          client.resetAndDestroy();
          await waitFor(() => records.length === i + 1, `record ${i + 1}`);
        }
        assert.deepEqual(records.map((r) => r.clientAddress), ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
        assert.deepEqual(records.map((r) => r.clientPort), ports);
      }));
  });
}
