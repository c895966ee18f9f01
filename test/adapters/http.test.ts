import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { BalancedAgent, balancedCreateConnection } from '../../src/adapters/http.js';
import { LbError } from '../../src/errors.js';
import { RecordingSink, refusedPort } from '../proxy/helpers.js';
import { type HttpBackend, allLeasesReleased, balancerOver, currentConnections, httpBackends, httpGet, keepLoopAlive, tally, until } from './support.js';

describe('switchyard-lb/adapters/http: BalancedAgent against real HTTP servers', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function backends(): Promise<HttpBackend[]> {
    const list = await httpBackends(['a', 'b', 'c']);
    cleanup.push(() => Promise.all(list.map((b) => b.kill())).then(() => {}));
    return list;
  }

  async function getMany(agent: http.Agent, n: number): Promise<string[]> {
    const bodies: string[] = [];
    for (let i = 0; i < n; i++) bodies.push(await httpGet(agent, `/${i}`));
    return bodies;
  }

  it('balances each new connection over three servers and releases every lease when the connections close', async () => {
    const list = await backends();
    const balancer = balancerOver('web', list);
    const agent = new BalancedAgent(balancer, { keepAlive: false });
    cleanup.push(() => agent.destroy());
    assert.deepEqual(tally(await getMany(agent, 6)), { a: 2, b: 2, c: 2 });
    assert.deepEqual(list.map((b) => b.accepted), [2, 2, 2]);
    await allLeasesReleased(balancer);
    assert.deepEqual(currentConnections(balancer), { a: 0, b: 0, c: 0 });
  });

  it('keeps a kept-alive connection and its lease across requests until the agent closes it', async () => {
    const list = await backends();
    const balancer = balancerOver('web', list);
    const agent = new BalancedAgent(balancer, { keepAlive: true, maxSockets: 1 });
    const bodies = await getMany(agent, 4);
    assert.equal(new Set(bodies).size, 1, 'one connection, one server');
    const server = bodies[0]!;
    assert.equal(list.find((b) => b.name === server)!.accepted, 1);
    assert.equal(balancer.activeLeases, 1, 'the idle kept-alive connection still holds its lease');
    assert.equal(balancer.pool.get(server).currentConnections, 1);
    agent.destroy();
    await allLeasesReleased(balancer);
    assert.deepEqual(currentConnections(balancer), { a: 0, b: 0, c: 0 });
  });

  it('moves the traffic to the two survivors when one server is killed, with no failed request', async () => {
    const list = await backends();
    const sink = new RecordingSink();
    const balancer = balancerOver('web', list);
    const agent = new BalancedAgent(balancer, { keepAlive: false, connect: { retries: 2, redispatch: true, observer: sink } });
    cleanup.push(() => agent.destroy());
    assert.deepEqual(tally(await getMany(agent, 3)), { a: 1, b: 1, c: 1 });
    await list[1]!.kill();
    const after = await getMany(agent, 12); // rejects on the first failed request
    assert.equal(after.length, 12);
    assert.equal(after.includes('b'), false);
    assert.ok(after.includes('a') && after.includes('c'), `both survivors serve: ${after.join('')}`);
    assert.ok(sink.kinds.includes('b:refused'), 'the dead server was tried, refused, and the request redispatched');
    await allLeasesReleased(balancer);
    assert.deepEqual(currentConnections(balancer), { a: 0, b: 0, c: 0 });
  });

  it('drops kept-alive connections to a killed server and keeps serving from the others', async () => {
    const list = await backends();
    const balancer = balancerOver('web', list);
    const agent = new BalancedAgent(balancer, { keepAlive: true, maxSockets: 3, connect: { retries: 2, redispatch: true } });
    cleanup.push(() => agent.destroy());
    // Three requests at once open three connections, one per server.
    assert.deepEqual(tally(await Promise.all([httpGet(agent), httpGet(agent), httpGet(agent)])), { a: 1, b: 1, c: 1 });
    assert.equal(balancer.activeLeases, 3);
    await list[2]!.kill();
    // The agent notices the closed idle connection (its lease goes back) before the next request is sent.
    await until(balancer, ['lease:release'], () => balancer.pool.get('c').currentConnections === 0, "c's lease to be released");
    const after = await getMany(agent, 6);
    assert.equal(after.includes('c'), false);
    agent.destroy();
    await allLeasesReleased(balancer);
  });

  it('fails a request with the LbError when every attempt is refused, holding no lease', async () => {
    const balancer = balancerOver('web', [{ name: 'dead', port: await refusedPort() }]);
    const agent = new BalancedAgent(balancer, { connect: { retries: 1, timeoutConnectMs: 50 } });
    cleanup.push(() => agent.destroy());
    // keepLoopAlive: the turn-around timer alone does not keep the process alive (see bugs.test.ts).
    await assert.rejects(keepLoopAlive(httpGet(agent)), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_CONNECT_FAILED');
    assert.equal(balancer.activeLeases, 0);
  });

  it('balancedCreateConnection() serves http.request({ createConnection }) without an agent, one connection per request', async () => {
    const list = await backends();
    const balancer = balancerOver('web', list);
    const createConnection = balancedCreateConnection(balancer);
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      bodies.push(
        await new Promise<string>((resolve, reject) => {
          const req = http.request({ host: 'api.internal', path: '/', createConnection }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve(body));
          });
          req.on('error', reject);
          req.end();
        }),
      );
    }
    assert.deepEqual(tally(bodies), { a: 1, b: 1, c: 1 });
    await allLeasesReleased(balancer);
  });

  it('validates the connect options when the agent is made', () => {
    const balancer = balancerOver('web', [{ name: 'a', port: 1 }]);
    assert.throws(() => new BalancedAgent(balancer, { connect: { retries: -1 } }), /retries must be an integer from 0 to 1000, got -1/);
    assert.throws(() => balancedCreateConnection(balancer, { timeoutConectMs: 5 } as never), /timeoutConectMs is not a known option/);
  });
});
