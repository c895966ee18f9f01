import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { pgStream } from '../../src/adapters/pg.js';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { Pool } from '../../src/pool.js';
import { Rebalancer } from '../../src/resilience/rebalancer.js';
import { PG_SKIP, type PgInstance, pgConfig, startPostgresCluster } from '../helpers/servers/postgres.js';
import type { ServerGroup } from '../helpers/servers/process.js';
import { waitFor } from '../proxy/helpers.js';
import { askedToGo, currentConnections, tally } from './support.js';

/**
 * A pg.Pool of 4 connections over a real primary and a streaming replica (both answer reads). The replica is out
 * for maintenance while the pool fills up, then back: the pool keeps its 4 connections on the primary until the
 * rebalancer asks two to go; pgStream ends each when idle, pg.Pool drops it, and the next busy moment opens new
 * connections, which the balancer places on the replica.
 */
describe('Rebalancer with a pg.Pool through pgStream: a server back from maintenance gets connections again', { skip: PG_SKIP }, () => {
  let cluster: ServerGroup<PgInstance>;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  before(async () => {
    cluster = await startPostgresCluster(1);
  });
  after(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function serverOf(client: pg.PoolClient): Promise<string> {
    const { rows } = await client.query<{ port: number }>('SELECT inet_server_port() AS port');
    return cluster.members.find((m) => m.port === rows[0]!.port)!.name;
  }

  /** Checks out all 4 connections at once (pg.Pool opens the missing ones), asks each where it is, returns them. */
  async function busyMoment(db: pg.Pool): Promise<Record<string, number>> {
    const clients = await Promise.all([db.connect(), db.connect(), db.connect(), db.connect()]);
    try {
      return tally(await Promise.all(clients.map(serverOf)));
    } finally {
      for (const c of clients) c.release();
    }
  }

  it('recycles two idle pooled connections, and the pool reopens them on the server that came back', async () => {
    const clock = new ManualClock();
    const pool = new Pool('pg', { clock, servers: cluster.members.map((m) => ({ name: m.name, host: '127.0.0.1', port: m.port })) });
    const balancer = new Balancer(pool, { strategy: 'leastconn' });
    const rebalancer = new Rebalancer(balancer, { intervalMs: 1000, sustainMs: 5000, spreadMs: 2000 });
    cleanup.push(() => rebalancer.close());
    const db = new pg.Pool({
      ...pgConfig({ host: '192.0.2.1', port: 1 }),
      max: 4,
      idleTimeoutMillis: 0,
      stream: pgStream(balancer, { timeoutConnectMs: Infinity, recycleQuietMs: 500 }),
    });
    const dropped: string[] = [];
    db.on('error', (err) => dropped.push(err.message)); // pg.Pool may report an idle client whose connection ended
    cleanup.push(() => db.end().catch(() => {}));

    pool.setAdminState('pg2', 'maint');
    assert.deepEqual(await busyMoment(db), { pg1: 4 });
    pool.setAdminState('pg2', 'ready');
    clock.advance(4000);
    assert.deepEqual(await busyMoment(db), { pg1: 4 }, 'the pool keeps its connections: pg2 serves nothing');

    const asked = askedToGo(rebalancer, clock);
    for (let s = 0; s < 20; s++) {
      clock.advance(500);
      // A lease asked to go at least recycleQuietMs ago has had its quiet period: its connection must close.
      await waitFor(() => asked.every(([l, at]) => l.released || clock.now() - at < 500) && balancer.activeLeases === db.totalCount, 'the idle connections asked to go to close');
    }
    assert.deepEqual(asked.map(([l]) => l.server.name), ['pg1', 'pg1']);
    assert.equal(db.totalCount, 2, `pg.Pool dropped the two closed connections (errors: ${dropped.join('; ') || 'none'})`);
    assert.deepEqual(await busyMoment(db), { pg1: 2, pg2: 2 });
    assert.deepEqual(currentConnections(balancer), { pg1: 2, pg2: 2 });
  });
});
