import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { ActiveChecker, type ActiveCheckerOptions } from '../../src/health/active-checker.js';
import type { CheckResult } from '../../src/state/check-result.js';
import { httpProbe } from '../../src/health/probes/http.js';
import { sendExpectProbe } from '../../src/health/probes/send-expect.js';
import { Pool } from '../../src/pool.js';
import { httpServer, lineServer, refusedPort, synDropListener } from '../health/loopback.js';

/** Generous: these tests wait for events, this only stops a broken test from hanging. */
const SAFETY_MS = 15_000;

/**
 * Waits for one event. The safety timer is a plain (ref'd) timer on purpose: the checker's own timers are
 * unref'd so they never keep a host process alive, and something must keep this test's process alive while
 * it waits.
 */
async function event(emitter: Pool, name: 'server:down' | 'server:up'): Promise<unknown[]> {
  const controller = new AbortController();
  const safety = setTimeout(() => controller.abort(new Error(`no ${name} within ${SAFETY_MS} ms`)), SAFETY_MS);
  try {
    // events.once works with any emitter that has on/off; its typings only know Node's own EventEmitter.
    return await once(emitter as unknown as NodeJS.EventEmitter, name, { signal: controller.signal });
  } finally {
    clearTimeout(safety);
  }
}
const RISE = 2;
const FALL = 3;

const PING = sendExpectProbe([
  { kind: 'send', data: 'PING\r\n' },
  { kind: 'expect', match: 'string', pattern: '+PONG' },
]);

/**
 * One fully-up checked server on 127.0.0.1:port whose fixture is broken from the start: waits for it to go
 * down, repairs the fixture, waits for it to come back. Returns the check results seen in each phase.
 */
async function downThenUp(port: number, options: ActiveCheckerOptions, repair: () => void | Promise<void>) {
  const pool = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port, check: true, rise: RISE, fall: FALL, initState: 'fully-up' }] });
  const before: CheckResult[] = [];
  const after: CheckResult[] = [];
  let repaired = false;
  const record = (_s: unknown, cause: { result: CheckResult }): void => void (repaired ? after : before).push(cause.result);
  pool.on('check:fail', record);
  pool.on('check:pass', record);
  const checker = new ActiveChecker(pool, { concurrency: 4, ...options });
  try {
    const [, downCause] = await event(pool, 'server:down');
    const failuresToGoDown = before.length;
    repaired = true;
    await repair();
    await event(pool, 'server:up');
    return { before, after, failuresToGoDown, downCause, server: pool.get('s1') };
  } finally {
    await checker.close();
  }
}

/** The passes that brought the server up: the trailing run of passed results. */
function trailingPasses(results: readonly CheckResult[]): number {
  let n = 0;
  for (let i = results.length - 1; i >= 0 && ['L4OK', 'L7OK'].includes(results[i]!.status); i--) n++;
  return n;
}

/**
 * Without a check timeout, a check is bounded by `interMs` itself (HAProxy's rule): 20 ms is too short on a busy
 * machine, where the first answer could be late and be recorded L7TOUT. These tests are about the answer, not the
 * timeout, so they give each check a generous one.
 */
const UNDER_LOAD = { timeoutConnectMs: 2000, timeoutCheckMs: 2000 } as const;

