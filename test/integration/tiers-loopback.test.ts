import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { Pool } from '../../src/pool.js';
import { OutlierDetector } from '../../src/resilience/outlier-detector.js';
import type { ServerOptions } from '../../src/server.js';
import { type FaultBackend, faultBackend } from '../../src/testing/fault-backend.js';

/** Backends that write their name and close. */
async function named(names: readonly string[]): Promise<Map<string, FaultBackend>> {
  const list = await Promise.all(names.map((name) => faultBackend({ handler: (s) => s.end(`${name}\n`) })));
  return new Map(names.map((n, i) => [n, list[i]!]));
}

/** One connection through `balancer.connect()`: the name the backend wrote, or `refused`. */
async function connectOnce(balancer: Balancer, detector: OutlierDetector): Promise<string> {
  try {
    const socket = await balancer.connect({ retries: 0, observer: detector });
    socket.setEncoding('utf8');
    let data = '';
    for await (const chunk of socket) data += chunk as string;
    return data.trim();
  } catch {
    return 'refused';
  }
}

async function tally(balancer: Balancer, detector: OutlierDetector, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await connectOnce(balancer, detector);
    out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

describe('tiers and panic over real sockets (switchyard-lb/testing fault backends)', () => {
  it('spills 30 % to priority 1 once an outlier ejection leaves priority 0 at half its servers', async () => {
    const backends = await named(['a1', 'a2', 'b1']);
    try {
      await backends.get('a1')!.set('refuse');
      const servers: ServerOptions[] = [...backends].map(([name, b]) => ({ name, host: b.host, port: b.port, ...(name.startsWith('b') ? { priority: 1 } : {}) }));
      const pool = new Pool('be', { servers });
      const detector = new OutlierDetector(pool, { clock: new ManualClock() });
      const balancer = new Balancer(pool);
      const before = await tally(balancer, detector, 10);
      assert.deepEqual(before, { refused: 5, a2: 5 }, 'priority 1 idle while priority 0 is whole; a1 refuses its 5');
      assert.equal(detector.isEjected(pool.get('a1')), true);
      assert.deepEqual(pool.tiers.map((t) => t.loadPercent), [70, 30]);
      assert.deepEqual(await tally(balancer, detector, 10), { a2: 7, b1: 3 });
      await detector.close();
      await balancer.close();
    } finally {
      await Promise.all([...backends.values()].map((b) => b.close()));
    }
  });

  it('in panic sends connections to ejected servers too, as Envoy does, and not once panic is off', async () => {
    const backends = await named(['a1', 'a2', 'a3']);
    try {
      await backends.get('a1')!.set('refuse');
      await backends.get('a2')!.set('refuse');
      const servers: ServerOptions[] = [...backends].map(([name, b]) => ({ name, host: b.host, port: b.port }));
      const pool = new Pool('be', { servers, panicThresholdPercent: 50 });
      const panics: string[] = [];
      pool.on('tier:panic', (p, panic, pct) => panics.push(`${p} ${panic} ${Math.round(pct)}`));
      const detector = new OutlierDetector(pool, { clock: new ManualClock(), maxEjectionPercent: 100 });
      const balancer = new Balancer(pool);
      await tally(balancer, detector, 15);
      assert.deepEqual(panics, ['0 true 33'], 'a1 ejected: 67 %, no panic; a2 too: a3 alone, 33 % usable, under 50 %');
      assert.equal(pool.tiers[0]!.panic, true);
      const inPanic = await tally(balancer, detector, 9);
      assert.deepEqual(inPanic, { refused: 6, a3: 3 }, 'the ejected a1 and a2 get their share');
      assert.equal(balancer.stats().panicPicks >= 9, true);
      pool.updateTiers({ panicThresholdPercent: 0 });
      assert.deepEqual(await tally(balancer, detector, 6), { a3: 6 });
      await detector.close();
      await balancer.close();
    } finally {
      await Promise.all([...backends.values()].map((b) => b.close()));
    }
  });
});
