import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { type EtcdClient, FleetHealth, FleetKeys, formatServerEntry, parseServerEntry } from '../../src/etcd/index.js';
import { parsePublishedCheck } from '../../src/etcd/fleet-record.js';
import { LeaseKeeper } from '../../src/etcd/lease-keeper.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';

const invalid = (pattern: RegExp) => (err: unknown): boolean => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && pattern.test(err.message);

describe('registration values', () => {
  it('reads etcd\'s gRPC naming values, IPv6 included, and skips a delete (Op 1)', () => {
    assert.deepEqual(parseServerEntry('svc/10.0.0.1:80', '{"Op":0,"Addr":"10.0.0.1:80","Metadata":null}'), { server: { host: '10.0.0.1', port: 80 }, tags: [], format: 'grpc' });
    assert.deepEqual(parseServerEntry('svc/[::1]:80', '{"Addr":"[::1]:80"}')?.server, { host: '::1', port: 80 });
    assert.equal(parseServerEntry('svc/10.0.0.1:80', '{"Op":1,"Addr":"10.0.0.1:80"}'), undefined);
  });

  it('reads the plain JSON format; drain means weight 0; unknown fields are ignored', () => {
    assert.deepEqual(parseServerEntry('k', '{"host":"h","port":1,"weight":3,"backup":true,"maxconn":2,"tags":["a"],"owner":"team-x"}'), {
      server: { host: 'h', port: 1, weight: 3, backup: true, maxconn: 2 }, tags: ['a'], format: 'json',
    });
    assert.equal(parseServerEntry('k', '{"host":"h","port":1,"weight":3,"drain":true}')?.server.weight, 0);
  });

  it('names the key and the field of a bad value', () => {
    assert.throws(() => parseServerEntry('svc/x', 'not json'), invalid(/value of svc\/x must be JSON/));
    assert.throws(() => parseServerEntry('svc/x', '{"Op":0,"Addr":"nohost"}'), invalid(/svc\/x: Addr .*"nohost"/));
    assert.throws(() => parseServerEntry('svc/x', '{"Op":2,"Addr":"h:1"}'), invalid(/svc\/x: Op/));
    assert.throws(() => parseServerEntry('svc/x', '{"host":"h","port":70000}'), invalid(/svc\/x: port .*70000/));
    assert.throws(() => parseServerEntry('svc/x', '{"host":"h","port":1,"tags":"eu"}'), invalid(/svc\/x: tags/));
    assert.throws(() => parseServerEntry('svc/x', '{"host":"h","port":1}', 'grpc'), invalid(/svc\/x: Addr/));
  });

  it('writes both formats so that they read back the same', () => {
    const grpc = formatServerEntry('grpc', { host: '::1', port: 9 }, { zone: 'a' });
    assert.equal(grpc, '{"Op":0,"Addr":"[::1]:9","Metadata":{"zone":"a"}}');
    assert.deepEqual(parseServerEntry('k', grpc)?.server, { host: '::1', port: 9 });
    const json = formatServerEntry('json', { host: 'h', port: 9, weight: 2, tags: ['x'] });
    assert.deepEqual(parseServerEntry('k', json), { server: { host: 'h', port: 9, weight: 2 }, tags: ['x'], format: 'json' });
  });
});

describe('fleet keys and records', () => {
  it('lays out claims, results, reports and members under <prefix><pool>/, names encoded', () => {
    const keys = new FleetKeys('switchyard/health/', 'db/main');
    assert.equal(keys.claim('[::1]:5432'), 'switchyard/health/db%2Fmain/claims/%5B%3A%3A1%5D%3A5432');
    assert.deepEqual(keys.parse(keys.result('a/b')), { kind: 'results', name: 'a/b' });
    assert.deepEqual(keys.parse(keys.report('s1', 'web 1')), { kind: 'reports', name: 's1' });
    assert.deepEqual(keys.parse(keys.member('web 1')), { kind: 'members', name: 'web 1' });
    assert.equal(keys.parse('switchyard/health/db%2Fmain/other/s1'), undefined);
    assert.equal(keys.parse('switchyard/health/db%2Fmain/claims/s1/extra'), undefined);
    assert.equal(keys.parse('elsewhere/claims/s1'), undefined);
  });

  it('reads a published result and refuses a malformed one, naming the field', () => {
    const record = { v: 1, by: 'A', addr: 'h:1', term: 5, seq: 2, result: { status: 'L4CON', info: 'Connection refused', durationMs: 0, extra: 1 }, health: 0, rise: 2, fall: 3, up: false };
    assert.deepEqual(parsePublishedCheck('k', JSON.stringify(record)).result, { status: 'L4CON', info: 'Connection refused', durationMs: 0 });
    assert.throws(() => parsePublishedCheck('k', JSON.stringify({ ...record, term: 0 })), invalid(/k: term/));
    assert.throws(() => parsePublishedCheck('k', JSON.stringify({ ...record, result: { status: 'L9' } })), invalid(/status/));
    assert.throws(() => parsePublishedCheck('k', JSON.stringify({ ...record, v: 2 })), invalid(/k: v/));
  });
});

