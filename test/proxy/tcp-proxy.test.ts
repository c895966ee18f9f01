import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { TCP_PROXY_DEFAULTS, TcpProxy } from '../../src/proxy/tcp-proxy.js';

function balancer(): Balancer {
  return new Balancer(new Pool('fe', { servers: [{ name: 's1', host: '127.0.0.1', port: 1 }] }));
}

describe('TcpProxy options', () => {
  it('follows HAProxy defaults except for a 5 s connect timeout', () => {
    const proxy = new TcpProxy(balancer());
    assert.equal(proxy.retries, 3);
    assert.equal(proxy.timeoutConnectMs, 5000);
    assert.equal(TCP_PROXY_DEFAULTS.redispatch, false);
    assert.equal(TCP_PROXY_DEFAULTS.timeoutClientMs, Infinity);
    assert.equal(TCP_PROXY_DEFAULTS.timeoutServerMs, Infinity);
  });

  it('rejects bad options with messages naming the option and the value', () => {
    const b = balancer();
    assert.throws(() => new TcpProxy(b, { retries: 1.5 }), /retries must be an integer from 0 to 1000, got 1\.5/);
    assert.throws(() => new TcpProxy(b, { timeoutConnectMs: 0 }), /timeoutConnectMs must be a positive number of milliseconds or Infinity, got 0/);
    assert.throws(() => new TcpProxy(b, { timeoutClientMs: -5 }), /timeoutClientMs must be a positive number/);
    assert.throws(() => new TcpProxy(b, { sendProxy: 'v3' as never }), /sendProxy must be 'v1', 'v2' or false, got "v3"/);
    assert.throws(() => new TcpProxy(b, { redispatch: 'yes' as never }), /redispatch must be a boolean or an integer/);
    assert.throws(() => new TcpProxy(b, { onMarkedDown: 'kill' as never }), /onMarkedDown must be one of 'none', 'shutdown-sessions', got "kill"/);
    assert.throws(() => new TcpProxy(b, { observer: {} as never }), /observer must have a reportOutcome/);
    assert.throws(() => new TcpProxy(b, { timeoutConect: 1 } as never), /proxy options\.timeoutConect is not a known option/);
    assert.throws(() => new TcpProxy({} as never), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG');
  });

  it('keeps no reference to the caller\'s options object', () => {
    const options = { retries: 1 };
    const proxy = new TcpProxy(balancer(), options);
    options.retries = 9;
    assert.equal(proxy.retries, 1);
  });

  it('refuses to listen once closed, and destroys sockets handed to it after close', async () => {
    const proxy = new TcpProxy(balancer());
    await proxy.close();
    await assert.rejects(proxy.listen(), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_CLOSED');
    const socket = new net.Socket();
    proxy.handle(socket);
    assert.equal(socket.destroyed, true);
    assert.equal(proxy.closing, true);
  });

  it('rejects listen() on a busy port with ERR_LB_LISTEN naming the address, Node\'s error as the cause', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const proxy = new TcpProxy(balancer());
    try {
      await assert.rejects(proxy.listen({ host: '127.0.0.1', port }), (err: unknown) => {
        assert.ok(LbError.is(err), `expected an LbError, got ${String(err)}`);
        assert.equal(err.code, 'ERR_LB_LISTEN');
        assert.equal(err.message, `cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`);
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
        assert.deepEqual(err.details, { host: '127.0.0.1', port, code: 'EADDRINUSE' });
        return true;
      });
      assert.equal(proxy.address(), undefined, 'no listener is kept');
    } finally {
      await proxy.close();
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('close() and destroy() with no connections resolve at once, and dispose closes', async () => {
    const proxy = new TcpProxy(balancer());
    await proxy.listen({ host: '127.0.0.1' });
    assert.ok(proxy.address()!.port > 0);
    await proxy[Symbol.asyncDispose]();
    assert.equal(proxy.close(), proxy.close());
    proxy.destroy();
  });
});
