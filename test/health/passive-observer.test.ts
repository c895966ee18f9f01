import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { haproxyLog } from '../../src/haproxy/log/format.js';
import { ActiveChecker } from '../../src/health/active-checker.js';
import { PassiveObserver, type PassiveObserverOptions } from '../../src/health/passive-observer.js';
import type { ConnectOutcome } from '../../src/outcome.js';
import { Pool } from '../../src/pool.js';
import type { ServerOptions } from '../../src/server.js';
import { FakeNetwork, run } from './support.js';

const REFUSED: ConnectOutcome = { kind: 'refused', durationMs: 0 };
const SUCCESS: ConnectOutcome = { kind: 'success', durationMs: 1 };

function setup(observer: PassiveObserverOptions = {}, server: Partial<ServerOptions> = {}) {
  const clock = new ManualClock();
  const pool = new Pool('fe', {
    clock,
    servers: [
      { name: 's1', host: '127.0.0.1', port: 19001, check: true, initState: 'fully-up', ...server },
      { name: 's2', host: '127.0.0.1', port: 19002, check: true, initState: 'fully-up' },
    ],
  });
  const s1 = pool.get('s1');
  return { clock, pool, s1, observer: new PassiveObserver(pool, observer) };
}

function errors(observer: PassiveObserver, server: Parameters<PassiveObserver['reportOutcome']>[0], n: number, outcome: ConnectOutcome = REFUSED): void {
  for (let i = 0; i < n; i++) observer.reportOutcome(server, outcome);
}

describe('PassiveObserver: reference case 32 (observe layer4, error-limit 3, on-error fail-check)', () => {
  it('fails one check at the third consecutive error, then counts from zero again', () => {
    const { pool, s1, observer } = setup({ errorLimit: 3 });
    const lines: string[] = [];
    haproxyLog(pool, (line) => lines.push(line), { logHealthChecks: true });
    errors(observer, s1, 2);
    assert.equal(s1.status, 'UP');
    errors(observer, s1, 1);
    assert.deepEqual([s1.status, s1.observeFailures, s1.checkFailures], ['UP 2/3', 1, 1]);
    assert.deepEqual(lines, [
      'Health check for server fe/s1 failed, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: L4 unsuccessful connection", status: 2/3 UP.',
    ]);
    errors(observer, s1, 2); // #4, #5
    assert.deepEqual([s1.status, s1.observeFailures, s1.checkFailures], ['UP 2/3', 1, 1]);
    assert.equal(observer.consecutiveErrors(s1), 2);
  });
});

