import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { mysql2Stream } from '../../src/adapters/mysql2.js';
import type { Balancer } from '../../src/balancer.js';
import { LbError } from '../../src/errors.js';
import { RecordingSink, refusedPort } from '../proxy/helpers.js';
import { MARIADB_SKIP, mariadbConfig, startMariaDbServers } from '../helpers/servers/mariadb.js';
import type { ServerGroup, ServerProcess } from '../helpers/servers/process.js';
import { allLeasesReleased, balancerOver, currentConnections, keepLoopAlive, tally, until } from './support.js';

describe('switchyard-lb/adapters/mysql2: a synchronous stream factory against three real MariaDB servers', { skip: MARIADB_SKIP }, () => {
  let servers: ServerGroup<ServerProcess>;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  before(async () => {
    servers = await startMariaDbServers(3);
  });
  after(async () => {
    await servers?.stop();
  });
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  /** mysql2's own host and port point nowhere useful: only the stream decides where connections go. */
  const credentials = { ...mariadbConfig({ host: '192.0.2.1', port: 1 }) };

  function dbPool(balancer: Balancer, options: Parameters<typeof mysql2Stream>[1] = {}, connectionLimit = 3): mysql.Pool {
    const pool = mysql.createPool({ ...credentials, connectionLimit, stream: mysql2Stream(balancer, options) });
    cleanup.push(() => pool.end().catch(() => {}));
    return pool;
  }

  async function whoAnswers(db: mysql.Pool | mysql.PoolConnection | mysql.Connection): Promise<string> {
    const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT @@port AS port');
    return servers.members.find((m) => m.port === Number(rows[0]!['port']))!.name;
  }

  it('balances pooled connections over the servers and releases each lease when the pool ends', async () => {
    const balancer = balancerOver('mariadb', servers.members);
    const db = dbPool(balancer);
    const connections = await Promise.all([db.getConnection(), db.getConnection(), db.getConnection()]);
    const names = await Promise.all(connections.map(whoAnswers));
    assert.deepEqual(tally(names), { maria1: 1, maria2: 1, maria3: 1 });
    for (const c of connections) c.release();
    assert.deepEqual(currentConnections(balancer), { maria1: 1, maria2: 1, maria3: 1 }, 'idle pooled connections keep their leases');
    await db.end();
    await allLeasesReleased(balancer);
    assert.deepEqual(currentConnections(balancer), { maria1: 0, maria2: 0, maria3: 0 });
  });

  it('serves a single mysql2 connection (the factory returns its socket synchronously)', async () => {
    const balancer = balancerOver('mariadb', servers.members);
    const connection = await mysql.createConnection({ ...credentials, stream: mysql2Stream(balancer) });
    assert.match(await whoAnswers(connection), /^maria[123]$/);
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT 6 * 7 AS answer');
    assert.equal(rows[0]!['answer'], 42);
    await connection.end();
    await allLeasesReleased(balancer);
  });

  it('reports an unreachable pool as the LbError of the connection', async () => {
    const balancer = balancerOver('mariadb', [{ name: 'dead', port: await refusedPort() }]);
    await assert.rejects(
      keepLoopAlive(mysql.createConnection({ ...credentials, stream: mysql2Stream(balancer, { retries: 1, timeoutConnectMs: 50 }) })),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_CONNECT_FAILED',
    );
    assert.equal(balancer.activeLeases, 0);
  });

  it('moves new connections to the survivors when a server is killed; the pool drops the dead connections', async () => {
    const sink = new RecordingSink();
    const balancer = balancerOver('mariadb', servers.members);
    const db = dbPool(balancer, { retries: 2, redispatch: true, observer: sink }, 6);
    const warm = await Promise.all([db.getConnection(), db.getConnection(), db.getConnection()]);
    for (const c of warm) c.release();
    const victim = servers.members[1]!;
    await victim.kill();
    // The documented window: a connection open on the killed server is lost; the pool sees it close.
    await until(balancer, ['lease:release'], () => balancer.pool.get(victim.name).currentConnections === 0, 'the dead connection to close');
    const names: string[] = [];
    for (let i = 0; i < 12; i++) names.push(await whoAnswers(db));
    assert.equal(names.includes(victim.name), false);
    // Connections made after the kill were refused by the dead server and moved on.
    const fresh = await Promise.all([db.getConnection(), db.getConnection(), db.getConnection(), db.getConnection()]);
    assert.equal(new Set(await Promise.all(fresh.map(whoAnswers))).has(victim.name), false);
    for (const c of fresh) c.release();
    assert.ok(sink.kinds.includes(`${victim.name}:refused`), sink.kinds.join(' '));
    await db.end();
    await allLeasesReleased(balancer);
  });
});
