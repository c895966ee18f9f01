import assert from 'node:assert/strict';
import { once } from 'node:events';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { PassiveObserver } from '../../src/health/passive-observer.js';
import { Pool } from '../../src/pool.js';
import { OutlierDetector } from '../../src/resilience/outlier-detector.js';
import { fanOutOutcomes } from '../../src/resilience/outcome-fan-out.js';
import { type FaultBackend, faultBackend } from '../../src/testing/fault-backend.js';

/** Three loopback backends; each answers a line with `<name> <reply>` and closes. */
async function backends(replies: readonly string[]): Promise<FaultBackend[]> {
  return Promise.all(
    replies.map((reply, i) =>
      faultBackend({
        handler: (socket) => {
          socket.once('data', () => socket.end(`s${i + 1} ${reply}\n`));
          socket.on('error', () => {});
        },
      }),
    ),
  );
}

function poolOver(list: readonly FaultBackend[]): Pool {
  return new Pool('be', { servers: list.map((b, i) => ({ name: `s${i + 1}`, host: b.host, port: b.port, check: true })) });
}

/** One request: connect through the balancer, write a line, read the reply. `undefined` when the connect failed. */
async function request(balancer: Balancer, observer: ReturnType<typeof fanOutOutcomes>): Promise<string | undefined> {
  let socket: net.Socket;
  try {
    socket = await balancer.connect({ retries: 0, observer });
  } catch {
    return undefined;
  }
  socket.setEncoding('utf8');
  let reply = '';
  socket.on('data', (d: string) => (reply += d));
  socket.write('PING\n');
  await once(socket, 'close');
  return reply.trim();
}

describe('OutlierDetector over real sockets (switchyard-lb/testing fault backends)', () => {
  it('ejects a backend that refuses connections after 5 failures in a row, and takes it back after 30 s', async () => {
    const list = await backends(['OK', 'OK', 'OK']);
    try {
      await list[1]!.set('refuse');
      const pool = poolOver(list);
      const statusBefore = pool.get('s2').status;
      const clock = new ManualClock();
      const detector = new OutlierDetector(pool, { clock });
      const observer = new PassiveObserver(pool);
      const sink = fanOutOutcomes(observer, detector);
      const balancer = new Balancer(pool);
      const ejected: string[] = [];
      detector.on('outlier:eject', (s, reason, ms) => ejected.push(`${s.name} ${reason.kind} ${ms}`));

      const replies: (string | undefined)[] = [];
      for (let i = 0; i < 15; i++) replies.push(await request(balancer, sink));
      assert.equal(replies.filter((r) => r === undefined).length, 5, 's2 took every third connection until ejected');
      assert.deepEqual(ejected, ['s2 consecutive-local-origin-failures 30000']);
      assert.equal(pool.get('s2').usable, false);
      assert.equal(pool.get('s2').status, statusBefore, 'no check ran: the ejection is not a health state');
      assert.equal(observer.consecutiveErrors(pool.get('s2')), 5, 'the passive observer saw the same outcomes');

      const after: (string | undefined)[] = [];
      for (let i = 0; i < 6; i++) after.push(await request(balancer, sink));
      assert.deepEqual(after.map((r) => r?.split(' ')[0]).sort(), ['s1', 's1', 's1', 's3', 's3', 's3']);

      await list[1]!.set('serve');
      clock.advance(30_000);
      assert.equal(pool.get('s2').usable, true);
      const back = new Set<string | undefined>();
      for (let i = 0; i < 3; i++) back.add((await request(balancer, sink))?.split(' ')[0]);
      assert.deepEqual([...back].sort(), ['s1', 's2', 's3']);
      await detector.close();
      await balancer.close();
    } finally {
      await Promise.all(list.map((b) => b.close()));
    }
  });

  it('ejects a backend whose connections work but whose answers fail, as the application reports them', async () => {
    const list = await backends(['OK', 'OK', 'ERR']);
    try {
      const pool = poolOver(list);
      const detector = new OutlierDetector(pool, { clock: new ManualClock() });
      const balancer = new Balancer(pool);
      for (let i = 0; i < 15; i++) {
        const reply = await request(balancer, detector);
        assert.ok(reply !== undefined, 'every connection succeeds');
        const [name, verdict] = reply.split(' ');
        detector.reportResult(pool.get(name!), verdict === 'OK' ? 'success' : 'failure');
      }
      assert.equal(detector.isEjected(pool.get('s3')), true);
      assert.equal(detector.stats().enforced['consecutive-failures'], 1);
      const names = new Set<string>();
      for (let i = 0; i < 6; i++) names.add((await request(balancer, detector))!.split(' ')[0]!);
      assert.deepEqual([...names].sort(), ['s1', 's2']);
      await detector.close();
      await balancer.close();
    } finally {
      await Promise.all(list.map((b) => b.close()));
    }
  });
});
