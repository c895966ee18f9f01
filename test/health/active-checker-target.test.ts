import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { ActiveChecker } from '../../src/health/active-checker.js';
import type { Probe } from '../../src/health/probe.js';
import { Pool } from '../../src/pool.js';
import { run } from './support.js';

/** Pool `fe`: s1 and s2 checked, s3 not; a probe that records where each check connects. */
function setup() {
  const clock = new ManualClock();
  const pool = new Pool('fe', {
    clock,
    servers: [
      { name: 's1', host: '127.0.0.1', port: 19001, check: true },
      { name: 's2', host: '127.0.0.1', port: 19002, check: true, sendProxy: 'v1' },
      { name: 's3', host: '127.0.0.1', port: 19003 },
    ],
  });
  const seen: string[] = [];
  const probe: Probe = async (server, _signal, ctx) => {
    seen.push(`${server.name} ${ctx.host}:${ctx.port}`);
    return { status: 'L4OK' };
  };
  const checker = new ActiveChecker(pool, { probe, interMs: 1000, servers: { s2: { port: 9002 } } });
  return { clock, pool, seen, checker };
}

describe('ActiveChecker.updateServer (HAProxy set server … check-addr|check-port)', () => {
  it('sends the next checks to the new address and port; null goes back to the server\'s own', async () => {
    const { clock, seen, checker } = setup();
    await run(clock, 999);
    assert.deepEqual(seen.splice(0), ['s1 127.0.0.1:19001', 's2 127.0.0.1:9002']);
    assert.deepEqual(checker.target('s2'), { addr: undefined, port: 9002 });
    checker.updateServer('s1', { addr: '127.0.0.9', port: 9001 });
    checker.updateServer('s2', { addr: '::1' });
    assert.deepEqual(checker.target('s1'), { addr: '127.0.0.9', port: 9001 });
    assert.deepEqual(checker.target('s2'), { addr: '::1', port: 9002 });
    await run(clock, 1000);
    assert.deepEqual(seen.splice(0), ['s1 127.0.0.9:9001', 's2 ::1:9002']);
    checker.updateServer('s1', { port: null });
    checker.updateServer('s2', { addr: null, port: null });
    await run(clock, 1000);
    assert.deepEqual(seen.splice(0), ['s1 127.0.0.9:19001', 's2 127.0.0.1:19002']);
    await checker.close();
  });

  it('refuses unknown and unchecked servers and bad values with LbError codes naming the field', async () => {
    const { checker } = setup();
    const code = (fn: () => void): string => {
      try {
        fn();
        return 'no error';
      } catch (e) {
        assert.ok(LbError.is(e));
        return `${e.code} ${e.message}`;
      }
    };
    assert.match(code(() => checker.updateServer('nope', { port: 1 })), /^ERR_LB_UNKNOWN_SERVER/);
    assert.match(code(() => checker.updateServer('s3', { port: 1 })), /^ERR_LB_INVALID_ARG name/);
    assert.match(code(() => checker.updateServer('s1', { port: 0 })), /^ERR_LB_INVALID_ARG port/);
    assert.match(code(() => checker.updateServer('s1', { port: 65536 })), /^ERR_LB_INVALID_ARG port/);
    assert.match(code(() => checker.updateServer('s1', { addr: '' })), /^ERR_LB_INVALID_ARG addr/);
    assert.match(code(() => checker.updateServer('s1', { host: 'x' } as never)), /^ERR_LB_INVALID_ARG check target\.host/);
    // A refused update changes nothing.
    assert.deepEqual(checker.target('s1'), { addr: undefined, port: undefined });
    await checker.close();
  });

  it('forgets the change when the server is removed (a new server of that name starts from its own settings)', async () => {
    const { pool, checker } = setup();
    checker.updateServer('s1', { port: 7 });
    pool.setAdminState('s1', 'maint');
    pool.remove('s1');
    pool.add({ name: 's1', host: '127.0.0.1', port: 19001, check: true });
    assert.deepEqual(checker.target('s1'), { addr: undefined, port: undefined });
    await checker.close();
  });
});
