import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { mysql2Stream } from '../../src/adapters/mysql2.js';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { Pool } from '../../src/pool.js';
import { Rebalancer } from '../../src/resilience/rebalancer.js';
import { MARIADB_SKIP, mariadbConfig, startMariaDbServers } from '../helpers/servers/mariadb.js';
import type { ServerGroup, ServerProcess } from '../helpers/servers/process.js';
import { waitFor } from '../proxy/helpers.js';
import { askedToGo, currentConnections, tally } from './support.js';

/**
 * A mysql2 pool of 4 connections over two real MariaDB servers; maria2 is out for maintenance while the pool fills
 * up, then back. The rebalancer asks two idle connections on maria1 to go; mysql2Stream ends them, mysql2's pool
 * drops them and opens new ones at the next busy moment, on maria2.
 */
describe('Rebalancer with a mysql2 pool through mysql2Stream: a server back from maintenance gets connections again', { skip: MARIADB_SKIP }, () => {
  let servers: ServerGroup<ServerProcess>;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  before(async () => {
    servers = await startMariaDbServers(2);
  });
  after(async () => {
    await servers?.stop();
  });
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function busyMoment(db: mysql.Pool): Promise<Record<string, number>> {
    const conns = await Promise.all([db.getConnection(), db.getConnection(), db.getConnection(), db.getConnection()]);
    try {
      const names = await Promise.all(conns.map(async (c) => {
        const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@port AS port');
        return servers.members.find((m) => m.port === Number(rows[0]!['port']))!.name;
      }));
      return tally(names);
    } finally {
      for (const c of conns) c.release();
    }
  }

  it('recycles two idle pooled connections, and the pool reopens them on the server that came back', async () => {
    const clock = new ManualClock();
    const pool = new Pool('maria', { clock, servers: servers.members.map((m) => ({ name: m.name, host: '127.0.0.1', port: m.port })) });
    const balancer = new Balancer(pool, { strategy: 'leastconn' });
    const rebalancer = new Rebalancer(balancer, { intervalMs: 1000, sustainMs: 5000, spreadMs: 2000 });
    cleanup.push(() => rebalancer.close());
    const db = mysql.createPool({
      ...mariadbConfig({ host: '192.0.2.1', port: 1 }),
      connectionLimit: 4,
      stream: mysql2Stream(balancer, { timeoutConnectMs: Infinity, recycleQuietMs: 500 }),
    });
    cleanup.push(() => db.end().catch(() => {}));

    pool.setAdminState('maria2', 'maint');
    assert.deepEqual(await busyMoment(db), { maria1: 4 });
    pool.setAdminState('maria2', 'ready');
    clock.advance(4000);
    assert.deepEqual(await busyMoment(db), { maria1: 4 }, 'the pool keeps its connections: maria2 serves nothing');

    const asked = askedToGo(rebalancer, clock);
    for (let s = 0; s < 20; s++) {
      clock.advance(500);
      await waitFor(() => asked.every(([l, at]) => l.released || clock.now() - at < 500), 'the idle connections asked to go to close');
    }
    assert.deepEqual(asked.map(([l]) => l.server.name), ['maria1', 'maria1']);
    assert.deepEqual(await busyMoment(db), { maria1: 2, maria2: 2 });
    assert.deepEqual(currentConnections(balancer), { maria1: 2, maria2: 2 });
  });
});
