import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { DnsSource, type DnsSourceOptions } from '../../src/discovery/dns-source.js';
import { type Discovery, type DiscoveryChange, followServers } from '../../src/discovery/follow-servers.js';
import { LbError } from '../../src/errors.js';
import { Pool } from '../../src/pool.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { nextEvent } from '../helpers/list-source.js';

let dns: TestDnsServer;
before(async () => {
  dns = await TestDnsServer.start();
});
after(async () => {
  await dns.close();
});
beforeEach(() => {
  dns.zones.clear();
  dns.queries.length = 0;
  dns.mode = 'answer';
  dns.srvGlue = true;
});

function source(options: Partial<DnsSourceOptions> & { name: string }, clock = new ManualClock()): DnsSource {
  return new DnsSource({ port: options.type === 'SRV' ? undefined : 80, servers: [dns.address], clock, ...options } as DnsSourceOptions);
}

/** Expects `promise` to reject with a DNS LbError whose reason is `reason`. */
async function rejectsWith(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(LbError.is(err), `expected an LbError, got ${String(err)}`);
    assert.equal(err.details['reason'], reason, err.message);
    return true;
  });
}

/** A ManualClock that says when a timer of a given delay is set. */
class SchedulingClock extends ManualClock {
  #waiters: { delayMs: number; resolve: () => void }[] = [];
  override setTimeout(callback: () => void, delayMs: number) {
    const handle = super.setTimeout(callback, delayMs);
    this.#waiters = this.#waiters.filter((w) => (w.delayMs === delayMs ? (w.resolve(), false) : true));
    return handle;
  }
  /** Resolves when the next timer of `delayMs` is set. */
  scheduled(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ delayMs, resolve }));
  }
}

const hosts = (servers: readonly { host: string; port: number }[]): string[] => servers.map((s) => `${s.host}:${s.port}`);

