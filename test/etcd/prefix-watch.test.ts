import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { systemClock } from '../../src/clock.js';
import { type PrefixEvent, followPrefix } from '../../src/etcd/prefix-watch.js';
import { ETCD_SKIP, type EtcdCluster, startEtcd } from '../helpers/servers/etcd.js';
import { withTimeout } from '../helpers/timeout.js';
import { DelayProxy } from './helpers/delay-proxy.js';

/** Collects what followPrefix yields, and lets a test wait for an item matching a predicate. */
function collect(client: Etcd3, prefix: string, signal: AbortSignal): { events: PrefixEvent[]; next(match: (e: PrefixEvent) => boolean, what: string): Promise<PrefixEvent> } {
  const events: PrefixEvent[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    for await (const ev of followPrefix(client, prefix, signal, { clock: systemClock, timeoutMs: 1000, retryMs: 50, maxRetryMs: 200 })) {
      events.push(ev);
      for (const w of waiters.splice(0)) w();
    }
  })().catch(() => undefined);
  let seen = 0;
  return {
    events,
    next(match, what) {
      return withTimeout(
        new Promise<PrefixEvent>((resolve) => {
          const check = (): void => {
            for (; seen < events.length; seen++) {
              if (match(events[seen]!)) {
                resolve(events[seen++]!);
                return;
              }
            }
            waiters.push(check);
          };
          check();
        }),
        10_000,
        () => `${what}; got ${events.map((e) => e.kind).join(',')}`,
      );
    },
  };
}

describe('followPrefix (revision-consistent watch)', { skip: ETCD_SKIP, timeout: 60_000 }, () => {
  let etcd: EtcdCluster;
  let direct: Etcd3;
  let relay: DelayProxy;
  let viaRelay: Etcd3;
  before(async () => {
    etcd = await startEtcd();
    direct = new Etcd3({ hosts: etcd.urls });
    relay = await DelayProxy.start(etcd.members[0]!.clientPort, 0);
    viaRelay = new Etcd3({ hosts: relay.url, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 1000 }) });
  });
  after(async () => {
    viaRelay?.close();
    direct?.close();
    await relay?.close();
    await etcd?.stop();
  });

  it('resumes a broken watch from the last revision seen: every change made meanwhile arrives, in order, once', async () => {
    const abort = new AbortController();
    await direct.put('p1/a').value('1');
    const feed = collect(viaRelay, 'p1/', abort.signal);
    const first = await feed.next((e) => e.kind === 'snapshot', 'snapshot');
    assert.deepEqual([...(first as Extract<PrefixEvent, { kind: 'snapshot' }>).entries.keys()], ['p1/a']);
    relay.cut();
    await feed.next((e) => e.kind === 'disconnected', 'disconnected');
    for (let i = 0; i < 20; i++) await direct.put(`p1/k${i}`).value(String(i));
    await direct.delete().key('p1/a').exec();
    relay.restore();
    const seen: string[] = [];
    while (seen.length < 21) {
      const ev = await feed.next((e) => e.kind !== 'disconnected', 'the changes made while cut off');
      assert.equal(ev.kind, 'changes', 'resumed, not re-read');
      for (const c of (ev as Extract<PrefixEvent, { kind: 'changes' }>).changes) seen.push(`${c.type} ${c.key}`);
    }
    assert.deepEqual(seen, [...Array.from({ length: 20 }, (_, i) => `put p1/k${i}`), 'delete p1/a']);
    abort.abort();
  });

  it('reads the prefix again when the history it needs was compacted away', async () => {
    const abort = new AbortController();
    await direct.put('p2/a').value('1');
    const feed = collect(viaRelay, 'p2/', abort.signal);
    await feed.next((e) => e.kind === 'snapshot', 'snapshot');
    relay.cut();
    await feed.next((e) => e.kind === 'disconnected', 'disconnected');
    await direct.put('p2/b').value('2');
    const last = await direct.put('p2/c').value('3').exec();
    await direct.kv.compact({ revision: last.header.revision });
    relay.restore();
    const again = await feed.next((e) => e.kind === 'snapshot', 'a new snapshot after the compaction');
    assert.deepEqual([...(again as Extract<PrefixEvent, { kind: 'snapshot' }>).entries.keys()].sort(), ['p2/a', 'p2/b', 'p2/c']);
    abort.abort();
  });
});
