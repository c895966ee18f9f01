import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { followServers } from '../../src/discovery/follow-servers.js';
import { EtcdSource, registerServer } from '../../src/etcd/index.js';
import { Pool } from '../../src/pool.js';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { withTimeout } from '../helpers/timeout.js';
import { nextEvent, until } from './helpers/until.js';

describe('registerServer', { skip: ETCD_SKIP, timeout: 120_000 }, () => {
  let etcd: EtcdCluster;
  let client: Etcd3;
  before(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.urls, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 3000 }) });
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });

  it('writes the key under a lease it keeps alive past the TTL, and deletes it at once on close', async () => {
    const registration = registerServer({ client, prefix: 'reg-a', host: '127.0.0.1', port: 6001, weight: 5, tags: ['eu'], leaseTtlSeconds: 1 });
    await registration.whenRegistered();
    assert.equal(registration.key, 'reg-a/127.0.0.1:6001');
    const kv = (await client.get('reg-a/127.0.0.1:6001').exec()).kvs[0]!;
    assert.deepEqual(JSON.parse(kv.value.toString()), { host: '127.0.0.1', port: 6001, weight: 5, tags: ['eu'] });
    assert.equal(kv.lease, registration.leaseId);
    // The key outlives three TTLs: keep-alives went through (polled, never a sleep).
    const firstRevision = Number(kv.mod_revision);
    const since = performance.now();
    let polls = 0;
    await withTimeout(
      (async () => {
        while (performance.now() - since < 3000) {
          assert.notEqual(await client.get('reg-a/127.0.0.1:6001').string(), null, `key gone after ${Math.round(performance.now() - since)} ms`);
          polls++;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      10_000,
      'three TTLs',
    );
    assert.ok(polls > 10);
    const still = (await client.get('reg-a/127.0.0.1:6001').exec()).kvs[0]!;
    assert.equal(Number(still.mod_revision), firstRevision);
    await registration.close();
    assert.equal(await client.get('reg-a/127.0.0.1:6001').string(), null);
  });

  it('writes etcd\'s gRPC naming value when asked', async () => {
    const registration = registerServer({ client, prefix: 'reg-g', host: '::1', port: 6002, format: 'grpc', metadata: { zone: 'b' }, leaseTtlSeconds: 2 });
    await registration.whenRegistered();
    assert.equal(await client.get('reg-g/[::1]:6002').string(), '{"Op":0,"Addr":"[::1]:6002","Metadata":{"zone":"b"}}');
    await registration.drain(); // gRPC has no drain state: the key goes
    assert.equal(await client.get('reg-g/[::1]:6002').string(), null);
    await registration.close();
  });

  it('is removed when the process dies, once its lease expires', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./helpers/register-child.ts', import.meta.url).pathname, JSON.stringify({ hosts: etcd.urls, prefix: 'reg-d', port: 6003, ttl: 1 })], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const [line] = (await withTimeout(once(child.stdout!, 'data'), 20_000, 'the child registered')) as [Buffer];
      assert.match(line.toString(), /registered reg-d\/127.0.0.1:6003/);
      const pool = new Pool('reg-d');
      const discovery = followServers(pool, new EtcdSource({ client, prefix: 'reg-d' }), { allowEmpty: true });
      await until(() => pool.size === 1, 10_000, 'the registration followed');
      child.kill('SIGKILL');
      await until(() => pool.size === 0, 10_000, 'the dead service dropped');
      await discovery.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('drains on a graceful shutdown: weight 0 for followers first, then gone', async () => {
    const registration = registerServer({ client, prefix: 'reg-s', host: '127.0.0.1', port: 6004, weight: 10, leaseTtlSeconds: 2 });
    await registration.whenRegistered();
    const pool = new Pool('reg-s');
    const discovery = followServers(pool, new EtcdSource({ client, prefix: 'reg-s' }), { allowEmpty: true });
    await until(() => pool.find('127.0.0.1:6004')?.weight === 10, 10_000, 'followed');
    await registration.drain();
    await until(() => pool.find('127.0.0.1:6004')?.weight === 0, 10_000, 'weight 0 while draining');
    assert.equal(pool.get('127.0.0.1:6004').usable, false);
    await registration.close();
    await until(() => pool.size === 0, 10_000, 'removed after close');
    await discovery.close();
  });

  it('registers again under a new lease when its lease is revoked from outside', async () => {
    const registration = registerServer({ client, prefix: 'reg-r', host: '127.0.0.1', port: 6005, leaseTtlSeconds: 1, retryMs: 100 });
    const ups: string[] = [];
    registration.on('registration:up', (_key, leaseId) => ups.push(leaseId));
    await registration.whenRegistered();
    const lost = nextEvent(registration, 'registration:lost');
    await client.leaseClient.leaseRevoke({ ID: registration.leaseId! });
    await withTimeout(lost, 10_000, 'registration:lost');
    await until(() => ups.length >= 2, 10_000, 'registered again');
    assert.notEqual(ups[0], ups[1]);
    assert.notEqual(await client.get('reg-r/127.0.0.1:6005').string(), null);
    await registration.close();
  });

  it('rejects bad options with the field and the value', () => {
    assert.throws(() => registerServer({ client, prefix: 'x', host: '127.0.0.1', port: 0 }), /port .*0/);
    assert.throws(() => registerServer({ client, prefix: 'x', host: '127.0.0.1', port: 1, weight: 300 }), /weight .*300/);
    assert.throws(() => registerServer({ client, prefix: 'x', host: '127.0.0.1', port: 1, leaseTtlSeconds: 0.5 }), /leaseTtlSeconds/);
    assert.throws(() => registerServer({ client, prefix: 'x', host: '127.0.0.1', port: 1, format: 'xml' as never }), /format/);
  });
});