describe('DnsSource.resolve', () => {
  it('returns A records as servers on the configured port, with the shortest TTL', async () => {
    dns.set('svc.test', { A: [{ address: '10.0.0.2', ttl: 30 }, { address: '10.0.0.1', ttl: 12 }] });
    const answer = await source({ name: 'svc.test' }).resolve();
    assert.deepEqual(hosts(answer.servers), ['10.0.0.1:80', '10.0.0.2:80']);
    assert.equal(answer.ttlMs, 12_000);
    assert.deepEqual(dns.queries.at(-1), { name: 'svc.test', type: 'A' });
  });

  it('merges A and AAAA for A+AAAA, and takes AAAA alone', async () => {
    dns.set('dual.test', { A: [{ address: '10.0.0.1', ttl: 60 }], AAAA: [{ address: 'fd00::1', ttl: 5 }] });
    const both = await source({ name: 'dual.test', type: 'A+AAAA' }).resolve();
    assert.deepEqual(hosts(both.servers), ['10.0.0.1:80', 'fd00::1:80']);
    assert.equal(both.ttlMs, 5000);
    const v6 = await source({ name: 'dual.test', type: 'AAAA' }).resolve();
    assert.deepEqual(hosts(v6.servers), ['fd00::1:80']);
  });

  it('reads SRV targets, ports and HAProxy-scaled weights, with addresses from the additional section', async () => {
    dns.set('_pg._tcp.svc.test', {
      SRV: [
        { priority: 10, weight: 0, port: 5432, target: 'db1.svc.test', ttl: 60 },
        { priority: 10, weight: 1024, port: 5433, target: 'db2.svc.test', ttl: 60 },
        { priority: 20, weight: 65535, port: 5432, target: 'db3.svc.test', ttl: 60 },
      ],
    });
    dns.set('db1.svc.test', { A: [{ address: '10.0.1.1', ttl: 45 }] });
    dns.set('db2.svc.test', { A: [{ address: '10.0.1.2', ttl: 60 }] });
    dns.set('db3.svc.test', { A: [{ address: '10.0.1.3', ttl: 60 }] });
    const answer = await source({ name: '_pg._tcp.svc.test', type: 'SRV' }).resolve();
    assert.deepEqual(answer.servers, [
      { host: '10.0.1.1', port: 5432, weight: 1 },
      { host: '10.0.1.2', port: 5433, weight: 5 },
      { host: '10.0.1.3', port: 5432, weight: 256 },
    ]);
    assert.equal(answer.ttlMs, 45_000, 'the shortest TTL counts, glue included');
    assert.deepEqual(dns.queries.map((q) => q.type), ['SRV'], 'glue saves the address lookups');

    const rfc = await source({ name: '_pg._tcp.svc.test', type: 'SRV', srvPriority: 'backup' }).resolve();
    assert.deepEqual(rfc.servers.map((s) => s.backup ?? false), [false, false, true]);
  });

  it('resolves SRV targets itself when the answer carries no addresses', async () => {
    dns.srvGlue = false;
    dns.set('_x._tcp.svc.test', { SRV: [{ priority: 0, weight: 0, port: 7000, target: 'x1.svc.test', ttl: 300 }] });
    dns.set('x1.svc.test', { A: [{ address: '10.0.2.1', ttl: 7 }] });
    const answer = await source({ name: '_x._tcp.svc.test', type: 'SRV' }).resolve();
    assert.deepEqual(hosts(answer.servers), ['10.0.2.1:7000']);
    assert.equal(answer.ttlMs, 7000);
    assert.deepEqual(new Set(dns.queries.map((q) => `${q.name}/${q.type}`)), new Set(['_x._tcp.svc.test/SRV', 'x1.svc.test/A', 'x1.svc.test/AAAA']));
  });

  it('fails with a typed reason: nxdomain, nodata, servfail, refused', async () => {
    await rejectsWith(source({ name: 'missing.test' }).resolve(), 'nxdomain');
    dns.set('v6only.test', { AAAA: [{ address: 'fd00::1', ttl: 5 }] });
    await rejectsWith(source({ name: 'v6only.test' }).resolve(), 'nodata');
    dns.set('svc.test', { A: [{ address: '10.0.0.1', ttl: 5 }], SRV: [] });
    await rejectsWith(source({ name: 'svc.test', type: 'SRV' }).resolve(), 'nodata');
    dns.mode = 'servfail';
    await rejectsWith(source({ name: 'svc.test' }).resolve(), 'servfail');
    await rejectsWith(source({ name: 'svc.test', type: 'SRV' }).resolve(), 'servfail');
    dns.mode = 'refused';
    await rejectsWith(source({ name: 'svc.test', type: 'SRV' }).resolve(), 'refused');
  });

  it('times out on the injected clock when the server goes silent', async () => {
    dns.set('svc.test', { A: [{ address: '10.0.0.1', ttl: 5 }] });
    dns.mode = 'silent';
    for (const type of ['A', 'SRV'] as const) {
      const clock = new ManualClock();
      const asked = dns.nextQuery('svc.test', type);
      const pending = source({ name: 'svc.test', type, timeoutMs: 500 }, clock).resolve();
      await asked;
      clock.advance(499);
      clock.advance(1);
      await rejectsWith(pending, 'timeout');
    }
  });

  it('turns malformed, truncated and mismatched answers into LbErrors, never a crash', async () => {
    dns.set('_s._tcp.svc.test', { SRV: [{ priority: 0, weight: 0, port: 1, target: 'a.svc.test', ttl: 5 }] });
    dns.set('a.svc.test', { A: [{ address: '10.0.0.1', ttl: 5 }] });
    dns.mode = 'garbage';
    await rejectsWith(source({ name: '_s._tcp.svc.test', type: 'SRV' }).resolve(), 'malformed');
    await rejectsWith(source({ name: 'a.svc.test' }).resolve(), 'malformed');
    dns.mode = 'truncated';
    await rejectsWith(source({ name: '_s._tcp.svc.test', type: 'SRV' }).resolve(), 'truncated');
    // An answer with the wrong id is ignored: the query then times out.
    dns.mode = 'wrong-id';
    const clock = new ManualClock();
    const asked = dns.nextQuery('_s._tcp.svc.test');
    const pending = source({ name: '_s._tcp.svc.test', type: 'SRV', timeoutMs: 100 }, clock).resolve();
    await asked;
    clock.advance(100);
    await rejectsWith(pending, 'timeout');
  });

  it('stops when aborted', async () => {
    dns.mode = 'silent';
    for (const type of ['A', 'SRV'] as const) {
      const ac = new AbortController();
      const asked = dns.nextQuery('svc.test');
      const pending = source({ name: 'svc.test', type }).resolve(ac.signal);
      await asked;
      ac.abort();
      await assert.rejects(pending, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_ABORTED');
    }
  });

  it('refreshes at the TTL, bounded by minRefreshMs and maxRefreshMs', () => {
    const s = source({ name: 'svc.test', minRefreshMs: 2000, maxRefreshMs: 60_000 });
    assert.equal(s.refreshDelayMs(0), 2000);
    assert.equal(s.refreshDelayMs(30_000), 30_000);
    assert.equal(s.refreshDelayMs(86_400_000), 60_000);
    assert.equal(s.refreshDelayMs(Infinity), 60_000);
  });

  it('validates its options, naming the field', () => {
    const bad: [Partial<DnsSourceOptions>, RegExp][] = [
      [{ name: '' }, /name must be a non-empty string/],
      [{ name: 'a..b' }, /name must be a DNS name/],
      [{ name: 'svc.test', port: undefined } as never, /port must be an integer from 1 to 65535, got undefined/],
      [{ name: 'svc.test', type: 'SRV', port: 80 }, /port must be left out for SRV/],
      [{ name: 'svc.test', type: 'MX' as never }, /type must be one of 'A', 'AAAA', 'A\+AAAA', 'SRV'/],
      [{ name: 'svc.test', port: 80, servers: ['dns.example'] }, /servers must hold IP addresses/],
      [{ name: 'svc.test', port: 80, servers: [] }, /servers must be a non-empty array/],
      [{ name: 'svc.test', port: 80, minRefreshMs: 5000, maxRefreshMs: 1000 }, /maxRefreshMs must be at least minRefreshMs/],
      [{ name: 'svc.test', port: 80, ttl: 1 } as never, /dns source options.ttl is not a known option/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => new DnsSource({ servers: ['127.0.0.1'], ...options } as DnsSourceOptions),
        (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message),
        String(message),
      );
    }
  });
});

describe('DNS discovery (followServers + DnsSource against a loopback DNS server)', () => {
  const update = (d: Discovery): Promise<[DiscoveryChange]> => nextEvent<[DiscoveryChange]>(d, 'discovery:update');
  const failure = (d: Discovery): Promise<[unknown, number | undefined]> => nextEvent<[unknown, number | undefined]>(d, 'discovery:error');
  const names = (pool: Pool): string[] => pool.servers.map((s) => s.name);

  it('reflects records added, removed and expired at the TTL, and holds the last good list through an outage', async () => {
    const clock = new ManualClock();
    dns.set('web.test', { A: [{ address: '10.0.0.1', ttl: 30 }, { address: '10.0.0.2', ttl: 10 }] });
    const pool = new Pool('web', { clock });
    const balancer = new Balancer(pool, { strategy: 'first' });
    const discovery = followServers(pool, source({ name: 'web.test', timeoutMs: 500 }, clock), {
      defaults: { check: true },
      retryMs: 1000,
    });
    try {
      await update(discovery);
      assert.deepEqual(names(pool), ['10.0.0.1:80', '10.0.0.2:80']);
      const first = pool.get('10.0.0.1:80');
      const lease = await balancer.acquire();
      assert.equal(lease.server, first);
      pool.setHealth(first.name, 'stopping');
      const status = first.status;
      assert.match(status, /^NOLB/);

      // 10.0.0.2 vanishes and 10.0.0.3 appears; nothing is asked before the shortest TTL (10 s) runs out.
      dns.set('web.test', { A: [{ address: '10.0.0.1', ttl: 30 }, { address: '10.0.0.3', ttl: 20 }] });
      const asked = dns.queries.length;
      clock.advance(9999);
      assert.equal(clock.pending, 1, 'the refresh timer has not fired');
      assert.equal(dns.queries.length, asked);
      const changed = update(discovery);
      clock.advance(1);
      const [change] = await changed;
      assert.deepEqual(change.added.map((s) => s.name), ['10.0.0.3:80']);
      assert.deepEqual(change.removed.map((s) => s.name), ['10.0.0.2:80']);
      assert.deepEqual(names(pool), ['10.0.0.1:80', '10.0.0.3:80']);
      assert.equal(pool.get('10.0.0.1:80'), first, 'the persisting server is the same object');
      assert.equal(first.status, status, 'with its health');
      assert.equal(first.currentConnections, 1, 'and its lease');

      // Outage: SERVFAIL, then silence. The pool keeps its servers throughout.
      dns.mode = 'servfail';
      const servfail = failure(discovery);
      clock.advance(20_000);
      const [err1, retry1] = await servfail;
      assert.ok(LbError.is(err1));
      assert.equal(err1.details['reason'], 'servfail');
      assert.equal(retry1, 1000);
      assert.deepEqual(names(pool), ['10.0.0.1:80', '10.0.0.3:80']);

      dns.mode = 'silent';
      const silent = dns.nextQuery('web.test');
      const timedOut = failure(discovery);
      clock.advance(1000);
      await silent;
      clock.advance(500);
      const [err2, retry2] = await timedOut;
      assert.ok(LbError.is(err2));
      assert.equal(err2.details['reason'], 'timeout');
      assert.equal(retry2, 2000);
      assert.deepEqual(names(pool), ['10.0.0.1:80', '10.0.0.3:80']);
      assert.equal(first.currentConnections, 1);

      // Back: the next retry picks up the current records.
      dns.mode = 'answer';
      dns.set('web.test', { A: [{ address: '10.0.0.1', ttl: 30 }, { address: '10.0.0.4', ttl: 30 }] });
      const back = update(discovery);
      clock.advance(2000);
      await back;
      assert.deepEqual(names(pool), ['10.0.0.1:80', '10.0.0.4:80']);
      assert.equal(pool.get('10.0.0.1:80'), first);
      assert.equal(discovery.failures, 0);
      lease.release();
    } finally {
      await discovery.close();
      balancer.destroy();
    }
  });

  it('follows SRV weights and ports', async () => {
    const clock = new ManualClock();
    dns.set('_app._tcp.svc.test', { SRV: [{ priority: 0, weight: 256, port: 9001, target: 'n1.svc.test', ttl: 5 }] });
    dns.set('n1.svc.test', { A: [{ address: '10.0.3.1', ttl: 5 }] });
    const pool = new Pool('app', { clock });
    const discovery = followServers(pool, source({ name: '_app._tcp.svc.test', type: 'SRV' }, clock));
    try {
      await update(discovery);
      assert.deepEqual(pool.servers.map((s) => [s.name, s.weight]), [['10.0.3.1:9001', 2]]);
      dns.set('_app._tcp.svc.test', {
        SRV: [
          { priority: 0, weight: 2560, port: 9001, target: 'n1.svc.test', ttl: 5 },
          { priority: 0, weight: 0, port: 9002, target: 'n1.svc.test', ttl: 5 },
        ],
      });
      const changed = update(discovery);
      clock.advance(5000);
      const [change] = await changed;
      assert.deepEqual(change.updated.map((s) => s.name), ['10.0.3.1:9001']);
      assert.deepEqual(pool.servers.map((s) => [s.name, s.weight]), [['10.0.3.1:9001', 11], ['10.0.3.1:9002', 1]]);
    } finally {
      await discovery.close();
    }
  });

  it('watch() yields only lists that changed, and ends when its signal fires', async () => {
    const clock = new SchedulingClock();
    dns.set('svc.test', { A: [{ address: '10.0.0.1', ttl: 1 }] });
    const ac = new AbortController();
    const it = source({ name: 'svc.test', timeoutMs: 300 }, clock).watch(ac.signal)[Symbol.asyncIterator]();
    assert.deepEqual(hosts((await it.next()).value!), ['10.0.0.1:80']);
    const next = it.next();
    // Same answer at the first refresh: nothing is yielded, the next refresh is scheduled.
    const rescheduled = clock.scheduled(1000);
    clock.advance(1000);
    await rescheduled;
    assert.equal(dns.queries.length, 2);
    dns.set('svc.test', { A: [{ address: '10.0.0.2', ttl: 1 }] });
    clock.advance(1000);
    assert.deepEqual(hosts((await next).value!), ['10.0.0.2:80']);
    assert.equal(dns.queries.length, 3);
    const ended = it.next();
    ac.abort();
    assert.equal((await ended).done, true);
  });
});