/** An etcd3 client stand-in for the lease keeper: leases granted at once, keep-alives answered when the test says. */
class FakeLease extends EventEmitter {
  released = false;
  constructor(readonly id: string) {
    super();
  }
  grant(): Promise<string> {
    return Promise.resolve(this.id);
  }
  release(): void {
    this.released = true;
  }
  revoke(): Promise<void> {
    this.released = true;
    return Promise.resolve();
  }
}

describe('LeaseKeeper', () => {
  it('declares its lease lost when no keep-alive was answered for a whole TTL (on the injected clock), then grants a new one', async () => {
    const clock = new ManualClock();
    const leases: FakeLease[] = [];
    const client = { lease: () => leases[leases.push(new FakeLease(String(leases.length + 1))) - 1] } as unknown as EtcdClient;
    const keeper = new LeaseKeeper(client, { ttlSeconds: 2, timeoutMs: 1000, retryMs: 100, maxRetryMs: 100, clock });
    const seen: string[] = [];
    keeper.on('lease:granted', (id) => seen.push(`granted ${id}`));
    keeper.on('lease:lost', (id) => seen.push(`lost ${id}`));
    keeper.start();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['granted 1']);
    for (let t = 0; t < 4; t++) {
      clock.advance(1500);
      leases[0]!.emit('keepaliveSucceeded'); // answered every 1.5 s: alive
    }
    assert.deepEqual(seen, ['granted 1']);
    clock.advance(2000); // a TTL without an answer
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['granted 1']);
    clock.advance(500);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['granted 1', 'lost 1']);
    assert.equal(leases[0]!.released, true);
    clock.advance(100);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['granted 1', 'lost 1', 'granted 2']);
    await keeper.close();
    assert.equal(leases[1]!.released, true);
  });
});

describe('FleetHealth options', () => {
  const client = { getAll() {}, watch() {}, if() {}, lease() {} } as unknown as EtcdClient;
  it('rejects bad options before touching etcd, naming the field and the value', () => {
    const pool = new Pool('p');
    assert.throws(() => new FleetHealth(pool, { client: {} as EtcdClient }), invalid(/client must be an etcd3 client/));
    assert.throws(() => new FleetHealth(pool, { client, identity: '' }), invalid(/identity/));
    assert.throws(() => new FleetHealth(pool, { client, leaseTtlSeconds: 0 }), invalid(/leaseTtlSeconds .*0/));
    assert.throws(() => new FleetHealth(pool, { client, checker: { autoStart: false } as never }), invalid(/checker.autoStart/));
    assert.throws(() => new FleetHealth(pool, { client, checker: { probe: 'tcp' as never } }), invalid(/checker.probe/));
    assert.throws(() => new FleetHealth(pool, { client, checker: { interMs: -1 } }), invalid(/interMs .*-1/));
    assert.throws(() => new FleetHealth(pool, { client, restoreState: 'yes' as never }), invalid(/restoreState/));
    assert.throws(() => new FleetHealth(pool, { client, spreadProbers: 1 as never }), invalid(/spreadProbers .*1/));
    assert.throws(() => new FleetHealth(pool, { client, claimDelayMs: -5 }), invalid(/claimDelayMs .*-5/));
    assert.throws(() => new FleetHealth(pool, { client, publishRetries: 11 }), invalid(/publishRetries .*11/));
    assert.throws(() => new FleetHealth(pool, { client, publishRetries: 1.5 }), invalid(/publishRetries .*1\.5/));
    // Per-server check settings follow ActiveChecker's rule: a server of the pool, with check: true.
    const checked = new Pool('q', { servers: [{ name: 'a', host: '127.0.0.1', port: 1, check: true }, { name: 'b', host: '127.0.0.1', port: 2 }] });
    assert.throws(
      () => new FleetHealth(checked, { client, checker: { servers: { zz: { port: 9 } } } }),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_UNKNOWN_SERVER' && /servers\.zz/.test(err.message),
    );
    assert.throws(() => new FleetHealth(checked, { client, checker: { servers: { b: { port: 9 } } } }), invalid(/servers\.b .*check: true/));
  });
});
