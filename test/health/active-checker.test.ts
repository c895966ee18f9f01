import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { haproxyLog } from '../../src/haproxy/log/format.js';
import { ActiveChecker, type ActiveCheckerOptions } from '../../src/health/active-checker.js';
import type { CheckResult } from '../../src/state/check-result.js';
import type { Probe, ProbeContext } from '../../src/health/probe.js';
import { Pool } from '../../src/pool.js';
import type { ServerOptions } from '../../src/server.js';
import { FakeNetwork, flush, run, statusTimeline } from './support.js';

/** Pool `fe` with servers s1..sN (checked) and a fake network where they all start open. */
function setup(n: number, server: Partial<ServerOptions> = {}) {
  const clock = new ManualClock();
  const names = Array.from({ length: n }, (_, i) => `s${i + 1}`);
  const pool = new Pool('fe', {
    clock,
    servers: names.map((name, i) => ({ name, host: '127.0.0.1', port: 19001 + i, check: true, ...server })),
  });
  const network = new FakeNetwork(clock, names);
  const lines: string[] = [];
  return { clock, pool, network, lines };
}

function checker(pool: Pool, probe: Probe, options: ActiveCheckerOptions = {}): ActiveChecker {
  return new ActiveChecker(pool, { probe, ...options });
}

