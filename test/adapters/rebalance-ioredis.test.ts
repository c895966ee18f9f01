import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { balancedRedisConnector } from '../../src/adapters/ioredis.js';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { Pool } from '../../src/pool.js';
import { Rebalancer } from '../../src/resilience/rebalancer.js';
import { REDIS_SERVER, REDIS_SKIP, startRedisServers } from '../helpers/servers/redis.js';
import { type ServerGroup, type ServerProcess, removeDir, startProcess, tempDir } from '../helpers/servers/process.js';
import { waitFor } from '../proxy/helpers.js';
import { askedToGo, currentConnections, tally } from './support.js';

/**
 * Issue 16 item 6, measured: six ioredis clients over two real redis-server instances; one is killed (its clients
 * move to the other) and restarted on the same port. Without a rebalancer the restarted server serves nothing;
 * with one, on the manual clock, half the clients are asked to go, close when idle, reconnect, and land on it.
 */
describe('Rebalancer with ioredis clients: a restarted redis-server gets its clients back', { skip: REDIS_SKIP }, () => {
  let servers: ServerGroup<ServerProcess>;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  /** Starts redis-server again on the port `victim` had (a restart after a crash). */
  async function restart(victim: ServerProcess): Promise<ServerProcess> {
    const dir = tempDir(`${victim.name}-again`);
    const args = ['--port', String(victim.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
    const proc = await startProcess({ name: victim.name, file: REDIS_SERVER!, args, port: victim.port, cwd: dir });
    cleanup.push(async () => {
      await proc.stop();
      removeDir(dir);
    });
    return proc;
  }

  async function whoAnswers(redis: Redis): Promise<string> {
    const [, port] = (await redis.config('GET', 'port')) as [string, string];
    return servers.members.find((m) => m.port === Number(port))!.name;
  }

  async function scenario(withRebalancer: boolean) {
    const group = await startRedisServers(2);
    servers = group;
    cleanup.push(() => group.stop());
    const clock = new ManualClock();
    const pool = new Pool('redis', { clock, servers: servers.members.map((m) => ({ name: m.name, host: '127.0.0.1', port: m.port })) });
    const balancer = new Balancer(pool, { strategy: 'leastconn' });
    // Created before the clients connect: it learns the leases as the balancer grants them.
    const rebalancer = withRebalancer ? new Rebalancer(balancer, { intervalMs: 1000, sustainMs: 5000, spreadMs: 3000 }) : undefined;
    cleanup.push(() => rebalancer?.close());
    const Connector = balancedRedisConnector(balancer, { retries: 2, redispatch: true, timeoutConnectMs: Infinity, recycleQuietMs: 500 });
    const clients = Array.from({ length: 6 }, () => {
      const redis = new Redis({ Connector, lazyConnect: true, retryStrategy: () => 20, maxRetriesPerRequest: null });
      redis.on('error', () => {});
      cleanup.push(() => redis.disconnect());
      return redis;
    });
    await Promise.all(clients.map((c) => c.connect()));
    assert.deepEqual(currentConnections(balancer), { redis1: 3, redis2: 3 });

    const victim = servers.members[1]!;
    await victim.kill();
    // Each client notices on its next command, reconnects (redis2 refuses, the dial goes to redis1) and answers.
    assert.deepEqual(await Promise.all(clients.map((c) => c.set('k', 'v'))), Array(6).fill('OK'));
    await waitFor(() => balancer.activeLeases === 6, 'six connections again');
    assert.deepEqual(currentConnections(balancer), { redis1: 6, redis2: 0 });
    await restart(victim);

    // 30 s of manual time in 500 ms steps; between steps, the clients asked to go at least recycleQuietMs ago
    // have closed and reconnected.
    const asked = rebalancer === undefined ? [] : askedToGo(rebalancer, clock);
    for (let s = 0; s < 60; s++) {
      clock.advance(500);
      await waitFor(
        () => asked.every(([l, at]) => l.released || clock.now() - at < 500) && balancer.activeLeases === 6 && clients.every((c) => c.status === 'ready'),
        'the clients asked to go to reconnect',
      );
    }
    const answers = [];
    for (const c of clients) answers.push(await whoAnswers(c));
    return { balancer, rebalancer, answers: tally(answers) };
  }

  it('without a rebalancer, the restarted server serves no client for the rest of the run', async () => {
    const { balancer, answers } = await scenario(false);
    assert.deepEqual(answers, { redis1: 6 });
    assert.deepEqual(currentConnections(balancer), { redis1: 6, redis2: 0 });
  });

  it('with a rebalancer, three idle clients are closed one by one, reconnect, and are served by the restarted server', async () => {
    const { balancer, rebalancer, answers } = await scenario(true);
    assert.deepEqual(answers, { redis1: 3, redis2: 3 });
    assert.deepEqual(currentConnections(balancer), { redis1: 3, redis2: 3 });
    const stats = rebalancer!.stats();
    assert.equal(stats.recycled, 3);
    assert.equal(stats.rounds, 1);
  });
});
