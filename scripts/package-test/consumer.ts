/**
 * A program written against the installed package, type-checked by `npm run test:package` (strict,
 * `skipLibCheck: false`, `node16` and `bundler` resolution). It is never run. Each `@ts-expect-error` line
 * assigns a public result to a wrong type: if that result were `any` (a type lost in the build, as
 * `pgStream()`'s was), the assignment would compile, the directive would be unused, and tsc would fail.
 * Keep it in step with the entries of `package.json` `exports`.
 */
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { Pool as UndiciPool } from 'undici';
import {
  ActiveChecker, Balancer, LbError, type LbErrorCode, type Lease, ManualClock, PassiveObserver, Pool, type Server, TcpProxy,
  createStrategy, tcpConnectProbe,
} from 'switchyard-lb';
import { type HaproxyConfig, type HaproxyInstance, buildFromHaproxyConfig, loadHaproxyConfigFile, parseHaproxyConfig } from 'switchyard-lb/haproxy';
import { type ShowStatRecord, showStatRecords, toPrometheus, toShowStat } from 'switchyard-lb/metrics';
import { type Discovery, DnsSource, followServers } from 'switchyard-lb/discovery';
import { type StatsHandler, createStatsHandler } from 'switchyard-lb/stats';
import { BalancedAgent, balancedCreateConnection } from 'switchyard-lb/adapters/http';
import { balancedConnector } from 'switchyard-lb/adapters/undici';
import { type DeferredBalancedSocket, type PgRolePools, pgRolePools, pgRoleProbe, pgStream } from 'switchyard-lb/adapters/pg';
import { mysql2Stream } from 'switchyard-lb/adapters/mysql2';
import { balancedRedisConnector } from 'switchyard-lb/adapters/ioredis';
import { type FaultBackend, faultBackend } from 'switchyard-lb/testing';

export async function root(): Promise<void> {
  const clock = new ManualClock();
  const pool = new Pool('db', { servers: [{ name: 'r1', host: '127.0.0.1', port: 5432, check: true }], clock });
  const checker = new ActiveChecker(pool, { interMs: 2000, probe: tcpConnectProbe(), clock });
  const observer = new PassiveObserver(pool, { errorLimit: 3 });
  const balancer = new Balancer(pool, { strategy: 'leastconn', clock });
  const lease: Lease = await balancer.acquire({ clientAddress: '127.0.0.1' });
  const server: Server = lease.server;
  // @ts-expect-error a lease is not a number
  const leaseAsNumber: number = await balancer.acquire();
  // @ts-expect-error pool.find() is a Server or undefined
  const found: number = pool.find('r1');
  const socket: net.Socket = await balancer.connect({ timeoutConnectMs: 1000, retries: 2, observer });
  const proxy = new TcpProxy(balancer, { timeoutConnectMs: 1000 });
  // @ts-expect-error stats() is an object
  const proxyStats: number = proxy.stats();
  pool.on('server:down', (s) => s.name.toUpperCase());
  try {
    createStrategy('roundrobin');
  } catch (err) {
    if (LbError.is(err)) {
      const code: LbErrorCode = err.code;
      // @ts-expect-error an error code is a string
      const codeAsNumber: number = err.code;
      void [code, codeAsNumber];
    }
  }
  await checker.close();
  void [server, leaseAsNumber, found, socket, proxyStats];
}

export async function haproxy(): Promise<void> {
  const config: HaproxyConfig = parseHaproxyConfig('listen web\n  bind 127.0.0.1:8080\n  server s1 127.0.0.1:8081\n');
  // @ts-expect-error a configuration is not a string
  const configAsString: string = parseHaproxyConfig('');
  const loaded: HaproxyConfig = await loadHaproxyConfigFile('haproxy.cfg');
  const instance: HaproxyInstance = buildFromHaproxyConfig(config);
  // @ts-expect-error an instance is not a number
  const instanceAsNumber: number = buildFromHaproxyConfig(loaded);
  await instance.start();
  instance.backend('web').pool.on('server:up', (s) => s.name);
  await instance.close();
  void [configAsString, instanceAsNumber];
}

