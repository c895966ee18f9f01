import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ActiveChecker } from '../../src/health/active-checker.js';
import { tcpConnectProbe } from '../../src/health/probes/tcp-connect.js';
import { Pool } from '../../src/pool.js';
import { type NaiveBackend, startNaiveBackend } from '../helpers/naive-backend.js';
import { withTimeout } from '../helpers/timeout.js';

const CHECKS = 20;

/** Resolves at the pool's next passed check. */
function nextPass(pool: Pool): Promise<void> {
  return new Promise((resolve) => pool.once('check:pass', () => resolve()));
}

function count(resources: readonly string[]): number {
  return resources.filter((r) => r === 'TCPSocketWrap').length;
}

describe('plain TCP check (issue 12 item 8)', () => {
  let backend: NaiveBackend;
  before(async () => {
    backend = await startNaiveBackend();
  });
  after(async () => {
    await backend.stop();
  });

  it(`leaves a naive backend without an error handler alive after ${CHECKS} checks, and close() leaves no socket`, async () => {
    const baseline = count(process.getActiveResourcesInfo());
    const clock = new ManualClock();
    const pool = new Pool('fe', { clock, servers: [{ name: 's1', host: '127.0.0.1', port: backend.port, check: true }] });
    const s1 = pool.get('s1');
    const checker = new ActiveChecker(pool, { clock, interMs: 100, probe: tcpConnectProbe() });
    const statuses: string[] = [];
    pool.on('check:pass', (_server, cause) => statuses.push(cause.result.status));
    pool.on('check:fail', (_server, cause) => statuses.push(`${cause.result.status} ${cause.result.info ?? ''}`));
    for (let i = 0; i < CHECKS; i++) {
      const reported = nextPass(pool);
      checker.checkNow(s1);
      clock.advance(0);
      await withTimeout(reported, 5000, () => `check ${i + 1} (results so far: ${statuses.join(', ')})`);
    }
    await checker.close();
    assert.deepEqual(statuses, Array(CHECKS).fill('L4OK'));
    assert.equal(s1.status, 'UP');
    // Every check's close finished before close() resolved: a reset would have killed the backend by now.
    assert.equal(backend.alive, true, 'the naive backend died');
    assert.equal(await backend.greeting(), 'hi\n');
    assert.equal(backend.alive, true, 'the naive backend died');
    for (let i = 0; i < 100 && count(process.getActiveResourcesInfo()) > baseline; i++) await new Promise((r) => setImmediate(r));
    assert.ok(count(process.getActiveResourcesInfo()) <= baseline, 'a check socket outlived close()');
  });

  it('close() waits for the orderly close of a server that keeps its side open, until the check deadline', async () => {
    const net = await import('node:net');
    const held = new Set<import('node:net').Socket>();
    const srv = net.createServer({ allowHalfOpen: true }, (c) => {
      held.add(c);
      c.on('error', () => {});
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as import('node:net').AddressInfo).port;
    try {
      const clock = new ManualClock();
      const pool = new Pool('fe', { clock, servers: [{ name: 's1', host: '127.0.0.1', port, check: true }] });
      const checker = new ActiveChecker(pool, { clock, interMs: 100, probe: tcpConnectProbe() });
      const reported = nextPass(pool);
      checker.checkNow(pool.get('s1'));
      clock.advance(0);
      await withTimeout(reported, 5000, 'the check');
      let closed = false;
      const closing = checker.close().then(() => (closed = true));
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.equal(closed, false, 'close() did not wait for the check connection');
      clock.advance(100);
      await withTimeout(closing, 5000, 'close() after the deadline');
      assert.equal(closed, true);
    } finally {
      for (const c of held) c.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
