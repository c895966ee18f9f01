import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import type { ConnectOutcome } from '../../src/outcome.js';
import { Pool } from '../../src/pool.js';
import { OUTLIER_HOLDER, OutlierDetector, type OutlierDetectorOptions, type OutlierReason } from '../../src/resilience/outlier-detector.js';
import type { Server, ServerOptions } from '../../src/server.js';

const REFUSED: ConnectOutcome = { kind: 'refused', durationMs: 0 };
const CONNECTED: ConnectOutcome = { kind: 'success', durationMs: 1 };

function servers(n: number, extra: Partial<ServerOptions> = {}): ServerOptions[] {
  return Array.from({ length: n }, (_, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port: 20001 + i, ...extra }));
}

function harness(n: number, options: OutlierDetectorOptions = {}, serverExtra: Partial<ServerOptions> = {}) {
  const clock = new ManualClock();
  const pool = new Pool('be', { servers: servers(n, serverExtra), clock });
  const detector = new OutlierDetector(pool, options);
  const events: string[] = [];
  detector.on('outlier:eject', (s, reason, ms, n) => events.push(`eject ${s.name} ${reason.kind} ${ms} #${n}`));
  detector.on('outlier:return', (s, why) => events.push(`return ${s.name} ${why} @${clock.now()}`));
  detector.on('outlier:overflow', (s, reason) => events.push(`overflow ${s.name} ${reason.kind}`));
  return { clock, pool, detector, events, s: (i: number): Server => pool.get(`s${i}`) };
}

function fail(detector: OutlierDetector, server: Server, times: number, outcome: ConnectOutcome = REFUSED): void {
  for (let i = 0; i < times; i++) detector.reportOutcome(server, outcome);
}

/** `volume` transaction results of which `successes` succeed, the failures spread among them. */
function results(detector: OutlierDetector, server: Server, volume: number, successes: number): void {
  let ok = 0;
  for (let i = 1; i <= volume; i++) {
    const success = Math.floor((i * successes) / volume) > ok;
    if (success) ok++;
    detector.reportResult(server, success ? 'success' : 'failure');
  }
}

