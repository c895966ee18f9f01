import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { balancedRedisConnector } from '../../src/adapters/ioredis.js';
import type { Balancer } from '../../src/balancer.js';
import { RecordingSink } from '../proxy/helpers.js';
import { REDIS_SKIP, startRedisServers } from '../helpers/servers/redis.js';
import type { ServerGroup, ServerProcess } from '../helpers/servers/process.js';
import { allLeasesReleased, balancerOver, currentConnections, tally, waitEvent } from './support.js';

describe('switchyard-lb/adapters/ioredis: a balanced Connector against three real redis-server instances', { skip: REDIS_SKIP }, () => {
  let servers: ServerGroup<ServerProcess>;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  before(async () => {
    servers = await startRedisServers(3);
  });
  after(async () => {
    await servers?.stop();
  });
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  /** The name of the instance a client is connected to, asked of the server itself. */
  async function whoAnswers(redis: Redis): Promise<string> {
    const [, port] = (await redis.config('GET', 'port')) as [string, string];
    return servers.members.find((m) => m.port === Number(port))!.name;
  }

  function client(balancer: Balancer, options: Parameters<typeof balancedRedisConnector>[1] = {}): Redis {
    const redis = new Redis({ Connector: balancedRedisConnector(balancer, options), lazyConnect: true, retryStrategy: () => 20 });
    redis.on('error', () => {}); // connection errors are retried by ioredis; the test watches the commands
    cleanup.push(() => redis.disconnect());
    return redis;
  }

  it('balances client connections over the instances and releases each lease when its client quits', async () => {
    const balancer = balancerOver('redis', servers.members);
    const clients = [client(balancer), client(balancer), client(balancer)];
    const names = [];
    for (const redis of clients) {
      await redis.connect();
      names.push(await whoAnswers(redis));
    }
    assert.deepEqual(tally(names), { redis1: 1, redis2: 1, redis3: 1 });
    assert.deepEqual(currentConnections(balancer), { redis1: 1, redis2: 1, redis3: 1 });
    await Promise.all(clients.map((redis) => redis.quit()));
    await allLeasesReleased(balancer);
    assert.deepEqual(currentConnections(balancer), { redis1: 0, redis2: 0, redis3: 0 });
  });

  it('reconnects to a survivor when its server is killed; commands sent meanwhile succeed', async () => {
    const sink = new RecordingSink();
    const balancer = balancerOver('redis', servers.members);
    const redis = client(balancer, { retries: 2, redispatch: true, observer: sink });
    await redis.connect();
    const first = await whoAnswers(redis);
    const victim = servers.members.find((m) => m.name === first)!;
    const reconnected = waitEvent(redis, 'ready', 'ioredis to reconnect');
    await victim.kill();
    // Sent at once, before ioredis has even seen the connection drop: queued, then sent after reconnecting.
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => redis.set(`key${i}`, String(i))));
    assert.deepEqual(new Set(replies), new Set(['OK']));
    await reconnected;
    const now = await whoAnswers(redis);
    assert.notEqual(now, first);
    assert.equal(await redis.get('key19'), '19', 'the writes went to the server now answering');
    assert.equal(balancer.pool.get(first).currentConnections, 0);
    assert.equal(balancer.activeLeases, 1);
    // Later reconnections try the dead server, are refused, and move on.
    for (let i = 0; i < 3; i++) {
      const ready = waitEvent(redis, 'ready', 'ioredis to reconnect');
      redis.disconnect(true);
      await ready;
      assert.notEqual(await whoAnswers(redis), first);
    }
    assert.ok(sink.kinds.includes(`${first}:refused`), sink.kinds.join(' '));
    await redis.quit();
    await allLeasesReleased(balancer);
  });

  it('disconnect() while dialing gives the lease back and ioredis stops', async () => {
    const balancer = balancerOver('redis', servers.members.filter((m) => !m.exited));
    const redis = client(balancer);
    const connecting = redis.connect();
    redis.disconnect();
    await assert.rejects(connecting, /Connection is closed/);
    await allLeasesReleased(balancer);
    assert.equal(redis.status, 'end');
  });
});
