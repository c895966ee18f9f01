import assert from 'node:assert/strict';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { DeferredBalancedSocket } from '../../src/adapters/deferred-socket.js';
import { balancedRedisConnector } from '../../src/adapters/ioredis.js';
import { mysql2Stream } from '../../src/adapters/mysql2.js';
import { type PgProbeClient, pgRolePools, pgRoleProbe, pgStream } from '../../src/adapters/pg.js';
import { balancedConnector } from '../../src/adapters/undici.js';
import { systemClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import type { ProbeContext } from '../../src/health/probe.js';
import { backend, collect, echo } from '../proxy/helpers.js';
import { allLeasesReleased, balancerOver, waitEvent } from './support.js';

/** The adapters' behaviour that needs no database: options, the role probe's verdicts, the deferred dial. */

/** A pg-like client answering one query with `rows`, recording what happened to it. */
class FakePgClient implements PgProbeClient {
  readonly calls: string[] = [];
  constructor(
    readonly rows: Record<string, unknown>[],
    readonly hangOnQuery = false,
  ) {}
  async connect(): Promise<void> {
    this.calls.push('connect');
  }
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }> {
    this.calls.push(sql);
    return this.hangOnQuery ? new Promise(() => {}) : Promise.resolve({ rows: this.rows });
  }
  async end(): Promise<void> {
    this.calls.push('end');
  }
}

function probeContext(): ProbeContext & { connectedCalls: number } {
  return {
    host: '127.0.0.1',
    port: 5432,
    clock: systemClock,
    connectedCalls: 0,
    connected() {
      this.connectedCalls++;
    },
    setTimeoutResult() {},
  };
}

describe('pgRoleProbe (with a stand-in pg client)', () => {
  const server = balancerOver('pg', [{ name: 'pg1', port: 5432 }]).pool.get('pg1');

  it('passes with L7OK and the role it found, and always ends its client', async () => {
    const client = new FakePgClient([{ in_recovery: false }]);
    const result = await pgRoleProbe({ role: 'primary', client: () => client })(server, new AbortController().signal, probeContext());
    assert.deepEqual(result, { status: 'L7OK', info: 'primary' });
    assert.deepEqual(client.calls, ['connect', 'SELECT pg_is_in_recovery() AS in_recovery', 'end']);
  });

  it('fails with L7RSP when the server has the other role, or answers no boolean', async () => {
    const replica = pgRoleProbe({ role: 'primary', client: () => new FakePgClient([{ in_recovery: true }]) });
    assert.deepEqual(await replica(server, new AbortController().signal, probeContext()), {
      status: 'L7RSP',
      info: 'is a replica (pg_is_in_recovery() = true), expected the primary',
    });
    const odd = pgRoleProbe({ client: () => new FakePgClient([]) });
    assert.equal((await odd(server, new AbortController().signal, probeContext()))?.status, 'L7RSP');
    const any = pgRoleProbe({ client: () => new FakePgClient([{ in_recovery: true }]) });
    assert.deepEqual(await any(server, new AbortController().signal, probeContext()), { status: 'L7OK', info: 'replica' });
  });

  it('gives the client the address to check and ends it when the check is aborted', async () => {
    const client = new FakePgClient([], true);
    let target: unknown;
    const controller = new AbortController();
    const context = probeContext();
    const running = pgRoleProbe({ client: (t) => ((target = t), client) })(server, controller.signal, context);
    await waitFor(() => client.calls.length === 2);
    assert.deepEqual(target, { host: '127.0.0.1', port: 5432, server });
    assert.equal(context.connectedCalls, 1);
    controller.abort();
    assert.deepEqual(client.calls.slice(-1), ['end']);
    void running;
  });

  it('validates its options', () => {
    assert.throws(() => pgRoleProbe({ client: () => new FakePgClient([]), role: 'leader' as never }), /role must be one of 'primary', 'replica', 'any', got "leader"/);
    assert.throws(() => pgRoleProbe({ client: 'pg' as never }), /client must be a function/);
    assert.throws(() => pgRoleProbe({ client: () => new FakePgClient([]), rol: 'primary' } as never), /pgRoleProbe options.rol is not a known option/);
  });
});