export function metrics(pool: Pool, balancer: Balancer): void {
  const text: string = toPrometheus([pool, { pool: balancer }]);
  // @ts-expect-error the exposition text is a string
  const textAsNumber: number = toPrometheus(pool);
  const rows: ShowStatRecord[] = showStatRecords(pool);
  // @ts-expect-error records are objects
  const rowAsString: string = showStatRecords(pool)[0];
  void [text, textAsNumber, rows, rowAsString, toShowStat(balancer)];
}

export async function discovery(pool: Pool): Promise<void> {
  const following: Discovery = followServers(pool, new DnsSource({ name: '_pg._tcp.db.internal', type: 'SRV' }));
  // @ts-expect-error followServers() returns a Discovery
  const followingAsNumber: number = followServers(pool, async function* () {
    yield [{ host: '127.0.0.1', port: 1 }];
  });
  await following.close();
  void followingAsNumber;
}

export function stats(pool: Pool, instance: HaproxyInstance): http.Server {
  const handler: StatsHandler = createStatsHandler({ source: [pool], uri: '/stats', refreshMs: 5000 });
  // @ts-expect-error the handler is a function
  const handlerAsString: string = createStatsHandler({ source: instance });
  void handlerAsString;
  return http.createServer((req, res) => handler(req, res));
}

export async function adapters(balancer: Balancer): Promise<void> {
  const agent = new BalancedAgent(balancer, { keepAlive: true, connect: { retries: 1 } });
  const createConnection = balancedCreateConnection(balancer, { timeoutConnectMs: 500 });
  // @ts-expect-error a connection factory is not a number
  const createConnectionAsNumber: number = balancedCreateConnection(balancer);

  const api = new UndiciPool('http://api.internal', { connections: 4, connect: balancedConnector(balancer, { retries: 1 }) });
  // @ts-expect-error undici's connector is a function
  const connectorAsNumber: number = balancedConnector(balancer);

  const stream: DeferredBalancedSocket = pgStream(balancer)();
  // @ts-expect-error pgStream(b)() is a socket
  const streamAsNumber: number = pgStream(balancer)();
  const db = new pg.Pool({ max: 2, stream: pgStream(balancer, { retries: 1 }) });
  const probe = pgRoleProbe({ client: ({ host, port }) => new pg.Client({ host, port }), role: 'primary' });
  const roles: PgRolePools = pgRolePools({ servers: [{ name: 'pg1', host: '127.0.0.1', port: 5432 }], client: ({ host, port }) => new pg.Client({ host, port }) });
  // @ts-expect-error the role pools are an object
  const rolesAsNumber: number = pgRolePools({ servers: [], client: ({ host, port }) => new pg.Client({ host, port }) });

  const my = mysql.createPool({ connectionLimit: 2, stream: mysql2Stream(balancer) });
  // @ts-expect-error mysql2Stream(b)() is a socket
  const mysqlStreamAsNumber: number = mysql2Stream(balancer)();

  const redis = new Redis({ Connector: balancedRedisConnector(balancer, { retries: 1 }), lazyConnect: true });
  // @ts-expect-error the connector is a class
  const connectorClassAsNumber: number = balancedRedisConnector(balancer);

  await Promise.all([db.end(), my.end(), api.close(), roles.close()]);
  redis.disconnect();
  agent.destroy();
  void [createConnection, createConnectionAsNumber, connectorAsNumber, stream, streamAsNumber, probe, rolesAsNumber, mysqlStreamAsNumber, connectorClassAsNumber];
}

export async function testing(): Promise<void> {
  const backend: FaultBackend = await faultBackend({ behaviour: 'refuse' });
  // @ts-expect-error a fault backend is not a number
  const backendAsNumber: number = await faultBackend();
  await backend.close();
  void backendAsNumber;
}