describe('ActiveChecker on real loopback sockets', () => {
  it('a refused port: L4CON "Connection refused", down after fall checks, up after rise once it listens', async () => {
    const port = await refusedPort();
    try {
      const r = await downThenUp(port.port, { interMs: 20 }, () => port.open());
      assert.equal(r.failuresToGoDown, FALL);
      assert.deepEqual(r.before.map((x) => [x.status, x.info]), Array(FALL).fill(['L4CON', 'Connection refused']));
      assert.equal(r.server.checkFailures, FALL);
      assert.equal(trailingPasses(r.after), RISE);
      assert.equal(r.after.at(-1)?.status, 'L4OK');
      assert.deepEqual(r.downCause, { source: 'check', result: r.before[FALL - 1] });
    } finally {
      await port.close();
    }
  });

  it('a port that drops SYNs (full backlog): L4TOUT, down after fall checks, up after rise once it accepts', async () => {
    const listener = await synDropListener();
    try {
      const r = await downThenUp(listener.port, { interMs: 100 }, () => listener.release());
      assert.equal(r.failuresToGoDown, FALL);
      assert.deepEqual(r.before.map((x) => x.status), Array(FALL).fill('L4TOUT'));
      assert.ok(r.before.every((x) => x.info === undefined));
      assert.equal(trailingPasses(r.after), RISE);
    } finally {
      await listener.close();
    }
  });

  it('a server that accepts but never answers: L7TOUT at the expect step, then up once it answers', async () => {
    const srv = await lineServer(() => undefined);
    try {
      const r = await downThenUp(srv.port, { interMs: 80, probe: PING }, () => srv.set(() => '+PONG\r\n'));
      assert.equal(r.failuresToGoDown, FALL);
      assert.deepEqual(r.before.map((x) => [x.status, x.info]), Array(FALL).fill(['L7TOUT', " at step 2 of tcp-check (expect string '+PONG')"]));
      assert.equal(trailingPasses(r.after), RISE);
      assert.deepEqual(r.after.at(-1), { status: 'L7OK', code: 0, info: '(tcp-check)', durationMs: r.after.at(-1)!.durationMs });
    } finally {
      await srv.close();
    }
  });

  it('a server that answers the wrong bytes: L7RSP with HAProxy’s text, then up once it answers +PONG', async () => {
    const srv = await lineServer(() => '-ERR unknown command\r\n', true);
    try {
      const r = await downThenUp(srv.port, { interMs: 20, ...UNDER_LOAD, probe: PING }, () => srv.set(() => '+PONG\r\n'));
      assert.equal(r.failuresToGoDown, FALL);
      assert.deepEqual(r.before.map((x) => [x.status, x.info]), Array(FALL).fill(['L7RSP', "TCPCHK did not match content '+PONG' at step 2"]));
      assert.equal(trailingPasses(r.after), RISE);
    } finally {
      await srv.close();
    }
  });

  it('an HTTP server returning 503: L7STS code 503 "Service Unavailable", then up once it returns 200', async () => {
    const srv = await httpServer(503);
    try {
      const r = await downThenUp(srv.port, { interMs: 20, ...UNDER_LOAD, probe: httpProbe({ method: 'GET', path: '/health' }) }, () => srv.setStatus(200));
      assert.equal(r.failuresToGoDown, FALL);
      assert.deepEqual(r.before.map((x) => [x.status, x.code, x.info]), Array(FALL).fill(['L7STS', 503, 'Service Unavailable']));
      assert.equal(trailingPasses(r.after), RISE);
      assert.deepEqual([r.after.at(-1)?.status, r.after.at(-1)?.code], ['L7OK', 200]);
      assert.ok(srv.requests.every((line) => line === 'GET /health HTTP/1.0'));
    } finally {
      await srv.close();
    }
  });

  it('close() leaves no check socket or timer behind', async () => {
    const srv = await lineServer(() => undefined);
    const baseline = count(process.getActiveResourcesInfo());
    const pool = new Pool('be', { servers: Array.from({ length: 20 }, (_, i) => ({ name: `s${i}`, host: '127.0.0.1', port: srv.port, check: true })) });
    const checker = new ActiveChecker(pool, { interMs: 1000, maxSpreadChecksMs: 1, probe: PING, concurrency: 8 });
    // Wait until probes are really in flight (connected and waiting for replies).
    await new Promise<void>((resolve) => {
      const poll = (): void => (srv.received.length >= 8 ? resolve() : void setImmediate(poll));
      poll();
    });
    assert.equal(checker.stats().running, 8);
    await checker.close();
    // Handles close on the next turns of the loop; wait for that, boundedly.
    for (let i = 0; i < 100 && count(process.getActiveResourcesInfo()).TCPSocketWrap > baseline.TCPSocketWrap + srv.connections; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await srv.close();
    for (let i = 0; i < 100 && count(process.getActiveResourcesInfo()).TCPSocketWrap > baseline.TCPSocketWrap; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const now = count(process.getActiveResourcesInfo());
    assert.ok(now.TCPSocketWrap <= baseline.TCPSocketWrap, `sockets: ${now.TCPSocketWrap} now, ${baseline.TCPSocketWrap} before`);
    assert.ok(now.Timeout <= baseline.Timeout, `timers: ${now.Timeout} now, ${baseline.Timeout} before`);
  });
});

function count(resources: readonly string[]): { TCPSocketWrap: number; Timeout: number } {
  return {
    TCPSocketWrap: resources.filter((r) => r === 'TCPSocketWrap').length,
    Timeout: resources.filter((r) => r === 'Timeout').length,
  };
}