describe('pgRolePools (options)', () => {
  const client = (): FakePgClient => new FakePgClient([{ in_recovery: false }]);

  it('makes two pools over the same servers, every server down until a check confirms its role', async () => {
    const roles = pgRolePools({ servers: [{ name: 'a', host: '127.0.0.1', port: 1 }, { name: 'b', host: '127.0.0.1', port: 2 }], client, checker: { autoStart: false } });
    assert.equal(roles.writes.name, 'pg-writes');
    assert.equal(roles.reads.name, 'pg-reads');
    assert.deepEqual(roles.writes.servers.map((s) => `${s.name}:${s.status}`), ['a:DOWN 1/2', 'b:DOWN 1/2']);
    assert.deepEqual(roles.reads.servers.map((s) => `${s.name}:${s.backup}`), ['a:false', 'b:false', 'a~primary:true', 'b~primary:true']);
    await roles.close();
    const noFallback = pgRolePools({ name: 'db', servers: [{ name: 'a', host: '127.0.0.1', port: 1 }], client, readsFallBackToPrimary: false, checker: { autoStart: false } });
    assert.deepEqual(noFallback.reads.servers.map((s) => s.name), ['a']);
    assert.equal(noFallback.reads.name, 'db-reads');
    await noFallback.close();
  });

  it('rejects backup servers, unknown options and a missing client', () => {
    const servers = [{ name: 'a', host: '127.0.0.1', port: 1 }];
    assert.throws(() => pgRolePools({ servers: [{ ...servers[0]!, backup: true }], client }), /servers\[\]\.backup must not be set/);
    assert.throws(() => pgRolePools({ servers, client, fallback: true } as never), /pgRolePools options.fallback is not a known option/);
    assert.throws(() => pgRolePools({ servers } as never), /client must be a function/);
  });
});

describe('the deferred socket behind pgStream', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it('holds no lease until connect(), then dials the picked server and emits connect', async () => {
    const b = await backend(echo);
    cleanup.push(() => b.close());
    const balancer = balancerOver('pg', [{ name: 'pg1', port: b.port }]);
    const socket = pgStream(balancer)();
    assert.ok(socket instanceof DeferredBalancedSocket);
    assert.equal(socket.connecting, true);
    socket.write('early ');
    assert.equal(balancer.activeLeases, 0);
    socket.connect(1, '192.0.2.1');
    await waitEvent(socket, 'connect');
    assert.equal(socket.server?.name, 'pg1');
    assert.equal(balancer.activeLeases, 1);
    const got = collect(socket as unknown as net.Socket);
    socket.write('bird');
    await got.until(10);
    assert.equal(got.text(), 'early bird');
    socket.destroy();
    await allLeasesReleased(balancer);
  });

  it('destroyed before connect(), it never dials', async () => {
    const balancer = balancerOver('pg', [{ name: 'pg1', port: 1 }]);
    let leases = 0;
    balancer.on('lease:acquire', () => leases++);
    const socket = pgStream(balancer)();
    socket.destroy();
    await waitEvent(socket, 'close');
    socket.connect();
    assert.equal(leases, 0);
  });

  it('fails with ERR_LB_NO_SERVER on connect() when nothing is usable', async () => {
    const balancer = balancerOver('pg', [{ name: 'off', port: 1 }], {}, { disabled: true });
    const socket = pgStream(balancer)();
    const failed = waitEvent<[unknown]>(socket, 'error');
    socket.connect();
    const [err] = await failed;
    assert.ok(LbError.is(err) && err.code === 'ERR_LB_NO_SERVER');
  });
});

describe('adapter factories validate the connect options when made', () => {
  const balancer = balancerOver('x', [{ name: 'a', port: 1 }]);
  for (const [name, make] of [
    ['pgStream', (o: object) => pgStream(balancer, o)],
    ['mysql2Stream', (o: object) => mysql2Stream(balancer, o)],
    ['balancedRedisConnector', (o: object) => balancedRedisConnector(balancer, o)],
    ['balancedConnector', (o: object) => balancedConnector(balancer, o)],
  ] as const) {
    it(`${name} rejects a misspelt option`, () => {
      assert.throws(() => make({ retires: 2 }), /retires is not a known option/);
    });
  }

  it('the ioredis connector refuses TLS rather than connecting in clear', () => {
    const Connector = balancedRedisConnector(balancer);
    assert.throws(() => new Connector({ tls: {} }), /tls is not supported/);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition(), 'condition never held');
}