describe('PassiveObserver: on-error actions', () => {
  it('defaults to errorLimit 10 and onError fail-check', () => {
    const { s1, observer } = setup();
    assert.deepEqual([observer.errorLimit, observer.onError, observer.observe], [10, 'fail-check', 'layer4']);
    errors(observer, s1, 9);
    assert.equal(s1.status, 'UP');
    errors(observer, s1, 1);
    assert.equal(s1.status, 'UP 2/3');
  });

  it('fastinter changes no state, counts hanafail, and only pulls the next check forward', async () => {
    const { clock, pool, s1, observer } = setup({ errorLimit: 2, onError: 'fastinter' });
    const network = new FakeNetwork(clock, ['s1', 's2']);
    const checker = new ActiveChecker(pool, { probe: network.probe, interMs: 10_000, fastinterMs: 100 });
    await run(clock, 1000);
    errors(observer, s1, 2);
    assert.deepEqual([s1.status, s1.health, s1.observeFailures, s1.checkFailures], ['UP', 4, 1, 0]);
    await run(clock, 150);
    assert.deepEqual(network.checkTimes('s1'), [0, 1100]);
    await checker.close();
  });

  it('does not pull the check forward when fastinterMs is not set', async () => {
    const { clock, pool, s1, observer } = setup({ errorLimit: 2, onError: 'fastinter' });
    const network = new FakeNetwork(clock, ['s1', 's2']);
    const checker = new ActiveChecker(pool, { probe: network.probe, interMs: 10_000 });
    await run(clock, 1000);
    errors(observer, s1, 2);
    await run(clock, 2000);
    assert.deepEqual(network.checkTimes('s1'), [0]);
    await checker.close();
  });

  it('fail-check pulls the next check forward too', async () => {
    const { clock, pool, s1, observer } = setup({ errorLimit: 2 });
    const network = new FakeNetwork(clock, ['s1', 's2']);
    const checker = new ActiveChecker(pool, { probe: network.probe, interMs: 10_000, fastinterMs: 100 });
    await run(clock, 1000);
    errors(observer, s1, 2);
    assert.equal(s1.status, 'UP 2/3');
    await run(clock, 150);
    assert.deepEqual(network.checkTimes('s1'), [0, 1100]);
    assert.equal(s1.status, 'UP');
    await checker.close();
  });

  it('sudden-death leaves a fully-up server at UP 1/fall, so the next failure marks it down', () => {
    const { pool, s1, observer } = setup({ errorLimit: 3, onError: 'sudden-death' });
    errors(observer, s1, 3);
    assert.equal(s1.status, 'UP 1/3');
    pool.reportCheck(s1, { status: 'L4CON', info: 'Connection refused' });
    assert.equal(s1.status, 'DOWN');
  });

  it('mark-down takes the server down at once, with the Health analyze reason', () => {
    const { pool, s1, observer } = setup({ errorLimit: 3, onError: 'mark-down' });
    const lines: string[] = [];
    haproxyLog(pool, (line) => lines.push(line));
    errors(observer, s1, 3);
    assert.deepEqual([s1.status, s1.downTransitions, s1.checkStatus], ['DOWN', 1, 'HANA']);
    assert.deepEqual(lines, [
      'Server fe/s1 is DOWN, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: L4 unsuccessful connection". 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    ]);
  });

  it('emits observe:limit then check:fail with source observe', () => {
    const { pool, s1, observer } = setup({ errorLimit: 1, onError: 'fail-check' });
    const seen: string[] = [];
    pool.on('observe:limit', (_s, action, result) => seen.push(`limit ${action} ${result.status}`));
    pool.on('check:fail', (_s, cause) => seen.push(`fail ${cause.source} ${cause.result.status} ${cause.result.durationMs}`));
    errors(observer, s1, 1);
    assert.deepEqual(seen, ['limit fail-check HANA', 'fail observe HANA undefined']);
  });
});

describe('PassiveObserver: counting', () => {
  it('resets the count on a successful connection', () => {
    const { s1, observer } = setup({ errorLimit: 3 });
    errors(observer, s1, 2);
    observer.reportOutcome(s1, SUCCESS);
    errors(observer, s1, 2);
    assert.equal(s1.status, 'UP');
    assert.equal(observer.consecutiveErrors(s1), 2);
  });

  it('resets the count on a passed active check, not on a failed one', () => {
    const { pool, s1, observer } = setup({ errorLimit: 3 });
    errors(observer, s1, 2);
    pool.reportCheck(s1, { status: 'L4OK' });
    assert.equal(observer.consecutiveErrors(s1), 0);
    errors(observer, s1, 2);
    pool.reportCheck(s1, { status: 'L4CON', info: 'Connection refused' });
    assert.equal(observer.consecutiveErrors(s1), 2);
  });

  it('counts every failed attempt — refused, reset, timeout, error — so each retry counts', () => {
    const { s1, observer } = setup({ errorLimit: 4 });
    // one client connection with retries 3: four failed attempts
    for (const kind of ['refused', 'reset', 'timeout'] as const) observer.reportOutcome(s1, { kind, durationMs: 0 });
    observer.reportOutcome(s1, { kind: 'error', durationMs: 0, code: 'EHOSTUNREACH' });
    assert.equal(s1.observeFailures, 1);
  });

  it('keeps a count per server', () => {
    const { pool, s1, observer } = setup({ errorLimit: 3 });
    errors(observer, s1, 2);
    errors(observer, pool.get('s2'), 2);
    assert.deepEqual([s1.status, pool.get('s2').status], ['UP', 'UP']);
  });

  it('ignores servers without checks, with observe none, and after close', async () => {
    const clock = new ManualClock();
    const pool = new Pool('fe', { clock, servers: [{ name: 'n', host: 'h', port: 1 }, { name: 'c', host: 'h', port: 2, check: true, initState: 'fully-up' }] });
    const observer = new PassiveObserver(pool, { errorLimit: 1, servers: { c: { observe: 'none' } } });
    errors(observer, pool.get('n'), 5);
    errors(observer, pool.get('c'), 5);
    assert.deepEqual([pool.get('n').status, pool.get('c').status], ['no check', 'UP']);
    const other = new PassiveObserver(pool, { errorLimit: 1 });
    await other.close();
    errors(other, pool.get('c'), 5);
    assert.equal(pool.get('c').status, 'UP');
  });

  it('takes per-server settings', () => {
    const { pool, s1, observer } = setup({ errorLimit: 10, servers: { s1: { errorLimit: 1, onError: 'mark-down' } } });
    errors(observer, s1, 1);
    errors(observer, pool.get('s2'), 1);
    assert.deepEqual([s1.status, pool.get('s2').status], ['DOWN', 'UP']);
  });

  it('rejects bad options and outcomes, naming them', () => {
    const pool = new Pool('fe', { servers: [] });
    const invalid = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && pattern.test(err.message));
    invalid(() => new PassiveObserver(pool, { errorLimit: 0 }), /^errorLimit must be a positive integer, got 0$/);
    invalid(() => new PassiveObserver(pool, { onError: 'explode' as never }), /^onError must be one of .*got "explode"$/);
    invalid(() => new PassiveObserver(pool, { observe: 'layer7' as never }), /^observe must be one of 'layer4', 'none', got "layer7"$/);
    const { s1, observer } = setup();
    invalid(() => observer.reportOutcome(s1, { kind: 'oops' } as never), /^outcome\.kind must be/);
    assert.throws(
      () => new PassiveObserver(pool, { servers: { s9: { errorLimit: 1 } } }),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_UNKNOWN_SERVER' && err.message === 'servers.s9: pool "fe" has no server named "s9"',
    );
  });
});