describe('OutlierDetector: consecutive failures', () => {
  it('ejects a server failing 5 times in a row for 30 s, then for 60 s the second time', () => {
    const { clock, pool, detector, events, s } = harness(10);
    fail(detector, s(1), 4);
    assert.equal(s(1).usable, true, 'four failures are not enough');
    detector.reportOutcome(s(1), REFUSED);
    assert.equal(s(1).usable, false);
    assert.equal(s(1).holds.get(OUTLIER_HOLDER), 'out');
    assert.equal(s(1).status, 'no check', 'an ejection is not a health state');
    assert.equal(s(1).adminState, 'ready');
    assert.deepEqual(events, ['eject s1 consecutive-local-origin-failures 30000 #1']);
    clock.advance(29_999);
    assert.equal(s(1).usable, false);
    clock.advance(1);
    assert.equal(s(1).usable, true);
    assert.equal(events.at(-1), 'return s1 time @30000');
    fail(detector, s(1), 5);
    assert.equal(events.at(-1), 'eject s1 consecutive-local-origin-failures 60000 #2');
    clock.advance(59_999);
    assert.equal(s(1).usable, false);
    clock.advance(1);
    assert.equal(s(1).usable, true);
    assert.deepEqual(detector.stats().enforced['consecutive-local-origin-failures'], 2);
    assert.equal(pool.activeUsable.length, 10);
  });

  it('resets the run on a successful connection', () => {
    const { detector, s } = harness(10);
    fail(detector, s(1), 4);
    detector.reportOutcome(s(1), CONNECTED);
    fail(detector, s(1), 4);
    assert.equal(s(1).usable, true);
    assert.equal(detector.serverStats(s(1)).consecutiveLocalOriginFailures, 4);
  });

  it('counts every failed kind of attempt: refused, reset, timeout, error', () => {
    const { detector, s } = harness(10);
    for (const kind of ['refused', 'reset', 'timeout'] as const) detector.reportOutcome(s(2), { kind, durationMs: 0 });
    detector.reportOutcome(s(2), { kind: 'error', durationMs: 0, code: 'EHOSTUNREACH' });
    detector.reportOutcome(s(2), REFUSED);
    assert.equal(detector.isEjected(s(2)), true);
  });

  it('counts connection failures and reported failures apart (split): neither run breaks the other', () => {
    const { detector, events, s } = harness(10);
    detector.reportResult(s(3), 'failure');
    fail(detector, s(3), 4);
    for (let i = 0; i < 3; i++) detector.reportResult(s(3), 'failure');
    assert.equal(s(3).usable, true, '4 connection failures and 4 reported failures: neither run reached 5');
    assert.deepEqual(detector.serverStats(s(3)), {
      ejected: false, ejections: 0, multiplier: 0, consecutiveFailures: 4, consecutiveLocalOriginFailures: 4,
    });
    detector.reportOutcome(s(3), CONNECTED);
    detector.reportResult(s(3), 'failure');
    assert.deepEqual(events, ['eject s3 consecutive-failures 30000 #1'], 'a good connection does not excuse a failed request');
  });

  it('ejects after consecutiveFailures reported failures; a reported success resets both runs', () => {
    const { detector, events, s } = harness(10, { consecutiveFailures: 3 });
    detector.reportResult(s(4), 'failure');
    detector.reportResult(s(4), 'failure');
    detector.reportResult(s(4), 'success');
    detector.reportResult(s(4), 'failure');
    detector.reportResult(s(4), 'failure');
    assert.equal(s(4).usable, true);
    detector.reportResult(s(4), 'failure');
    assert.equal(s(4).usable, false);
    assert.deepEqual(events, ['eject s4 consecutive-failures 30000 #1']);
  });

  it('without the split, connection failures and reported failures make one run (Envoy consecutive_5xx)', () => {
    const { detector, events, s } = harness(10, { splitLocalOriginErrors: false });
    fail(detector, s(1), 3);
    detector.reportResult(s(1), 'failure');
    detector.reportResult(s(1), 'failure');
    assert.deepEqual(events, ['eject s1 consecutive-failures 30000 #1']);
  });

  it('with 10 servers and maxEjectionPercent 10, only one is ejected at once', () => {
    const { detector, events, s } = harness(10, { maxEjectionPercent: 10 });
    fail(detector, s(1), 5);
    fail(detector, s(2), 5);
    assert.equal(s(1).usable, false);
    assert.equal(s(2).usable, true);
    assert.deepEqual(events, ['eject s1 consecutive-local-origin-failures 30000 #1', 'overflow s2 consecutive-local-origin-failures']);
    assert.equal(detector.stats().overflow, 1);
    assert.equal(detector.stats().ejected, 1);
  });

  it('ejects one server of a small pool by default; with alwaysEjectOneHost false, as Envoy by default, none', () => {
    const small = harness(3);
    fail(small.detector, small.s(1), 5);
    assert.equal(small.s(1).usable, false, '100 × 1 / 3 > 10 %, but one host may always be ejected');
    fail(small.detector, small.s(2), 5);
    assert.equal(small.s(2).usable, true);
    const envoy = harness(3, { alwaysEjectOneHost: false });
    fail(envoy.detector, envoy.s(1), 5);
    assert.equal(envoy.s(1).usable, true);
    assert.deepEqual(envoy.events, ['overflow s1 consecutive-local-origin-failures']);
  });

  it('ejects up to maxEjectionPercent of the servers: 100 × (ejected + 1) / servers ≤ max', () => {
    const { detector, s, pool } = harness(10, { maxEjectionPercent: 30 });
    for (let i = 1; i <= 5; i++) fail(detector, s(i), 5);
    assert.deepEqual(pool.servers.filter((x) => !x.usable).map((x) => x.name), ['s1', 's2', 's3']);
  });
});

describe('OutlierDetector: ejection time', () => {
  it('caps the ejection time at maxEjectionTimeMs', () => {
    const { clock, detector, events, s } = harness(10, { baseEjectionTimeMs: 1000, maxEjectionTimeMs: 2500, intervalMs: 60_000 });
    for (let i = 0; i < 4; i++) {
      fail(detector, s(1), 5);
      clock.advance(3000);
    }
    assert.deepEqual(events.filter((e) => e.startsWith('eject')).map((e) => e.split(' ')[3]), ['1000', '2000', '2500', '2500']);
  });

  it('decreases the multiplier by one for each interval the server stays healthy', () => {
    const { clock, detector, events, s } = harness(10, { baseEjectionTimeMs: 1000, intervalMs: 10_000 });
    fail(detector, s(1), 5);
    clock.advance(1000);
    fail(detector, s(1), 5);
    clock.advance(2000);
    assert.equal(detector.serverStats(s(1)).multiplier, 2);
    clock.advance(10_000 - 3000); // first sweep at 10 s: back for 7 s only, not a whole interval
    assert.equal(detector.serverStats(s(1)).multiplier, 2);
    clock.advance(10_000);
    assert.equal(detector.serverStats(s(1)).multiplier, 1);
    clock.advance(10_000);
    assert.equal(detector.serverStats(s(1)).multiplier, 0);
    fail(detector, s(1), 5);
    assert.equal(events.at(-1), 'eject s1 consecutive-local-origin-failures 1000 #3');
  });

  it('adds up to maxEjectionTimeJitterMs of random time', () => {
    const { detector, events, s } = harness(10, { maxEjectionTimeJitterMs: 1000, random: () => 0.5 });
    fail(detector, s(1), 5);
    assert.deepEqual(events, ['eject s1 consecutive-local-origin-failures 30500 #1']);
  });

  it('shows the time left of an ejection', () => {
    const { clock, detector, s } = harness(10);
    fail(detector, s(1), 5);
    clock.advance(12_000);
    assert.equal(detector.serverStats(s(1)).returnInMs, 18_000);
  });
});

