import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../src/clock.js';
import type { Probe, ProbeContext } from '../../src/health/probe.js';
import { runProbe } from '../../src/health/probe-run.js';
import { ldapCheckProbe } from '../../src/health/probes/ldap-check.js';
import { mysqlCheckProbe, mysqlLoginPacket } from '../../src/health/probes/mysql-check.js';
import { pgsqlCheckProbe, pgsqlStartupMessage } from '../../src/health/probes/pgsql-check.js';
import { redisCheckProbe } from '../../src/health/probes/redis-check.js';
import { smtpCheckProbe } from '../../src/health/probes/smtp-check.js';
import { sslHelloProbe, sslv3ClientHello } from '../../src/health/probes/ssl-hello.js';
import type { CheckResult } from '../../src/state/check-result.js';
import { Pool } from '../../src/pool.js';
import { type Responder, ldapResponder, scriptedResponder, smtpResponder, tlsResponder } from '../helpers/responders.js';
import { MARIADB_SKIP, startMariaDbServers } from '../helpers/servers/mariadb.js';
import { PG_SKIP, startPostgresCluster } from '../helpers/servers/postgres.js';
import { REDIS_SKIP, startRedisServers } from '../helpers/servers/redis.js';
import { flush } from '../health/support.js';

const server = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: 1, check: true }] }).get('s1');

/** Runs a probe once against 127.0.0.1:port and waits for its lingering close too (as a checker's stop() would). */
async function probeOnce(probe: Probe, port: number): Promise<CheckResult | void> {
  const lingering: Promise<void>[] = [];
  const ctx: ProbeContext = {
    host: '127.0.0.1', port, clock: systemClock, connected: () => {}, setTimeoutResult: () => {},
    linger: (work) => void lingering.push(work(new AbortController().signal)),
  };
  const result = await probe(server, new AbortController().signal, ctx);
  await Promise.all(lingering);
  return result;
}

/** Runs a probe under a manual clock and makes the deadline pass once `ready` resolves: the declared timeout result. */
async function timedOut(probe: Probe, port: number, ready: Promise<void>): Promise<CheckResult | undefined> {
  const clock = new ManualClock();
  const run = runProbe({ probe, server, host: '127.0.0.1', port, clock, connectBudgetMs: 1000, exchangeBudgetMs: undefined });
  let settled = false;
  void run.result.then(() => (settled = true));
  await ready;
  for (let i = 0; i < 5; i++) await flush();
  assert.equal(settled, false, 'the probe gave up before its deadline');
  clock.advance(1000);
  const result = await run.result;
  await run.finished;
  return result === undefined ? undefined : { ...result, durationMs: 0 };
}

const responders: Responder[] = [];
after(async () => {
  for (const r of responders) await r.close();
});
async function responder(r: Promise<Responder>): Promise<Responder> {
  const value = await r;
  responders.push(value);
  return value;
}

describe('redisCheckProbe (option redis-check)', { skip: REDIS_SKIP }, () => {
  let redis: Awaited<ReturnType<typeof startRedisServers>>;
  before(async () => {
    redis = await startRedisServers(1);
  });
  after(async () => {
    await redis?.stop();
  });

  it('passes against redis-server: L7OK, code 0, "Redis server is ok"', async () => {
    assert.deepEqual(await probeOnce(redisCheckProbe(), redis.members[0]!.port), { status: 'L7OK', code: 0, info: 'Redis server is ok' });
  });

  it('sends PING as a RESP array', async () => {
    const r = await responder(scriptedResponder(undefined, ['+PONG\r\n']));
    await probeOnce(redisCheckProbe(), r.port);
    assert.deepEqual(r.received, ['*1\r\n$4\r\nPING\r\n']);
  });

  it('fails with L7STS 0 and the first line of another reply followed by a close', async () => {
    const r = await responder(scriptedResponder(undefined, ['-ERR unknown command\r\n'], true));
    assert.deepEqual(await probeOnce(redisCheckProbe(), r.port), { status: 'L7STS', code: 0, info: '-ERR unknown command' });
  });

  it('waits on -NOAUTH from a connection kept open and fails with L7TOUT at the deadline, without info', async () => {
    const r = await responder(scriptedResponder(undefined, ['-NOAUTH Authentication required.\r\n']));
    assert.deepEqual(await timedOut(redisCheckProbe(), r.port, r.answered(1)), { status: 'L7TOUT', durationMs: 0 });
  });
});