describe('ActiveChecker: reference cases (§10 B)', () => {
  it('21: reads intervals in milliseconds — interMs 4 checks every 4 ms, interMs 4000 not again within 2 s', async () => {
    const fast = setup(1);
    const c1 = checker(fast.pool, fast.network.probe, { interMs: 4 });
    await run(fast.clock, 1999);
    assert.equal(fast.network.checks.length, 500);
    await c1.close();

    const slow = setup(1);
    const c2 = checker(slow.pool, slow.network.probe, { interMs: 4000 });
    await run(slow.clock, 1999);
    assert.deepEqual(slow.network.checkTimes('s1'), [0]);
    await c2.close();
  });

  it('22: leaves an unchecked second server at UP 1/3 (INI, health = rise) while the first is checked and UP', async () => {
    const { clock, pool, network } = setup(2);
    network.close('s2');
    const c = checker(pool, network.probe, { interMs: 2000 });
    await run(clock, 300);
    const [s1, s2] = [pool.get('s1'), pool.get('s2')];
    assert.deepEqual([s1.status, s1.checkStatus, s1.health], ['UP', 'L4OK', 4]);
    assert.deepEqual([s2.status, s2.checkStatus, s2.health], ['UP 1/3', 'INI', 2]);
    await c.close();
  });

  it('23: marks the second server DOWN at its first check, half an interval in, with one chkfail and one chkdown', async () => {
    const { clock, pool, network, lines } = setup(2);
    network.close('s2');
    haproxyLog(pool, (line) => lines.push(line));
    const timeline = statusTimeline(pool, clock, 's2');
    const c = checker(pool, network.probe, { interMs: 2000 });
    await run(clock, 1500);
    assert.deepEqual(timeline, [[1000, 'DOWN']]);
    assert.deepEqual([pool.get('s2').checkFailures, pool.get('s2').downTransitions], [1, 1]);
    assert.deepEqual(lines, [
      'Server fe/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    ]);
    await c.close();
  });

  it('24: takes fall = 3 failed checks, one interval apart, to mark a fully-up server DOWN; chkfail stays 3 while down', async () => {
    const { clock, pool, network, lines } = setup(2, { rise: 2, fall: 3 });
    haproxyLog(pool, (line) => lines.push(line), { logHealthChecks: true });
    const timeline = statusTimeline(pool, clock, 's1');
    const c = checker(pool, network.probe, { interMs: 300 });
    await run(clock, 1250);
    network.close('s1'); // between the checks at 1200 and 1500
    lines.length = 0;
    await run(clock, 2000);
    assert.deepEqual(timeline, [[0, 'UP'], [1500, 'UP 2/3'], [1800, 'UP 1/3'], [2100, 'DOWN']]);
    assert.equal(pool.get('s1').checkFailures, 3);
    const fail = 'Health check for server fe/s1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms';
    assert.deepEqual(lines, [
      `${fail}, status: 2/3 UP.`,
      `${fail}, status: 1/3 UP.`,
      `${fail}, status: 0/2 DOWN.`,
      'Server fe/s1 is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    ]);
    await c.close();
  });

  it('25: takes rise = 2 passed checks to bring it back UP, logging as HAProxy does with and without log-health-checks', async () => {
    const { clock, pool, network, lines } = setup(2, { rise: 2, fall: 3 });
    const plain: string[] = [];
    haproxyLog(pool, (line) => lines.push(line), { logHealthChecks: true });
    haproxyLog(pool, (line) => plain.push(line));
    const timeline = statusTimeline(pool, clock, 's1');
    const c = checker(pool, network.probe, { interMs: 300 });
    network.close('s1');
    await run(clock, 1000);
    assert.equal(pool.get('s1').status, 'DOWN');
    lines.length = 0;
    plain.length = 0;
    timeline.length = 0;
    network.open('s1'); // at 1000, between the checks at 900 and 1200
    await run(clock, 1000);
    assert.deepEqual(timeline, [[1200, 'DOWN 1/2'], [1500, 'UP']]);
    const ok = 'Health check for server fe/s1 succeeded, reason: Layer4 check passed, check duration: 0ms';
    assert.deepEqual(lines, [
      `${ok}, status: 1/2 DOWN.`,
      `${ok}, status: 3/3 UP.`,
      'Server fe/s1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    ]);
    assert.deepEqual(plain, [
      'Server fe/s1 is UP, reason: Layer4 check passed, check duration: 0ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    ]);
    await c.close();
  });

  it('26: checks at fastinter while in transition and at downinter while fully down', async () => {
    const { clock, pool, network } = setup(1);
    const timeline = statusTimeline(pool, clock, 's1');
    const c = checker(pool, network.probe, { interMs: 300, fastinterMs: 100, downinterMs: 700 });
    await run(clock, 1202);
    network.close('s1');
    await run(clock, 1298); // t = 2500
    network.open('s1');
    await run(clock, 1000);
    assert.deepEqual(timeline, [[0, 'UP'], [1500, 'UP 2/3'], [1600, 'UP 1/3'], [1700, 'DOWN'], [3100, 'DOWN 1/2'], [3200, 'UP']]);
    const times = network.checkTimes('s1');
    assert.deepEqual(times.filter((t) => t >= 1500 && t <= 3200), [1500, 1600, 1700, 2400, 3100, 3200]);
    assert.deepEqual(times.filter((t) => t < 1500), [0, 300, 600, 900, 1200]);
    await c.close();
  });
});

describe('ActiveChecker: scheduling', () => {
  it('spreads the first checks over the interval in declaration order', async () => {
    const { clock, pool, network } = setup(4);
    const c = checker(pool, network.probe, { interMs: 2000 });
    await run(clock, 1600);
    assert.deepEqual(network.checks.map((x) => [x.at, x.server]), [[0, 's1'], [500, 's2'], [1000, 's3'], [1500, 's4']]);
    await c.close();
  });

  it('spreads by the smallest interval of at least one second, each server by at least its own', async () => {
    const { clock, pool, network } = setup(2);
    const c = checker(pool, network.probe, { interMs: 2000, servers: { s2: { interMs: 6000 } } });
    await run(clock, 3100);
    assert.deepEqual(network.checks.map((x) => [x.at, x.server]), [[0, 's1'], [2000, 's1'], [3000, 's2']]);
    await c.close();
  });

  it('caps the spread with maxSpreadChecksMs', async () => {
    const { clock, pool, network } = setup(4);
    const c = checker(pool, network.probe, { interMs: 2000, maxSpreadChecksMs: 400 });
    await run(clock, 350);
    assert.deepEqual(network.checks.map((x) => x.at), [0, 100, 200, 300]);
    await c.close();
  });

  it('schedules the next check one interval after the previous one completed, not at a fixed rate', async () => {
    const { clock, pool } = setup(1, { initState: 'fully-up' });
    const starts: number[] = [];
    const slow: Probe = (_s, _signal, ctx) =>
      new Promise((resolve) => {
        starts.push(clock.now());
        ctx.clock.setTimeout(() => resolve({ status: 'L4OK' }), 30);
      });
    const c = checker(pool, slow, { interMs: 100 });
    await run(clock, 300);
    assert.deepEqual(starts, [0, 130, 260]);
    await c.close();
  });

  it('adds ± spreadChecks percent of jitter to each interval', async () => {
    const { clock, pool, network } = setup(1, { initState: 'fully-up' });
    const c = checker(pool, network.probe, { interMs: 1000, spreadChecks: 10, random: () => 0 });
    await run(clock, 2300);
    assert.deepEqual(network.checkTimes('s1'), [0, 1100, 2200]);
    await c.close();
  });

  it('checks the port and address overrides instead of the server’s', async () => {
    const { clock, pool } = setup(2);
    const seen: string[] = [];
    const probe: Probe = async (server, _signal, ctx) => {
      seen.push(`${server.name} ${ctx.host}:${ctx.port}`);
      return { status: 'L4OK' };
    };
    const c = checker(pool, probe, { interMs: 2000, port: 9000, servers: { s2: { addr: '127.0.0.2', port: 9002 } } });
    await run(clock, 1000);
    assert.deepEqual(seen, ['s1 127.0.0.1:9000', 's2 127.0.0.2:9002']);
    await c.close();
  });

  it('does not probe a server in maintenance, and checks it at its next regular time when it leaves (as HAProxy 2.6 does)', async () => {
    const { clock, pool, network } = setup(1);
    pool.setAdminState('s1', 'maint');
    const c = checker(pool, network.probe, { interMs: 1000 });
    await run(clock, 2500);
    assert.deepEqual(network.checks, []);
    pool.setAdminState('s1', 'ready');
    assert.equal(pool.get('s1').status, 'UP 1/3');
    await run(clock, 499);
    assert.deepEqual(network.checks, [], 'no check before the regular time');
    await run(clock, 1);
    assert.deepEqual(network.checkTimes('s1'), [3000]);
    await c.close();
  });

  it('does not probe a server whose checks are disabled through the pool, and resumes at its next regular time', async () => {
    const { clock, pool, network } = setup(2);
    const c = checker(pool, network.probe, { interMs: 1000 });
    pool.setChecksEnabled('s2', false);
    assert.equal(pool.get('s2').status, 'no check');
    await run(clock, 2999);
    assert.deepEqual(network.checkTimes('s1'), [0, 1000, 2000]);
    assert.deepEqual(network.checkTimes('s2'), [], 'no probe while disabled');
    network.close('s2');
    pool.setChecksEnabled('s2', true);
    assert.equal(pool.get('s2').status, 'UP 1/3', 'the counter kept where it was');
    await run(clock, 1000);
    assert.deepEqual(network.checkTimes('s2'), [3500]);
    assert.equal(pool.get('s2').status, 'DOWN');
    await c.close();
  });

  it('checks a server added later at once, and stops checking a removed one', async () => {
    const { clock, pool, network } = setup(1);
    const c = checker(pool, network.probe, { interMs: 1000 });
    await run(clock, 100);
    pool.add({ name: 's9', host: '127.0.0.1', port: 19009, check: true });
    network.open('s9');
    await run(clock, 1);
    assert.deepEqual(network.checkTimes('s9'), [100]);
    pool.remove('s1');
    await run(clock, 3000);
    assert.deepEqual(network.checkTimes('s1'), [0]);
    await c.close();
  });

  it('ignores servers without check: true', async () => {
    const clock = new ManualClock();
    const pool = new Pool('fe', { clock, servers: [{ name: 'n', host: '127.0.0.1', port: 1 }] });
    const network = new FakeNetwork(clock, ['n']);
    const c = checker(pool, network.probe);
    await run(clock, 3000);
    assert.deepEqual(network.checks, []);
    await c.close();
  });

  it('checkNow pulls a check forward', async () => {
    const { clock, pool, network } = setup(1, { initState: 'fully-up' });
    const c = checker(pool, network.probe, { interMs: 1000 });
    await run(clock, 200);
    c.checkNow(pool.get('s1'));
    await run(clock, 1);
    assert.deepEqual(network.checkTimes('s1'), [0, 200]);
    await c.close();
  });
});

describe('ActiveChecker: timeouts', () => {
  /** A probe that never settles on its own; it records the abort reason. */
  function hanging(setup: (ctx: ProbeContext) => void = () => {}) {
    const aborts: string[] = [];
    const probe: Probe = (_server, signal, ctx) =>
      new Promise(() => {
        setup(ctx);
        signal.addEventListener('abort', () => aborts.push((signal.reason as Error).name));
      });
    return { probe, aborts };
  }

  function results(pool: Pool): CheckResult[] {
    const out: CheckResult[] = [];
    pool.on('check:fail', (_s, cause) => out.push(cause.result));
    pool.on('check:pass', (_s, cause) => out.push(cause.result));
    return out;
  }

  it('without timeoutCheckMs, bounds the whole check by interMs and reports the probe’s timeout status', async () => {
    const { clock, pool } = setup(1);
    const { probe, aborts } = hanging((ctx) => ctx.setTimeoutResult({ status: 'L4TOUT' }));
    const seen = results(pool);
    const c = checker(pool, probe, { interMs: 800 });
    await run(clock, 850);
    assert.deepEqual(seen, [{ status: 'L4TOUT', durationMs: 800 }]);
    assert.deepEqual(aborts, ['TimeoutError']);
    await c.close();
  });

  it('bounds by interMs even when the check was scheduled by fastinter', async () => {
    const { clock, pool } = setup(1);
    const { probe } = hanging((ctx) => ctx.setTimeoutResult({ status: 'L4TOUT' }));
    const seen = results(pool);
    const c = checker(pool, probe, { interMs: 800, fastinterMs: 100 });
    await run(clock, 850);
    assert.equal(seen[0]?.durationMs, 800);
    await c.close();
  });

  it('reports PROCTOUT for a user function that ignores the deadline', async () => {
    const { clock, pool } = setup(1);
    const { probe } = hanging();
    const seen = results(pool);
    const c = checker(pool, probe, { interMs: 500 });
    await run(clock, 501);
    assert.deepEqual(seen, [{ status: 'PROCTOUT', durationMs: 500 }]);
    await c.close();
  });

  it('with timeoutCheckMs, bounds connecting by min(inter, timeoutConnectMs)', async () => {
    const { clock, pool } = setup(1);
    const { probe } = hanging((ctx) => ctx.setTimeoutResult({ status: 'L4TOUT' }));
    const seen = results(pool);
    const c = checker(pool, probe, { interMs: 1000, timeoutCheckMs: 300, timeoutConnectMs: 100 });
    await run(clock, 150);
    assert.deepEqual(seen, [{ status: 'L4TOUT', durationMs: 100 }]);
    await c.close();
  });

  it('with timeoutCheckMs, gives the exchange timeoutCheckMs from the moment the probe is connected', async () => {
    const { clock, pool } = setup(1);
    const { probe } = hanging((ctx) => {
      ctx.setTimeoutResult({ status: 'L4TOUT' });
      ctx.clock.setTimeout(() => {
        ctx.connected();
        ctx.setTimeoutResult({ status: 'L7TOUT', info: ' at step 1 of tcp-check (expect string \'hello\')' });
      }, 50);
    });
    const seen = results(pool);
    const c = checker(pool, probe, { interMs: 1000, timeoutCheckMs: 300, timeoutConnectMs: 100 });
    await run(clock, 400);
    assert.deepEqual(seen, [{ status: 'L7TOUT', info: " at step 1 of tcp-check (expect string 'hello')", durationMs: 350 }]);
    await c.close();
  });

  it('with timeoutCheckMs and no connect timeout, bounds connecting by interMs', async () => {
    const { clock, pool } = setup(1);
    const { probe } = hanging((ctx) => ctx.setTimeoutResult({ status: 'L4TOUT' }));
    const seen = results(pool);
    const c = checker(pool, probe, { interMs: 600, timeoutCheckMs: 5000 });
    await run(clock, 700);
    assert.equal(seen[0]?.durationMs, 600);
    await c.close();
  });
});

describe('ActiveChecker: probes as plain async functions', () => {
  function first(pool: Pool): Promise<CheckResult> {
    return new Promise((resolve) => {
      pool.once('check:pass', (_s, cause) => resolve(cause.result));
      pool.once('check:fail', (_s, cause) => resolve(cause.result));
    });
  }

  it('treats a function that resolves with nothing as passed (PROCOK)', async () => {
    const { clock, pool } = setup(1);
    const result = first(pool);
    const c = checker(pool, async () => {});
    await run(clock, 1);
    assert.deepEqual(await result, { status: 'PROCOK', code: 0, durationMs: 0 });
    await c.close();
  });

  it('treats a rejection as failed (PROCERR with the message)', async () => {
    const { clock, pool } = setup(1);
    const result = first(pool);
    const c = checker(pool, async () => {
      throw new Error('is a replica');
    });
    await run(clock, 1);
    assert.deepEqual(await result, { status: 'PROCERR', code: 1, info: 'is a replica', durationMs: 0 });
    assert.equal(pool.get('s1').status, 'DOWN');
    await c.close();
  });

  it('words a driver’s connection error as HAProxy does (L4CON Connection refused)', async () => {
    const { clock, pool } = setup(1);
    const result = first(pool);
    const c = checker(pool, async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    await run(clock, 1);
    assert.deepEqual(await result, { status: 'L4CON', info: 'Connection refused', durationMs: 0 });
    await c.close();
  });
});

describe('ActiveChecker: concurrency and shutdown', () => {
  it('never runs more than `concurrency` probes at once, and gets through all of them', async () => {
    const { clock, pool } = setup(50, { initState: 'fully-up' });
    let running = 0;
    let most = 0;
    const probe: Probe = (_s, _signal, ctx) =>
      new Promise((resolve) => {
        running++;
        most = Math.max(most, running);
        ctx.clock.setTimeout(() => {
          running--;
          resolve({ status: 'L4OK' });
        }, 10);
      });
    const c = checker(pool, probe, { interMs: 100_000, maxSpreadChecksMs: 1, concurrency: 5 });
    await run(clock, 5);
    assert.equal(c.stats().running, 5);
    assert.equal(c.stats().waiting, 45);
    await run(clock, 200);
    assert.equal(most, 5);
    assert.equal(c.stats().maxRunning, 5);
    assert.equal(c.stats().completed, 50);
    await c.close();
  });

  it('stop() aborts the probes in flight, drops their results, settles, and leaves no timer behind', async () => {
    const { clock, pool } = setup(10);
    const aborted: unknown[] = [];
    const probe: Probe = (_s, signal) =>
      new Promise(() => {
        signal.addEventListener('abort', () => aborted.push(signal.reason));
      });
    let reports = 0;
    pool.on('check:fail', () => reports++);
    pool.on('check:pass', () => reports++);
    const c = checker(pool, probe, { interMs: 1000, maxSpreadChecksMs: 1, concurrency: 4 });
    await run(clock, 2);
    assert.equal(c.stats().running, 4);
    await c.stop();
    assert.equal(aborted.length, 4);
    assert.ok(aborted.every((r) => LbError.is(r) && r.code === 'ERR_LB_ABORTED'));
    assert.equal(c.stats().running, 0);
    assert.equal(c.stats().waiting, 0);
    assert.equal(clock.pending, 0);
    assert.equal(c.running, false);
    await run(clock, 3000);
    assert.equal(reports, 0);
    assert.equal(aborted.length, 4);
  });

  it('can start again after stop(), and close() is idempotent and final', async () => {
    const { clock, pool, network } = setup(1);
    const c = checker(pool, network.probe, { interMs: 1000 });
    await run(clock, 10);
    await c.stop();
    c.start();
    await run(clock, 10);
    assert.deepEqual(network.checkTimes('s1'), [0, 10]);
    const closing = c.close();
    assert.equal(c.close(), closing);
    await closing;
    assert.throws(() => c.start(), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_CLOSED');
  });

  it('does not start with autoStart: false until start()', async () => {
    const { clock, pool, network } = setup(1);
    const c = checker(pool, network.probe, { autoStart: false });
    await run(clock, 3000);
    assert.deepEqual(network.checks, []);
    c.start();
    await flush();
    await run(clock, 0);
    assert.deepEqual(network.checkTimes('s1'), [3000]);
    await c.close();
  });
});

describe('ActiveChecker: options', () => {
  const pool = () => setup(1).pool;
  const invalid = (options: ActiveCheckerOptions, pattern: RegExp) =>
    assert.throws(() => new ActiveChecker(pool(), { autoStart: false, ...options }), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && pattern.test(err.message));

  it('rejects bad values, naming the option and the value', () => {
    invalid({ interMs: -1 }, /^interMs must be a positive number of milliseconds, got -1$/);
    invalid({ interMs: 0 }, /^interMs .* got 0$/);
    invalid({ spreadChecks: 60 }, /^spreadChecks must be an integer from 0 to 50, got 60$/);
    invalid({ concurrency: 0 }, /^concurrency must be a positive integer, got 0$/);
    invalid({ servers: { s1: { port: 70000 } } }, /^servers\.s1\.port must be an integer from 1 to 65535, got 70000$/);
    invalid({ interval: 5 } as unknown as ActiveCheckerOptions, /^checker options\.interval is not a known option/);
    invalid({ probe: 'tcp' as unknown as Probe }, /^probe must be an async function/);
  });

  it('refuses a per-server override of a server the pool does not have, or of one without checks', () => {
    const p = new Pool('fe', { servers: [{ name: 's1', host: '127.0.0.1', port: 1, check: true }, { name: 'n', host: '127.0.0.1', port: 2 }] });
    assert.throws(
      () => new ActiveChecker(p, { autoStart: false, servers: { s9: { interMs: 100 } } }),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_UNKNOWN_SERVER' && err.message === 'servers.s9: pool "fe" has no server named "s9"',
    );
    assert.throws(
      () => new ActiveChecker(p, { autoStart: false, servers: { n: { interMs: 100 } } }),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && /^servers\.n names a server without check: true/.test(err.message),
    );
  });

  it('warns once when started over a pool none of whose servers has check: true, and not over an empty pool', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if ((w as NodeJS.ErrnoException).code === 'SWITCHYARD_NOTHING_TO_CHECK') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const clock = new ManualClock();
      const unchecked = new Pool('plain', { clock, servers: [{ name: 'a', host: '127.0.0.1', port: 1 }] });
      const c1 = new ActiveChecker(unchecked, { clock });
      const c2 = new ActiveChecker(new Pool('later', { clock }), { clock });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]!.name, 'SwitchyardWarning');
      assert.match(warnings[0]!.message, /^ActiveChecker over pool "plain": none of its 1 server\(s\) has check: true, so nothing is checked/);
      await Promise.all([c1.close(), c2.close()]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('uses HAProxy’s defaults: inter 2000, fastinter and downinter = inter', () => {
    const c = new ActiveChecker(pool(), { autoStart: false });
    assert.deepEqual([c.interMs, c.fastinterMs, c.downinterMs, c.timeoutCheckMs, c.spreadChecks], [2000, undefined, undefined, undefined, 0]);
  });
});
