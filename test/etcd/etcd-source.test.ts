import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { followServers } from '../../src/discovery/follow-servers.js';
import { type EtcdClient, EtcdSource } from '../../src/etcd/index.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { withTimeout } from '../helpers/timeout.js';
import { DelayProxy } from './helpers/delay-proxy.js';
import { nextEvent } from './helpers/until.js';

const names = (pool: Pool): string[] => pool.servers.map((s) => s.name).sort();

/** Resolves once `pool` holds exactly `expected` (by name), checking after every discovery update. */
async function poolIs(discovery: ReturnType<typeof followServers>, expected: string[], what: string): Promise<void> {
  const want = [...expected].sort().join(',');
  if (names(discovery.pool).join(',') === want) return;
  await withTimeout(
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (names(discovery.pool).join(',') !== want) return;
        discovery.off('discovery:update', check);
        resolve();
      };
      discovery.on('discovery:update', check);
    }),
    10_000,
    () => `${what}: pool has ${names(discovery.pool).join(',')}`,
  );
}

describe('EtcdSource', { skip: ETCD_SKIP, timeout: 120_000 }, () => {
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

  it('finds services registered in etcd\'s gRPC naming format, as Go\'s endpoints manager writes them', async () => {
    const lease = client.lease(10);
    // endpoints.Manager.AddEndpoint: key `<target>/<addr>`, value json.Marshal(internal.Update{Op, Addr, Metadata}) under a lease.
    await lease.put('grpc-svc/127.0.0.1:7001').value('{"Op":0,"Addr":"127.0.0.1:7001","Metadata":null}');
    await lease.put('grpc-svc/[::1]:7002').value('{"Op":0,"Addr":"[::1]:7002","Metadata":{"zone":"a"}}');
    await client.put('grpc-svc/127.0.0.1:7003').value('{"Op":1,"Addr":"127.0.0.1:7003","Metadata":null}');
    await client.put('grpc-svc-other/127.0.0.1:7009').value('{"Op":0,"Addr":"127.0.0.1:7009","Metadata":null}');
    const source = new EtcdSource({ client, prefix: 'grpc-svc' });
    assert.deepEqual((await source.list()).servers, [
      { host: '127.0.0.1', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    const pool = new Pool('grpc');
    const discovery = followServers(pool, source);
    await poolIs(discovery, ['127.0.0.1:7001', '[::1]:7002'], 'first list');
    await lease.revoke(); // the Go service died: its lease takes its endpoints with it
    await client.put('grpc-svc/127.0.0.1:7004').value('{"Op":0,"Addr":"127.0.0.1:7004","Metadata":null}');
    await poolIs(discovery, ['127.0.0.1:7004'], 'after the lease was revoked');
    await discovery.close();
  });

  it('reads the plain JSON format: weight, backup, maxconn, tags to select on, drain as weight 0; skips a bad entry', async () => {
    await client.put('json-svc/10.0.0.1:5432').value(JSON.stringify({ host: '127.0.0.1', port: 5432, weight: 20, tags: ['eu', 'ssd'] }));
    await client.put('json-svc/10.0.0.2:5432').value(JSON.stringify({ host: '127.0.0.2', port: 5432, backup: true, tags: ['eu'], maxconn: 7 }));
    await client.put('json-svc/10.0.0.3:5432').value(JSON.stringify({ host: '127.0.0.3', port: 5432, tags: ['us'] }));
    await client.put('json-svc/broken').value('{"host":"127.0.0.9","port":99999}');
    const invalid: string[] = [];
    const source = new EtcdSource({ client, prefix: 'json-svc/', tags: ['eu'] });
    source.on('entry:invalid', (key, err) => invalid.push(`${key} ${LbError.is(err) ? err.code : 'other'}`));
    const pool = new Pool('json');
    const discovery = followServers(pool, source);
    await poolIs(discovery, ['127.0.0.1:5432', '127.0.0.2:5432'], 'eu servers');
    assert.equal(pool.get('127.0.0.1:5432').weight, 20);
    assert.equal(pool.get('127.0.0.2:5432').backup, true);
    assert.equal(pool.get('127.0.0.2:5432').maxconn, 7);
    assert.deepEqual(invalid, ['json-svc/broken ERR_LB_INVALID_ARG']);
    const updated = nextEvent(discovery, 'discovery:update');
    await client.put('json-svc/10.0.0.1:5432').value(JSON.stringify({ host: '127.0.0.1', port: 5432, weight: 20, tags: ['eu'], drain: true }));
    await withTimeout(updated, 10_000, 'the drain update');
    assert.equal(pool.get('127.0.0.1:5432').weight, 0, 'a draining server gets weight 0 and stays in the pool');
    await discovery.close();
  });

  it('loses no change made between its read and its watch (watch from the read revision + 1)', async () => {
    await client.put('race-svc/127.0.0.1:1').value('{"Op":0,"Addr":"127.0.0.1:1"}');
    // The real client, except that the range read only answers after a registration was added behind its back.
    const late: EtcdClient = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'getAll') return Reflect.get(target, prop, receiver) as unknown;
        return () => ({
          prefix: (p: string) => ({
            exec: async () => {
              const res = await target.getAll().prefix(p).exec();
              await target.put('race-svc/127.0.0.1:2').value('{"Op":0,"Addr":"127.0.0.1:2"}');
              return res;
            },
          }),
        });
      },
    });
    const pool = new Pool('race');
    const discovery = followServers(pool, new EtcdSource({ client: late, prefix: 'race-svc' }));
    await poolIs(discovery, ['127.0.0.1:1', '127.0.0.1:2'], 'the registration written after the read');
    await discovery.close();
  });

  it('keeps the last good list while etcd is unreachable, reads again when it is back (also after a compaction)', async () => {
    const relay = await DelayProxy.start(etcd.members[0]!.clientPort, 0);
    const viaRelay = new Etcd3({ hosts: relay.url, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 1000 }) });
    try {
      await client.put('down-svc/127.0.0.1:1').value('{"Op":0,"Addr":"127.0.0.1:1"}');
      const pool = new Pool('down');
      const discovery = followServers(pool, new EtcdSource({ client: viaRelay, prefix: 'down-svc', timeoutMs: 1000 }), { retryMs: 100, maxRetryMs: 200 });
      await poolIs(discovery, ['127.0.0.1:1'], 'first list');
      const failed = nextEvent(discovery, 'discovery:error');
      relay.cut();
      const [err] = (await withTimeout(failed, 10_000, 'discovery:error')) as [unknown];
      assert.ok(LbError.is(err) && err.code === 'ERR_LB_ETCD', String(err));
      assert.deepEqual(names(pool), ['127.0.0.1:1'], 'the last good list stays');
      // While cut off, the service moves and etcd compacts its history.
      await client.delete().key('down-svc/127.0.0.1:1').exec();
      const put = await client.put('down-svc/127.0.0.1:2').value('{"Op":0,"Addr":"127.0.0.1:2"}').exec();
      await client.kv.compact({ revision: put.header.revision });
      relay.restore();
      await poolIs(discovery, ['127.0.0.1:2'], 'the list after etcd is back');
      await discovery.close();
    } finally {
      viaRelay.close();
      await relay.close();
    }
  });

  it('rejects bad options with the field and the value', () => {
    assert.throws(() => new EtcdSource({ client: {} as EtcdClient, prefix: 'x' }), /client must be an etcd3 client/);
    assert.throws(() => new EtcdSource({ client, prefix: '' }), /prefix/);
    assert.throws(() => new EtcdSource({ client, prefix: 'x', format: 'yaml' as never }), /format .*"yaml"/);
    assert.throws(() => new EtcdSource({ client, prefix: 'x', tags: [''] }), /tags/);
  });
});