describe('mysqlCheckProbe (option mysql-check) against MariaDB', { skip: MARIADB_SKIP }, () => {
  let maria: Awaited<ReturnType<typeof startMariaDbServers>>;
  let port = 0;
  before(async () => {
    maria = await startMariaDbServers(1);
    port = maria.members[0]!.port;
  });
  after(async () => {
    await maria?.stop();
  });

  it('without a user reads the greeting: L7OK, code 0, no info', async () => {
    assert.deepEqual(await probeOnce(mysqlCheckProbe(), port), { status: 'L7OK', code: 0 });
  });

  it('logs in as root (post-41 and pre-41): L7OK, code 0', async () => {
    assert.deepEqual(await probeOnce(mysqlCheckProbe({ user: 'root' }), port), { status: 'L7OK', code: 0 });
    assert.deepEqual(await probeOnce(mysqlCheckProbe({ user: 'root', protocol: 'pre-41' }), port), { status: 'L7OK', code: 0 });
  });

  it("fails for an unknown user with L7STS, the server's error code and text", async () => {
    assert.deepEqual(await probeOnce(mysqlCheckProbe({ user: 'nosuch' }), port), {
      status: 'L7STS', code: 1045, info: "#28000Access denied for user 'nosuch'@'localhost' (using password: NO)",
    });
  });

  it("writes HAProxy's login packets byte for byte", () => {
    assert.equal(mysqlLoginPacket('haproxy', 'post-41').toString('hex'),
      '29000001' + '00820000' + '00800001' + '21' + '00'.repeat(23) + '686170726f787900' + '00' + '0100000001');
    assert.equal(mysqlLoginPacket('haproxy', 'pre-41').toString('hex'), '0e000001' + '0080' + '000001' + '686170726f787900' + '00' + '0100000001');
  });
});

describe('pgsqlCheckProbe (option pgsql-check) against PostgreSQL', { skip: PG_SKIP }, () => {
  let pg: Awaited<ReturnType<typeof startPostgresCluster>>;
  before(async () => {
    pg = await startPostgresCluster(0);
  });
  after(async () => {
    await pg?.stop();
  });

  it('passes with L7OK, code 0, "PostgreSQL server is ok"', async () => {
    assert.deepEqual(await probeOnce(pgsqlCheckProbe({ user: 'postgres' }), pg.members[0]!.port), { status: 'L7OK', code: 0, info: 'PostgreSQL server is ok' });
  });

  it('mysqlCheckProbe against PostgreSQL fails with "TCPCHK got an empty response at step 3"', async () => {
    assert.deepEqual(await probeOnce(mysqlCheckProbe({ user: 'root' }), pg.members[0]!.port), { status: 'L7RSP', info: 'TCPCHK got an empty response at step 3' });
  });

  it('fails on a reply that is not PostgreSQL with L7STS 0 "PostgreSQL unknown error"', async () => {
    const r = await responder(scriptedResponder(undefined, ['HTTP/1.0 400 Bad Request\r\n\r\n'], true));
    assert.deepEqual(await probeOnce(pgsqlCheckProbe({ user: 'postgres' }), r.port), { status: 'L7STS', code: 0, info: 'PostgreSQL unknown error' });
  });

  it('fails on an error message with L7RSP and its text from the severity on', async () => {
    const fields = Buffer.from('SFATAL\0VFATAL\0C28000\0Mno such role\0\0', 'latin1');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(fields.length + 4);
    const r = await responder(scriptedResponder(undefined, [Buffer.concat([Buffer.from('E'), len, fields])], true));
    assert.deepEqual(await probeOnce(pgsqlCheckProbe({ user: 'nosuch' }), r.port), { status: 'L7RSP', info: 'FATAL' });
  });

  it("writes HAProxy's startup message byte for byte", () => {
    assert.equal(pgsqlStartupMessage('postgres').toString('hex'), '00000017' + '00030000' + '7573657200' + '706f737467726573' + '00' + '00');
  });
});

