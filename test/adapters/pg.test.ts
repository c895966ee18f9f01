import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { type PgRolePools, pgRolePools, pgStream } from '../../src/adapters/pg.js';
import { Balancer } from '../../src/balancer.js';
import type { Pool } from '../../src/pool.js';
import { RecordingSink } from '../proxy/helpers.js';
import { PG_SKIP, type PgInstance, enableSsl, pgConfig, startPostgresCluster } from '../helpers/servers/postgres.js';
import type { ServerGroup } from '../helpers/servers/process.js';
import { allLeasesReleased, balancerOver, currentConnections, selfSignedCertificate, tally, until } from './support.js';

/**
 * A real primary (pg1) with two real streaming replicas (pg2, pg3, made by pg_basebackup -R): the replicas'
 * pg_is_in_recovery() is true because they are in recovery, not because a test says so.
 */
describe('switchyard-lb/adapters/pg: pgStream and role-checked pools against a real primary and two streaming replicas', { skip: PG_SKIP }, () => {
  let cluster: ServerGroup<PgInstance>;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  before(async () => {
    cluster = await startPostgresCluster(2);
  });
  after(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  /** pg's own host and port point nowhere useful: only the stream decides where connections go. */
  function dbPool(balancer: Balancer, options: Parameters<typeof pgStream>[1] = {}, max = 3): pg.Pool {
    const pool = new pg.Pool({ ...pgConfig({ host: '192.0.2.1', port: 1 }), max, stream: pgStream(balancer, options) });
    pool.on('error', () => {}); // an idle client whose server died; the pool drops it
    cleanup.push(() => pool.end().catch(() => {}));
    return pool;
  }

  async function serverOf(db: pg.Pool | pg.PoolClient): Promise<{ name: string; inRecovery: boolean }> {
    const { rows } = await db.query<{ port: number; in_recovery: boolean }>('SELECT inet_server_port() AS port, pg_is_in_recovery() AS in_recovery');
    const name = cluster.members.find((m) => m.port === rows[0]!.port)!.name;
    return { name, inRecovery: rows[0]!.in_recovery };
  }

  it('balances pooled pg connections over the instances and releases each lease when the pool ends', async () => {
    const balancer = balancerOver('pg', cluster.members);
    const db = dbPool(balancer);
    const clients = await Promise.all([db.connect(), db.connect(), db.connect()]);
    const seen = await Promise.all(clients.map(serverOf));
    assert.deepEqual(tally(seen.map((s) => s.name)), { pg1: 1, pg2: 1, pg3: 1 });
    assert.deepEqual(seen.map((s) => `${s.name}:${s.inRecovery}`).sort(), ['pg1:false', 'pg2:true', 'pg3:true']);
    for (const c of clients) c.release();
    assert.deepEqual(currentConnections(balancer), { pg1: 1, pg2: 1, pg3: 1 }, 'idle pooled clients keep their leases');
    await db.end();
    await allLeasesReleased(balancer);
    assert.deepEqual(currentConnections(balancer), { pg1: 0, pg2: 0, pg3: 0 });
  });

  it('dials only when pg connects: a client made and never connected holds no lease', async () => {
    const balancer = balancerOver('pg', cluster.members);
    const client = new pg.Client({ ...pgConfig({ host: '192.0.2.1', port: 1 }), stream: pgStream(balancer) });
    assert.equal(balancer.activeLeases, 0);
    await client.connect();
    assert.equal(balancer.activeLeases, 1);
    assert.equal((await client.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n, 1);
    await client.end();
    await allLeasesReleased(balancer);
  });

  const tls = selfSignedCertificate('db.internal');
  it(
    "negotiates pg's SSL over the balanced socket, checking the certificate against pg's host name",
    { skip: tls === undefined ? 'openssl not installed: no test certificate' : false },
    async () => {
      const primary = cluster.members.find((m) => m.name === 'pg1')!;
      await enableSsl(primary, tls!, AbortSignal.timeout(10_000));
      const balancer = balancerOver('pg', [primary]);
      // host is only the name the certificate must carry: the balancer decides where to connect.
      const client = new pg.Client({ ...pgConfig({ host: 'db.internal', port: 1 }), ssl: { ca: tls!.cert }, stream: pgStream(balancer) });
      await client.connect();
      const { rows } = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      assert.equal(rows[0]!.ssl, true);
      await client.end();
      const wrongName = new pg.Client({ ...pgConfig({ host: 'other.internal', port: 1 }), ssl: { ca: tls!.cert }, stream: pgStream(balancer) });
      wrongName.on('error', () => {});
      // The certificate is refused. pg reports it as "Connection terminated unexpectedly": the balanced socket's
      // close reaches pg before the TLS socket's error does.
      await assert.rejects(wrongName.connect(), /ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match|Connection terminated unexpectedly/);
      await allLeasesReleased(balancer);
    },
  );

  describe('pgRolePools: "writes" and "reads" from one server list, told apart by SELECT pg_is_in_recovery()', () => {
    let pools: PgRolePools;
    let writes: pg.Pool;
    let reads: pg.Pool;
    let readsBalancer: Balancer;
    const readsSink = new RecordingSink();

    before(async () => {
      pools = pgRolePools({
        servers: cluster.members.map((m) => ({ name: m.name, host: m.host, port: m.port })),
        client: ({ host, port }) => new pg.Client(pgConfig({ host, port })),
        // A check bounded only by its 150 ms interval (HAProxy's rule) can time out on a busy machine and take a
        // healthy replica down; the tests are about roles and failover, so each check gets a generous timeout.
        checker: { interMs: 150, timeoutConnectMs: 2000, timeoutCheckMs: 2000 },
      });
      readsBalancer = new Balancer(pools.reads, { strategy: 'leastconn' });
      writes = new pg.Pool({ ...pgConfig({ host: '192.0.2.1', port: 1 }), max: 2, stream: pgStream(new Balancer(pools.writes)) });
      reads = new pg.Pool({
        ...pgConfig({ host: '192.0.2.1', port: 1 }),
        max: 4,
        stream: pgStream(readsBalancer, { retries: 2, redispatch: true, observer: readsSink }),
      });
      writes.on('error', () => {});
      reads.on('error', () => {});
      await usableAre(pools.writes, ['pg1']);
      await usableAre(pools.reads, ['pg2', 'pg3']);
    });
    after(async () => {
      await Promise.allSettled([writes?.end(), reads?.end()]);
      await pools?.close();
    });

    it('puts the primary in "writes" and the replicas in "reads", each checked by the role it really has', () => {
      assert.deepEqual(usable(pools.writes), ['pg1']);
      assert.deepEqual(usable(pools.reads), ['pg2', 'pg3']);
      const pg2AsWriter = pools.writes.get('pg2').lastCheck;
      assert.equal(pg2AsWriter?.status, 'L7RSP');
      assert.match(pg2AsWriter?.info ?? '', /is a replica \(pg_is_in_recovery\(\) = true\), expected the primary/);
      assert.equal(pools.reads.get('pg1~primary').status, 'UP', 'the primary waits as the backup of reads');
    });

    it('sends writes to the primary and spreads reads over the replicas', async () => {
      await writes.query('CREATE TABLE IF NOT EXISTS t (id int)');
      await writes.query('INSERT INTO t VALUES (1)');
      assert.deepEqual(await serverOf(writes), { name: 'pg1', inRecovery: false });
      const clients = await Promise.all([reads.connect(), reads.connect(), reads.connect(), reads.connect()]);
      const seen = await Promise.all(clients.map(serverOf));
      for (const c of clients) c.release();
      assert.deepEqual(tally(seen.map((s) => s.name)), { pg2: 2, pg3: 2 });
      assert.ok(seen.every((s) => s.inRecovery));
      await assert.rejects(reads.query('CREATE TABLE written_to_a_replica (id int)'), /cannot execute CREATE TABLE in a read-only transaction/);
    });

    it('keeps reading from the surviving replica when one is killed, and the check takes the dead one out', async () => {
      const victim = cluster.members.find((m) => m.name === 'pg3')!;
      const down = until(pools.reads, ['server:down'], () => !pools.reads.get('pg3').usable, 'the checker to mark pg3 down');
      await victim.kill();
      // The documented window: pooled connections to pg3 are lost; pg's pool drops them when they close.
      await until(readsBalancer, ['lease:release'], () => pools.reads.get('pg3').currentConnections === 0, "pg3's connections to close");
      const clients = await Promise.all([reads.connect(), reads.connect(), reads.connect(), reads.connect()]);
      const seen = await Promise.all(clients.map(serverOf));
      for (const c of clients) c.release(true);
      assert.deepEqual(tally(seen.map((s) => s.name)), { pg2: 4 });
      await down;
      assert.deepEqual(usable(pools.reads), ['pg2']);
    });

    it('falls back to the primary for reads when no replica is left', async () => {
      const down = until(pools.reads, ['server:down'], () => pools.reads.activeUsable.length === 0, 'every replica to be down');
      await cluster.members.find((m) => m.name === 'pg2')!.kill();
      await down;
      await until(readsBalancer, ['lease:release'], () => pools.reads.get('pg2').currentConnections === 0, "pg2's connections to close");
      assert.deepEqual(await serverOf(reads), { name: 'pg1', inRecovery: false });
      assert.equal(pools.reads.get('pg1~primary').currentConnections, 1);
      assert.deepEqual(usable(pools.writes), ['pg1']);
    });
  });
});

/** Names of the usable servers of a pool, active ones first. */
function usable(pool: Pool): string[] {
  return [...pool.activeUsable, ...pool.backupUsable].filter((s) => !s.backup).map((s) => s.name).sort();
}

/** Resolves once every server of `pool` has been checked and exactly `names` are its usable active servers. */
function usableAre(pool: Pool, names: readonly string[]): Promise<void> {
  const want = [...names].sort().join(',');
  const checked = (): boolean => pool.servers.every((s) => s.lastCheck !== undefined && s.lastCheck.status !== 'INI');
  return until(pool, ['server:up', 'server:down', 'check:pass', 'check:fail'], () => checked() && usable(pool).join(',') === want, `${pool.name} to be ${want}`);
}