/** Runs of failures never reach the consecutive rules here: only the rates decide. */
const RATES_ONLY: OutlierDetectorOptions = { consecutiveFailures: 1_000_000, consecutiveLocalOriginFailures: 1_000_000 };

describe('OutlierDetector: success rate and failure percentage', () => {
  it('ejects at the sweep a server below mean − 1.9 × stdev (Envoy: rates 50,100,100,100,100 → threshold 52)', () => {
    const { clock, detector, events, s } = harness(5, RATES_ONLY);
    results(detector, s(1), 100, 50);
    for (let i = 2; i <= 5; i++) results(detector, s(i), 100, 100);
    assert.equal(s(1).usable, true, 'nothing before the sweep');
    clock.advance(10_000);
    assert.equal(s(1).usable, false);
    assert.deepEqual(events, ['eject s1 success-rate 30000 #1']);
  });

  it('reports the numbers that decided a success-rate ejection', () => {
    const { clock, detector, s } = harness(5, RATES_ONLY);
    let reason: OutlierReason | undefined;
    detector.on('outlier:eject', (_s, r) => (reason = r));
    results(detector, s(1), 100, 50);
    for (let i = 2; i <= 5; i++) results(detector, s(i), 100, 100);
    clock.advance(10_000);
    assert.deepEqual(reason, { kind: 'success-rate', successRate: 50, mean: 90, threshold: 52 });
  });

  it('needs successRateMinimumHosts servers with successRateRequestVolume outcomes in the interval', () => {
    const { clock, detector, s } = harness(5, RATES_ONLY);
    results(detector, s(1), 100, 50);
    for (let i = 2; i <= 4; i++) results(detector, s(i), 100, 100);
    results(detector, s(5), 99, 99);
    clock.advance(10_000);
    assert.equal(s(1).usable, true, 'only 4 servers reached the volume');
  });

  it('evaluates the interval that just ended, not the outcomes of the one before', () => {
    const { clock, detector, s } = harness(5, RATES_ONLY);
    results(detector, s(1), 100, 50);
    for (let i = 2; i <= 5; i++) results(detector, s(i), 100, 100);
    detector.sweep();
    assert.equal(s(1).usable, false);
    clock.advance(30_000);
    assert.equal(s(1).usable, true);
    detector.sweep();
    assert.equal(s(1).usable, true, 'the next interval had no outcomes');
  });

  it('uses connection outcomes for the local-origin success rate when split', () => {
    const { clock, detector, events, s } = harness(5, RATES_ONLY);
    for (let i = 1; i <= 5; i++) {
      for (let k = 0; k < 100; k++) detector.reportOutcome(s(i), i === 2 && k % 2 === 0 ? REFUSED : CONNECTED);
    }
    clock.advance(10_000);
    assert.deepEqual(events, ['eject s2 local-origin-success-rate 30000 #1']);
  });

  it('ejects at or above failurePercentageThreshold only when enforced (Envoy enforces it 0 % by default)', () => {
    const off = harness(5, { ...RATES_ONLY, maxEjectionPercent: 100 });
    for (let i = 1; i <= 5; i++) results(off.detector, off.s(i), 50, i === 1 ? 7 : 50);
    off.clock.advance(10_000);
    assert.equal(off.s(1).usable, true);
    const on = harness(5, { ...RATES_ONLY, maxEjectionPercent: 100, enforcingFailurePercentage: 100, enforcingSuccessRate: 0 });
    for (let i = 1; i <= 5; i++) results(on.detector, on.s(i), 50, i === 1 ? 7 : i === 2 ? 8 : 50);
    on.clock.advance(10_000);
    assert.deepEqual(on.events, ['eject s1 failure-percentage 30000 #1']);
    assert.equal(on.s(2).usable, true, '84 % is under 85 %');
    assert.equal(on.detector.stats().detected['failure-percentage'], 1);
  });

  it('draws the enforcement chance from the injected random', () => {
    const draws = [0.7, 0.2];
    const { detector, events, s } = harness(10, { enforcingConsecutiveLocalOriginFailures: 50, random: () => draws.shift() ?? 0 });
    fail(detector, s(1), 5);
    assert.equal(s(1).usable, true, '70 ≥ 50: detected, not ejected');
    fail(detector, s(1), 5);
    assert.equal(s(1).usable, false);
    assert.equal(detector.stats().detected['consecutive-local-origin-failures'], 2);
    assert.deepEqual(events, ['eject s1 consecutive-local-origin-failures 30000 #1']);
  });
});