describe('smtpCheckProbe (option smtpchk)', () => {
  it('passes with the QUIT reply: L7OK, code 221, "2.0.0 Bye", after HELO localhost', async () => {
    const r = await responder(smtpResponder('220 mail.example ESMTP ready', { HELO: '250 mail.example at your service', QUIT: '221 2.0.0 Bye' }));
    assert.deepEqual(await probeOnce(smtpCheckProbe(), r.port), { status: 'L7OK', code: 221, info: '2.0.0 Bye' });
    assert.deepEqual(r.received, ['HELO localhost', 'QUIT']);
  });

  it('sends the given EHLO and domain', async () => {
    const r = await responder(smtpResponder('220 ready', { EHLO: '250-mail.example\r\n250 PIPELINING', QUIT: '221 bye' }));
    assert.deepEqual(await probeOnce(smtpCheckProbe({ command: 'EHLO', domain: 'my.domain' }), r.port), { status: 'L7OK', code: 221, info: 'bye' });
    assert.equal(r.received[0], 'EHLO my.domain');
  });

  it('fails on a 554 banner with L7STS 554 and its text', async () => {
    const r = await responder(smtpResponder('554 no service for you', {}));
    assert.deepEqual(await probeOnce(smtpCheckProbe(), r.port), { status: 'L7STS', code: 554, info: 'no service for you' });
  });

  it('fails on a banner that is not SMTP with L7RSP and its first line', async () => {
    const r = await responder(scriptedResponder('hello there\r\n', [], false));
    assert.deepEqual(await probeOnce(smtpCheckProbe(), r.port), { status: 'L7RSP', info: 'hello there' });
  });

  it('times out with L7TOUT when QUIT gets no reply', async () => {
    const r = await responder(smtpResponder('220 ready', { HELO: '250 ok' }));
    assert.deepEqual(await timedOut(smtpCheckProbe(), r.port, r.answered(1)), { status: 'L7TOUT', durationMs: 0 });
  });
});

describe('ldapCheckProbe (option ldap-check)', () => {
  it('sends an anonymous LDAPv3 bind and passes on resultCode 0: L7OK, code 0, no info', async () => {
    const r = await responder(ldapResponder({ resultCode: 0 }));
    assert.deepEqual(await probeOnce(ldapCheckProbe(), r.port), { status: 'L7OK', code: 0 });
    assert.deepEqual(r.received, ['300c020101600702010304008000']);
  });

  it('fails on resultCode 49 with L7STS 49 and the RFC pointer', async () => {
    const r = await responder(ldapResponder({ resultCode: 49 }));
    assert.deepEqual(await probeOnce(ldapCheckProbe(), r.port), { status: 'L7STS', code: 49, info: 'See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9' });
  });

  it('fails on a reply that is not LDAP with L7RSP "Not LDAPv3 protocol"', async () => {
    const r = await responder(ldapResponder({ raw: 'hello there, this is not LDAP\r\n' }));
    assert.deepEqual(await probeOnce(ldapCheckProbe(), r.port), { status: 'L7RSP', info: 'Not LDAPv3 protocol' });
  });
});

describe('sslHelloProbe (option ssl-hello-chk)', () => {
  it("passes with L6OK on the alert of Node's TLS stack", async () => {
    const r = await responder(tlsResponder());
    assert.deepEqual(await probeOnce(sslHelloProbe(), r.port), { status: 'L6OK' });
  });

  it('sends the hello with the time of its date option', async () => {
    const r = await responder(scriptedResponder(undefined, [Buffer.from('15030000020228', 'hex')]));
    assert.deepEqual(await probeOnce(sslHelloProbe({ date: () => new Date(1_700_000_000_000) }), r.port), { status: 'L6OK' });
    assert.equal(Buffer.from(r.received.join(''), 'latin1').toString('hex'), sslv3ClientHello(1_700_000_000).toString('hex'));
  });

  it('fails with L6RSP on a plain-text reply', async () => {
    const r = await responder(scriptedResponder('hello, plain text here\r\n', []));
    assert.deepEqual(await probeOnce(sslHelloProbe(), r.port), { status: 'L6RSP' });
  });

  it("builds HAProxy's 126-byte SSLv3 ClientHello", () => {
    const hello = sslv3ClientHello(0x01020304);
    assert.equal(hello.length, 126);
    assert.equal(hello.subarray(0, 11).toString('hex'), '1603000079010000750300');
    assert.equal(hello.subarray(11, 15).toString('hex'), '01020304');
    assert.equal(hello.subarray(15, 43).toString('latin1'), 'HAPROXYSSLCHK\nHAPROXYSSLCHK\n');
    assert.equal(hello.subarray(43, 46).toString('hex'), '00004e');
    assert.equal(hello.subarray(-2).toString('hex'), '0100');
  });
});
