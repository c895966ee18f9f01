import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { afterEach, describe, it } from 'node:test';
import { Pool as UndiciPool } from 'undici';
import { balancedConnector } from '../../src/adapters/undici.js';
import { CONNECT_TRACING_CHANNEL } from '../../src/diagnostics.js';
import type { ConnectContext } from '../../src/diagnostics-messages.js';
import { RecordingSink } from '../proxy/helpers.js';
import { type HttpBackend, allLeasesReleased, balancerOver, currentConnections, httpBackends, selfSignedCertificate, tally } from './support.js';

describe('switchyard-lb/adapters/undici: balancedConnector against real HTTP servers', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function backends(tls?: Parameters<typeof httpBackends>[1]): Promise<HttpBackend[]> {
    const list = await httpBackends(['a', 'b', 'c'], tls);
    cleanup.push(() => Promise.all(list.map((b) => b.kill())).then(() => {}));
    return list;
  }

  function undiciPool(origin: string, connect: ReturnType<typeof balancedConnector>, connections = 3): UndiciPool {
    const pool = new UndiciPool(origin, { connections, connect });
    cleanup.push(() => pool.destroy());
    return pool;
  }

  async function getMany(pool: UndiciPool, n: number): Promise<string[]> {
    const bodies: string[] = [];
    for (let i = 0; i < n; i++) {
      const { statusCode, body } = await pool.request({ path: `/${i}`, method: 'GET' });
      assert.equal(statusCode, 200);
      bodies.push(await body.text());
    }
    return bodies;
  }

  it('balances each new connection over three servers and releases every lease when they close', async () => {
    const list = await backends();
    for (const b of list) b.closeEachConnection = true;
    const balancer = balancerOver('api', list);
    const pool = undiciPool('http://api.internal', balancedConnector(balancer));
    assert.deepEqual(tally(await getMany(pool, 6)), { a: 2, b: 2, c: 2 });
    await pool.close();
    await allLeasesReleased(balancer);
    assert.deepEqual(currentConnections(balancer), { a: 0, b: 0, c: 0 });
  });

  it('sends many requests over one kept-alive connection, which holds its lease until the pool closes', async () => {
    const list = await backends();
    const balancer = balancerOver('api', list);
    const pool = undiciPool('http://api.internal', balancedConnector(balancer), 1);
    const bodies = await getMany(pool, 5);
    assert.equal(new Set(bodies).size, 1);
    assert.equal(list.find((b) => b.name === bodies[0])!.accepted, 1);
    assert.equal(balancer.activeLeases, 1);
    await pool.close();
    await allLeasesReleased(balancer);
  });

  it('moves the traffic to the two survivors when one server is killed, with no failed request', async () => {
    const list = await backends();
    for (const b of list) b.closeEachConnection = true;
    const sink = new RecordingSink();
    const balancer = balancerOver('api', list);
    const pool = undiciPool('http://api.internal', balancedConnector(balancer, { retries: 2, redispatch: true, observer: sink }));
    assert.deepEqual(tally(await getMany(pool, 3)), { a: 1, b: 1, c: 1 });
    await list[0]!.kill();
    const after = await getMany(pool, 12);
    assert.equal(after.includes('a'), false);
    assert.ok(after.includes('b') && after.includes('c'), after.join(''));
    assert.ok(sink.kinds.includes('a:refused'));
    await pool.close();
    await allLeasesReleased(balancer);
  });

  const tls = selfSignedCertificate('api.internal');
  it(
    "keeps undici's TLS: the certificate is checked against the origin's name while the balancer picks the address",
    { skip: tls === undefined ? 'openssl not installed: no test certificate' : false },
    async () => {
      const list = await backends(tls);
      for (const b of list) b.closeEachConnection = true;
      const balancer = balancerOver('api', list);
      const pool = undiciPool('https://api.internal', balancedConnector(balancer, { connector: { ca: tls!.cert } }));
      assert.deepEqual(tally(await getMany(pool, 3)), { a: 1, b: 1, c: 1 });
      // Same servers, another origin name: undici's own verification rejects the certificate.
      const wrong = undiciPool('https://other.internal', balancedConnector(balancer, { connector: { ca: tls!.cert } }));
      await assert.rejects(wrong.request({ path: '/', method: 'GET' }), (err: NodeJS.ErrnoException) => err.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
      await pool.close();
      await wrong.destroy();
      await allLeasesReleased(balancer);
    },
  );

  it('runs each dial in the switchyard:connect tracing channel, with the server and the attempts', async () => {
    const list = await backends();
    const balancer = balancerOver('api', list);
    const traced: string[] = [];
    const handlers = {
      asyncEnd: (ctx: ConnectContext) => traced.push(`${ctx.server?.name}/${ctx.attempts}`),
    };
    const channel = dc.tracingChannel<unknown, ConnectContext>(CONNECT_TRACING_CHANNEL);
    channel.subscribe(handlers as never);
    cleanup.push(() => channel.unsubscribe(handlers as never));
    const pool = undiciPool('http://api.internal', balancedConnector(balancer), 1);
    await getMany(pool, 2);
    assert.deepEqual(traced, ['a/1'], 'one connection, traced once');
    await pool.close();
  });

  it('validates its options when made', () => {
    const balancer = balancerOver('api', [{ name: 'a', port: 1 }]);
    assert.throws(() => balancedConnector(balancer, { redispatch: 'yes' as never }), /redispatch must be a boolean or an integer/);
  });
});