describe('OutlierDetector: the pool and the balancer', () => {
  it('an ejected server is not picked until it returns', () => {
    const { clock, pool, detector, s } = harness(3);
    const balancer = new Balancer(pool);
    fail(detector, s(2), 5);
    const picked = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const lease = balancer.tryAcquire()!;
      picked.add(lease.server.name);
      lease.release();
    }
    assert.deepEqual([...picked].sort(), ['s1', 's3']);
    clock.advance(30_000);
    for (let i = 0; i < 6; i++) {
      const lease = balancer.tryAcquire()!;
      picked.add(lease.server.name);
      lease.release();
    }
    assert.deepEqual([...picked].sort(), ['s1', 's2', 's3']);
  });

  it('a passed active check ends an ejection; not with successfulCheckUnejects false', () => {
    const a = harness(10, {}, { check: true });
    fail(a.detector, a.s(1), 5);
    a.pool.reportCheck(a.s(1), { status: 'L4OK' });
    assert.equal(a.s(1).usable, true);
    assert.equal(a.events.at(-1), 'return s1 check @0');
    const b = harness(10, { successfulCheckUnejects: false }, { check: true });
    fail(b.detector, b.s(1), 5);
    b.pool.reportCheck(b.s(1), { status: 'L4OK' });
    assert.equal(b.s(1).usable, false);
  });

  it('an operator lifting the hold ends the ejection', () => {
    const { clock, pool, detector, events, s } = harness(10);
    fail(detector, s(1), 5);
    pool.setHold('s1', OUTLIER_HOLDER, undefined);
    assert.equal(detector.isEjected(s(1)), false);
    assert.equal(events.at(-1), 'return s1 admin @0');
    clock.advance(30_000);
    assert.equal(events.length, 2, 'the cancelled ejection timer does not fire');
  });

  it('forgets a server removed from the pool, ejected or not, and ignores servers of other pools', () => {
    const { clock, pool, detector, events, s } = harness(10);
    fail(detector, s(1), 5);
    pool.remove('s1');
    assert.equal(detector.stats().ejected, 0);
    clock.advance(30_000);
    assert.equal(events.length, 1);
    const other = new Pool('other', { servers: servers(1) });
    fail(detector, other.get('s1'), 10);
    assert.equal(other.get('s1').usable, true);
  });

  it('close lifts every hold and stops the sweep', async () => {
    const { clock, detector, events, s } = harness(10, { maxEjectionPercent: 20 });
    fail(detector, s(1), 5);
    fail(detector, s(2), 5);
    await detector.close();
    assert.equal(s(1).usable && s(2).usable, true);
    assert.deepEqual(events.slice(2), ['return s1 closed @0', 'return s2 closed @0']);
    assert.equal(clock.pending, 0);
    fail(detector, s(3), 5);
    assert.equal(s(3).usable, true);
  });

  it('keeps its hold apart from other holders', () => {
    const { clock, pool, detector, s } = harness(10);
    pool.setHold('s1', 'xds', 'drain');
    fail(detector, s(1), 5);
    clock.advance(30_000);
    assert.equal(s(1).usable, false, 'the control plane still drains it');
    assert.equal(s(1).holds.get(OUTLIER_HOLDER), undefined);
  });
});

describe('OutlierDetector: options', () => {
  it('names the option and the value it refuses', () => {
    const pool = new Pool('be', { servers: servers(1) });
    const refused = (options: unknown, pattern: RegExp): void => {
      assert.throws(() => new OutlierDetector(pool, options as OutlierDetectorOptions), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && pattern.test(err.message));
    };
    refused({ maxEjectionPercent: 101 }, /maxEjectionPercent.*101/);
    refused({ intervalMs: 0 }, /intervalMs/);
    refused({ baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 5000 }, /maxEjectionTimeMs.*5000/);
    refused({ consecutiveFailures: 0 }, /consecutiveFailures/);
    refused({ successRateStdevFactor: -1 }, /successRateStdevFactor.*-1/);
    refused({ consecutive5xx: 5 }, /consecutive5xx/);
    assert.throws(() => new OutlierDetector(pool).reportOutcome(pool.get('s1'), { kind: 'nope' } as never), /outcome\.kind/);
    assert.throws(() => new OutlierDetector(pool).reportResult(pool.get('s1'), 'ok' as never), /result.*ok/);
  });

  it('takes maxEjectionTimeMs from baseEjectionTimeMs when that is larger than 300 s (Envoy)', () => {
    const pool = new Pool('be', { servers: servers(1) });
    assert.equal(new OutlierDetector(pool, { baseEjectionTimeMs: 400_000 }).options.maxEjectionTimeMs, 400_000);
  });
});
