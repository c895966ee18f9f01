import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { type ConnectionRecord, TcpProxy } from '../../src/tcp-proxy.js';
import { faultBackend } from '../../src/testing/index.js';
import {
  destroyClients, report, track, until,
} from './support.js';

const TRIES = 20;

/**
 * A backend that resets (RST) a connection mid-stream, while the proxy may have its bytes unread and the client is
 * reading slowly. A bare Node socket on Linux can see such a reset as a clean end of stream (libuv takes the
 * hang-up that comes with the RST for an EOF when its last read was partial; test/testing shows it), so this
 * checks the proxy never records such a cut as a normal end. How the client learns of it is reported: the proxy
 * destroys the client socket (docs/proxy.md), which sends a FIN when nothing is unread, so a client protocol
 * without its own framing sees a clean end of a truncated stream.
 */
describe('a backend reset mid-stream', () => {
  after(destroyClients);
  // The upstream's `end` can come from libuv's POLLHUP shortcut, not a FIN: getpeername() on the handle fails
  // with ENOTCONN then (0 after a real FIN); Session.#onUpstreamEnd checks it, records SD and closes the client.
  it('is recorded SD every time, never as a normal end', { timeout: 60_000 }, async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    await using backend = await faultBackend({
      handler: (socket) => {
        const pump = (): void => {
          while (!socket.destroyed && socket.write(chunk));
        };
        socket.on('drain', pump);
        pump();
        setTimeout(() => socket.resetAndDestroy(), 20);
      },
    });
    const pool = new Pool('reset', { servers: [{ name: 'b', ...backend.address }] });
    const balancer = new Balancer(pool);
    const proxy = new TcpProxy(balancer);
    const records: ConnectionRecord[] = [];
    proxy.on('connection:close', (r) => records.push(r));
    const { port } = await proxy.listen({ host: '127.0.0.1' });
    const seen: Record<string, number> = {};
    try {
      for (let i = 0; i < TRIES; i++) {
        const ending = await new Promise<string>((resolve) => {
          const c = track(net.connect({ port, host: '127.0.0.1' }));
          let got = 0;
          c.on('data', (d: Buffer) => (got += d.length));
          // Read slowly at first, so that the proxy has bytes of the backend unread when the RST comes.
          c.pause();
          setTimeout(() => c.resume(), 60);
          c.on('error', (e: NodeJS.ErrnoException) => resolve(`client ${e.code}`));
          c.on('end', () => resolve('client end'));
        });
        await until(() => records.length === i + 1, () => 'the record');
        const key = `${ending} / ${records[i]!.termination}`;
        seen[key] = (seen[key] ?? 0) + 1;
      }
    } finally {
      proxy.destroy();
      balancer.destroy();
    }
    report('reset-as-eof', { tries: TRIES, seen });
    assert.deepEqual(Object.keys(seen).filter((k) => !k.endsWith('/ SD')), [], JSON.stringify(seen));
    assert.equal(proxy.stats().terminations.SD, TRIES);
  });
});
