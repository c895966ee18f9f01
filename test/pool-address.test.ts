/**
 * `pool.setAddress()` (HAProxy `set server <b>/<s> addr <ip> [port <p>]`, issue 12 item 14): a server state
 * change made through the pool, which keeps counters, health and leases; connections already made stay where
 * they are.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { LbError } from '../src/errors.js';
import { Pool } from '../src/pool.js';
import { backend, collect, proxyRig, s } from './proxy/helpers.js';

describe('pool.setAddress', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it('changes host and port of a server, keeps its counters and state, and emits server:address', () => {
    const pool = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: 8001, check: true, weight: 3 }] });
    pool.setHealth('s1', 'down');
    const events: string[] = [];
    pool.on('server:address', (server, previous) => events.push(`${server.name} ${previous.host}:${previous.port} -> ${server.host}:${server.port}`));
    pool.setAddress('s1', '127.0.0.2');
    pool.setAddress('s1', '127.0.0.2', 8002);
    pool.setAddress('s1', '127.0.0.2', 8002);
    const s1 = pool.get('s1');
    assert.deepEqual(events, ['s1 127.0.0.1:8001 -> 127.0.0.2:8001', 's1 127.0.0.2:8001 -> 127.0.0.2:8002']);
    assert.deepEqual([s1.host, s1.port, s1.status, s1.weight, s1.downTransitions], ['127.0.0.2', 8002, 'DOWN', 3, 1]);
    assert.deepEqual([s1.snapshot().host, s1.snapshot().port, String(s1)], ['127.0.0.2', 8002, 's1@127.0.0.2:8002']);
  });

  it('refuses a bad address naming the field and the value, and an unknown server', () => {
    const pool = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: 8001 }] });
    const code = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (err) {
        return LbError.is(err) ? `${err.code} ${err.message}` : String(err);
      }
      return undefined;
    };
    assert.match(code(() => pool.setAddress('s1', '')) ?? '', /^ERR_LB_INVALID_ARG host of s1 must be a non-empty string, got ""/);
    assert.match(code(() => pool.setAddress('s1', '127.0.0.1', 70000)) ?? '', /^ERR_LB_INVALID_ARG port of s1 must be an integer from 1 to 65535, got 70000/);
    assert.match(code(() => pool.setAddress('nope', '127.0.0.1')) ?? '', /^ERR_LB_UNKNOWN_SERVER/);
    assert.deepEqual([pool.get('s1').host, pool.get('s1').port], ['127.0.0.1', 8001]);
  });

  it('sends new connections to the new address while a connection made before stays on the old one', async () => {
    const answer = (text: string) => (socket: net.Socket) => {
      socket.write(text);
      socket.on('end', () => socket.end());
    };
    const a = await backend(answer('A'));
    const b = await backend(answer('B'));
    cleanup.push(() => a.close(), () => b.close());
    const r = await proxyRig([s('s1', a.port)]);
    cleanup.push(() => r.shutdown());
    const first = r.connect();
    const gotFirst = collect(first);
    await gotFirst.until(1);
    r.pool.setAddress('s1', '127.0.0.1', b.port);
    const second = r.connect();
    const gotSecond = collect(second);
    await gotSecond.until(1);
    assert.deepEqual([gotFirst.text(), gotSecond.text()], ['A', 'B']);
    const s1 = r.pool.get('s1');
    assert.deepEqual([s1.currentConnections, s1.totalConnections, a.sockets.size, b.sockets.size], [2, 2, 1, 1]);
    first.end();
    second.end();
    await r.closed(2);
    assert.equal(s1.currentConnections, 0);
  });
});
