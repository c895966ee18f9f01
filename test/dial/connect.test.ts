import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { connect, createConnection } from '../../src/dial/connect.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import type { ServerOptions } from '../../src/server.js';
import { Alternate, backend, collect, echo, listen, RecordingSink, refusedPort, s, waitEvent, waitFor } from '../proxy/helpers.js';


function balancerOver(servers: ServerOptions[], clock?: ManualClock): Balancer {
  return new Balancer(new Pool('be', clock ? { servers, clock } : { servers }), { strategy: new Alternate() });
}

function isLbError(code: string): (err: unknown) => boolean {
  return (err) => LbError.is(err) && err.code === code;
}

describe('balancer.connect() and createConnection() (loopback)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function echoBackend() {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    return b;
  }

  it('connect() resolves with a connected socket and holds the lease until it closes', async () => {
    const b = await echoBackend();
    const balancer = balancerOver([s('s1', b.port)]);
    const socket = await balancer.connect();
    assert.equal(socket.connecting, false);
    assert.equal(socket.remotePort, b.port);
    assert.equal(balancer.pool.get('s1').currentConnections, 1);
    const got = collect(socket);
    socket.write('hello');
    await got.until(5);
    socket.destroy();
    await waitEvent(socket, 'close');
    assert.equal(balancer.pool.get('s1').currentConnections, 0);
  });

  it('connect() redispatches past a refused server and reports both attempts', async () => {
    const b = await echoBackend();
    const sink = new RecordingSink();
    const balancer = balancerOver([s('dead', await refusedPort()), s('live', b.port)]);
    const socket = await connect(balancer, { redispatch: true, observer: sink });
    cleanup.push(() => void socket.destroy());
    assert.equal(socket.remotePort, b.port);
    assert.deepEqual(sink.kinds, ['dead:refused', 'live:success']);
  });

  it('connect() rejects with ERR_LB_CONNECT_FAILED after 1 + retries attempts, in turn-around steps', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const balancer = balancerOver([s('dead', await refusedPort())], clock);
    const result = connect(balancer, { retries: 1, observer: sink, timeoutConnectMs: 400 });
    await sink.waitForReports(1);
    clock.advance(399);
    assert.equal(sink.reports.length, 1);
    clock.advance(1);
    await assert.rejects(result, (err: unknown) => {
      assert.ok(LbError.is(err) && err.code === 'ERR_LB_CONNECT_FAILED');
      assert.deepEqual(
        (err.details['attempts'] as { outcome: string }[]).map((a) => a.outcome),
        ['refused', 'refused'],
      );
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
    assert.equal(balancer.pool.get('dead').currentConnections, 0);
  });

  it('connect() stops at once when its signal aborts, giving the lease back', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const balancer = balancerOver([s('dead', await refusedPort())], clock);
    const controller = new AbortController();
    const result = connect(balancer, { observer: sink, signal: controller.signal });
    await sink.waitForReports(1);
    assert.equal(clock.pending, 1, 'waiting out the turn-around');
    controller.abort(new Error('user gave up'));
    await assert.rejects(result, isLbError('ERR_LB_ABORTED'));
    assert.equal(clock.pending, 0);
    assert.equal(balancer.pool.get('dead').currentConnections, 0);
    await assert.rejects(connect(balancer, { signal: controller.signal }), isLbError('ERR_LB_ABORTED'));
  });

  it('connect() rejects with ERR_LB_NO_SERVER when nothing is usable, and validates its options', async () => {
    const balancer = balancerOver([s('off', 1, { disabled: true })]);
    await assert.rejects(connect(balancer), isLbError('ERR_LB_NO_SERVER'));
    await assert.rejects(connect(balancer, { retries: -1 }), /retries must be an integer from 0 to 1000, got -1/);
    await assert.rejects(connect(balancer, { timeoutConectMs: 5 } as never), /timeoutConectMs is not a known option/);
  });

  it('places a connection without validating it again: acquire() and tryAcquire() are not called, queued or not', async () => {
    const b = await echoBackend();
    const balancer = balancerOver([s('s1', b.port, { maxconn: 1 })]);
    const publicCalls: string[] = [];
    const acquire = balancer.acquire.bind(balancer);
    const tryAcquire = balancer.tryAcquire.bind(balancer);
    balancer.acquire = (o) => (publicCalls.push('acquire'), acquire(o));
    balancer.tryAcquire = (o) => (publicCalls.push('tryAcquire'), tryAcquire(o));
    const first = await balancer.connect({ key: 'tenant-1' });
    const queued = balancer.connect({ key: 'tenant-1' });
    await waitFor(() => balancer.queued === 1, 'the second connect() to wait in the queue');
    first.destroy();
    const second = await queued;
    second.destroy();
    await waitEvent(second, 'close');
    assert.deepEqual(publicCalls, []);
    assert.equal(balancer.stats().totalLeases, 2);
  });

  it('keeps the process alive while a caller awaits connect() through a turn-around (no other handle open)', () => {
    const script = `
      import net from 'node:net';
      import { Balancer, Pool } from './src/index.ts';
      const probe = net.createServer();
      await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = probe.address().port;
      await new Promise((resolve) => probe.close(resolve));
      const balancer = new Balancer(new Pool('p', { servers: [{ name: 'dead', host: '127.0.0.1', port }] }));
      try { await balancer.connect({ retries: 1, timeoutConnectMs: 50 }); } catch (err) { console.log(err.code); }`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.stdout.trim(), 'ERR_LB_CONNECT_FAILED');
    assert.equal(result.status, 0);
  });

  it('createConnection() returns a Duplex at once, buffers early writes, then flows', async () => {
    const b = await echoBackend();
    const balancer = balancerOver([s('s1', b.port)]);
    const socket = balancer.createConnection();
    assert.equal(socket.connecting, true);
    socket.write('written ');
    socket.write('before ');
    socket.write('connect');
    const got = collect(socket as unknown as net.Socket);
    await waitEvent(socket, 'connect');
    assert.equal(socket.connecting, false);
    assert.equal(socket.server?.name, 's1');
    await got.until(22);
    assert.equal(got.text(), 'written before connect');
    socket.end();
    await waitEvent(socket, 'close');
    assert.equal(balancer.pool.get('s1').currentConnections, 0);
  });

  it('createConnection() hears a server that speaks first and delivers everything before its FIN', async () => {
    const b = await backend((socket) => socket.end('* OK IMAP ready\r\n'));
    cleanup.push(() => b.close());
    const socket = createConnection(balancerOver([s('s1', b.port)]));
    const got = collect(socket as unknown as net.Socket);
    await got.ended();
    assert.equal(got.text(), '* OK IMAP ready\r\n');
    await waitEvent(socket, 'close');
  });

  it('createConnection() retries and redispatches behind the scenes; early writes reach the live server once', async () => {
    let received: ReturnType<typeof collect> | undefined;
    const b = await backend((socket) => (received = collect(socket)));
    cleanup.push(() => b.close());
    const sink = new RecordingSink();
    const socket = createConnection(balancerOver([s('dead', await refusedPort()), s('live', b.port)]), { redispatch: true, observer: sink });
    socket.end('INSERT 1');
    await waitFor(() => received !== undefined, 'the live server to be reached');
    await received!.ended();
    assert.equal(received!.text(), 'INSERT 1');
    assert.deepEqual(sink.kinds, ['dead:refused', 'live:success']);
    socket.destroy();
  });

  it('createConnection() is destroyed with the LbError when every attempt fails', async () => {
    const socket = createConnection(balancerOver([s('dead', await refusedPort())]), { retries: 0 });
    socket.write('lost');
    const [err] = await waitEvent<[unknown]>(socket, 'error');
    assert.ok(LbError.is(err) && err.code === 'ERR_LB_CONNECT_FAILED');
    await waitFor(() => socket.closed, 'close');
  });

  describe('with a real http.Agent', () => {
    async function twoHttpServers(): Promise<{ ports: number[] }> {
      const ports: number[] = [];
      for (const name of ['A', 'B']) {
        const server = http.createServer((req, res) => {
          let body = '';
          req.on('data', (d) => (body += d));
          req.on('end', () => res.end(`${name}:${req.method}:${body}`));
        });
        ports.push(await listen(server));
        cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined));
        cleanup.push(() => server.closeAllConnections());
      }
      return { ports };
    }

    function request(agent: http.Agent, method = 'GET', body?: string): Promise<string> {
      return new Promise((resolve, reject) => {
        const req = http.request({ host: 'service.internal', port: 80, path: '/', method, agent }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end(body);
      });
    }

    it('balances new sockets through an async createConnection(options, callback) using balancer.connect()', async () => {
      const { ports } = await twoHttpServers();
      const balancer = balancerOver([s('a', ports[0]!), s('b', ports[1]!)]);
      // http.Agent accepts a createConnection that calls back later (documented; not in @types/node 20).
      const agent = new http.Agent({ keepAlive: false });
      (agent as unknown as { createConnection: unknown }).createConnection = (
        _options: unknown,
        callback: (err: Error | null, socket?: net.Socket) => void,
      ): undefined => {
        balancer.connect().then((socket) => callback(null, socket), callback);
        return undefined;
      };
      cleanup.push(() => agent.destroy());
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await request(agent));
      assert.deepEqual(answers, ['A:GET:', 'B:GET:', 'A:GET:', 'B:GET:']);
      await waitFor(() => balancer.activeLeases === 0, 'every lease to be released');
    });

    it('works with the synchronous createConnection(): POST bodies written before connect, keep-alive reuse', async () => {
      const { ports } = await twoHttpServers();
      const balancer = balancerOver([s('a', ports[0]!), s('b', ports[1]!)]);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      (agent as unknown as { createConnection: () => unknown }).createConnection = () => balancer.createConnection();
      cleanup.push(() => agent.destroy());
      assert.equal(await request(agent, 'POST', 'payload-1'), 'A:POST:payload-1');
      assert.equal(await request(agent, 'POST', 'payload-2'), 'A:POST:payload-2', 'the kept-alive socket is reused');
      assert.equal(balancer.stats().totalLeases, 1);
      agent.destroy();
      await waitFor(() => balancer.activeLeases === 0, 'the lease to be released');
    });
  });
});
