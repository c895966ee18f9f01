import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/clock.js';
import { formatHaproxyLog, haproxyLog } from '../../../src/haproxy/log/format.js';
import { Pool } from '../../../src/pool.js';
import type { ServerOptions } from '../../../src/server.js';

const refused = { source: 'check', result: { status: 'L4CON', info: 'Connection refused', durationMs: 0 } } as const;

describe('formatHaproxyLog: the literal lines of the reference (§7.2)', () => {
  it('renders the DOWN line with the check reason', () => {
    assert.equal(
      formatHaproxyLog({ kind: 'server-down', backend: 'web-test', server: 'server1', cause: refused, activeServers: 2, backupServers: 0 }),
      'Server web-test/server1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    );
  });

  it('renders the UP line with the check reason (no info when the check has none)', () => {
    assert.equal(
      formatHaproxyLog({
        kind: 'server-up', backend: 'fe', server: 's1', activeServers: 2, backupServers: 0,
        cause: { source: 'check', result: { status: 'L4OK', durationMs: 0 } },
      }),
      'Server fe/s1 is UP, reason: Layer4 check passed, check duration: 0ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    );
  });

  it('renders DOWN and UP without reason under log-health-checks (case 24, 25)', () => {
    assert.equal(
      formatHaproxyLog({ kind: 'server-down', backend: 'fe', server: 's1', activeServers: 1, backupServers: 0 }),
      'Server fe/s1 is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    );
    assert.equal(
      formatHaproxyLog({ kind: 'server-up', backend: 'fe', server: 's1', activeServers: 2, backupServers: 0 }),
      'Server fe/s1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    );
  });

  it('renders the per-check lines of log-health-checks with HAProxy’s x/y arithmetic (case 24, 25)', () => {
    const line = (health: number, result: { status: 'L4CON' | 'L4OK'; info?: string; durationMs: number }) =>
      formatHaproxyLog({ kind: 'check', backend: 'fe', server: 's1', result, health, rise: 2, fall: 3, weight: 1 });
    const fail = { status: 'L4CON', info: 'Connection refused', durationMs: 0 } as const;
    const ok = { status: 'L4OK', durationMs: 0 } as const;
    const failed = 'Health check for server fe/s1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms';
    assert.equal(line(3, fail), `${failed}, status: 2/3 UP.`);
    assert.equal(line(2, fail), `${failed}, status: 1/3 UP.`);
    assert.equal(line(0, fail), `${failed}, status: 0/2 DOWN.`);
    assert.equal(line(1, ok), 'Health check for server fe/s1 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 1/2 DOWN.');
    assert.equal(line(4, ok), 'Health check for server fe/s1 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 3/3 UP.');
  });

  it('renders the passive Health analyze line without check duration (case 32)', () => {
    assert.equal(
      formatHaproxyLog({
        kind: 'check', backend: 'fe', server: 's1', health: 3, rise: 2, fall: 3, weight: 1,
        result: { status: 'HANA', info: 'Detected 3 consecutive errors, last one was: L4 unsuccessful connection' },
      }),
      'Health check for server fe/s1 failed, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: L4 unsuccessful connection", status: 2/3 UP.',
    );
  });

  it('prints code only for layer 5–7 data statuses (cases 29, 30)', () => {
    const reason = (result: Parameters<typeof formatHaproxyLog>[0] & { kind: 'check' }) => formatHaproxyLog(result);
    const base = { kind: 'check', backend: 'fe', server: 's1', health: 0, rise: 2, fall: 3, weight: 1 } as const;
    assert.match(reason({ ...base, result: { status: 'L7RSP', info: "TCPCHK did not match content '+PONG' at step 2" } }),
      /, reason: Layer7 invalid response, info: "TCPCHK did not match content '\+PONG' at step 2", status/);
    assert.match(reason({ ...base, health: 4, result: { status: 'L7OK', code: 0, info: '(tcp-check)' } }),
      /, reason: Layer7 check passed, code: 0, info: "\(tcp-check\)", status/);
    assert.match(reason({ ...base, result: { status: 'L7STS', code: 503, info: 'Service Unavailable' } }),
      /, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", status/);
    assert.match(reason({ ...base, health: 4, result: { status: 'L7OK', code: 200 } }), /, reason: Layer7 check passed, code: 200, status/);
    assert.match(reason({ ...base, result: { status: 'L7TOUT', info: " at step 1 of tcp-check (expect string 'hello')" } }),
      /, reason: Layer7 timeout, info: " at step 1 of tcp-check \(expect string 'hello'\)", status/);
  });

  it('renders DRAIN in the check line when the weight is 0', () => {
    assert.match(formatHaproxyLog({ kind: 'check', backend: 'fe', server: 's1', health: 4, rise: 2, fall: 3, weight: 0, result: { status: 'L4OK' } }), /status: 3\/3 DRAIN\.$/);
  });

  it('renders "changed from CLI" and "Running on backup." (case 19)', () => {
    assert.equal(
      formatHaproxyLog({ kind: 'server-down', backend: 'fe', server: 'a2', cause: { source: 'admin' }, activeServers: 0, backupServers: 2 }),
      'Server fe/a2 is DOWN, changed from CLI. 0 active and 2 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.',
    );
  });

  it('prefixes backup servers', () => {
    assert.match(formatHaproxyLog({ kind: 'server-down', backend: 'fe', server: 'b1', backup: true, activeServers: 0, backupServers: 1 }), /^Backup Server fe\/b1 is DOWN\./);
    assert.match(formatHaproxyLog({ kind: 'check', backend: 'fe', server: 'b1', backup: true, health: 0, rise: 2, fall: 3, weight: 1, result: { status: 'L4TOUT', durationMs: 803 } }),
      /^Health check for backup server fe\/b1 failed, reason: Layer4 timeout, check duration: 803ms, status: 0\/2 DOWN\.$/);
  });

  it('renders the no-server alert in its log and stderr forms, and for a listen section (case 42)', () => {
    assert.equal(formatHaproxyLog({ kind: 'no-server', backend: 'web-test' }), 'backend web-test has no server available!');
    assert.equal(formatHaproxyLog({ kind: 'no-server', backend: 'be', stderr: true }), "backend 'be' has no server available!");
    assert.equal(formatHaproxyLog({ kind: 'no-server', backend: 'fe', section: 'proxy' }), 'proxy fe has no server available!');
  });

  it('renders the maintenance and drain lines', () => {
    const ref = { backend: 'fe', server: 's1' };
    assert.equal(formatHaproxyLog({ kind: 'maint-enter', ...ref, activeServers: 2, backupServers: 0 }),
      'Server fe/s1 is going DOWN for maintenance. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.');
    assert.equal(formatHaproxyLog({ kind: 'maint-enter-down', ...ref }), 'Server fe/s1 was DOWN and now enters maintenance.');
    assert.equal(formatHaproxyLog({ kind: 'maint-leave', ...ref, up: true, drain: false }), 'Server fe/s1 is UP/READY (leaving forced maintenance).');
    assert.equal(formatHaproxyLog({ kind: 'drain-enter', ...ref, activeServers: 2, backupServers: 0 }),
      'Server fe/s1 enters drain state. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.');
    assert.equal(formatHaproxyLog({ kind: 'drain-leave', ...ref, up: true }), 'Server fe/s1 is UP (leaving forced drain).');
    assert.equal(formatHaproxyLog({ kind: 'server-stopping', ...ref, cause: { source: 'admin' }, activeServers: 1, backupServers: 0 }),
      'Server fe/s1 is stopping, changed from CLI. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.');
  });
});

describe('haproxyLog: following a pool', () => {
  function setup(servers: readonly Partial<ServerOptions>[], options: Parameters<typeof haproxyLog>[2] = {}) {
    const pool = new Pool('fe', {
      clock: new ManualClock(),
      servers: servers.map((s, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port: 19001 + i, check: true, initState: 'fully-up', ...s })),
    });
    const lines: string[] = [];
    haproxyLog(pool, (line) => lines.push(line), options);
    return { pool, lines };
  }

  it('logs the operator changes of reference case 47', () => {
    const { pool, lines } = setup([{}, {}, {}]);
    pool.setHealth('s2', 'down');
    pool.setHealth('s2', 'up');
    pool.setAdminState('s1', 'drain');
    pool.setAdminState('s1', 'maint');
    // The reference lists `state ready` before `health stopping`, but its "1 active" is only consistent with s1
    // still in maintenance (the counts are the usable servers after the change), so s1 comes back last here.
    pool.setHealth('s2', 'stopping');
    pool.setAdminState('s1', 'ready');
    assert.deepEqual(lines, [
      'Server fe/s2 is DOWN, changed from CLI. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
      'Server fe/s2 is UP, changed from CLI. 3 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
      'Server fe/s1 enters drain state. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
      'Server fe/s1 is going DOWN for maintenance. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
      'Server fe/s2 is stopping, changed from CLI. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
      'Server fe/s1 is UP/READY (leaving forced maintenance).',
    ]);
    assert.equal(pool.get('s1').status, 'UP 1/3');
  });

  it('logs a server that was already down entering maintenance, and drain changes of a down server', () => {
    const { pool, lines } = setup([{}, {}]);
    pool.setHealth('s1', 'down');
    lines.length = 0;
    pool.setAdminState('s1', 'drain');
    pool.setAdminState('s1', 'ready');
    pool.setAdminState('s1', 'maint');
    assert.deepEqual(lines, [
      'Server fe/s1 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
      'Server fe/s1 is DOWN (leaving forced drain).',
      'Server fe/s1 was DOWN and now enters maintenance.',
    ]);
  });

  it('logs the DOWN line before the no-server alert, and "Running on backup." (cases 19, 42)', () => {
    const { pool, lines } = setup([{}, {}, { backup: true }]);
    pool.setHealth('s1', 'down');
    pool.setHealth('s2', 'down');
    pool.setHealth('s3', 'down');
    assert.deepEqual(lines, [
      'Server fe/s1 is DOWN, changed from CLI. 1 active and 1 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
      'Server fe/s2 is DOWN, changed from CLI. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.',
      'Backup Server fe/s3 is DOWN, changed from CLI. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
      'backend fe has no server available!',
    ]);
  });

  it('logs a check line only when the status or the health moves', () => {
    const { pool, lines } = setup([{}, {}], { logHealthChecks: true });
    const s1 = pool.get('s1');
    pool.reportCheck(s1, { status: 'L4OK', durationMs: 0 }); // INI → L4OK: logged although health stays full
    pool.reportCheck(s1, { status: 'L4OK', durationMs: 0 }); // nothing moved
    pool.reportCheck(s1, { status: 'L4CON', info: 'Connection refused', durationMs: 0 });
    pool.reportCheck(s1, { status: 'L4CON', info: 'Connection refused', durationMs: 0 });
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /succeeded, reason: Layer4 check passed, check duration: 0ms, status: 3\/3 UP\.$/);
    assert.match(lines[2]!, /status: 1\/3 UP\.$/);
  });

  it('reads "total in queue" from the queue it is given, and stops following when detached', () => {
    const pool = new Pool('fe', { servers: [{ name: 's1', host: 'h', port: 1 }, { name: 's2', host: 'h', port: 2 }] });
    const lines: string[] = [];
    const stop = haproxyLog(pool, (line) => lines.push(line), { queue: { queued: 4 } });
    pool.setHealth('s1', 'down');
    pool.setHealth('s1', 'up');
    stop();
    pool.setHealth('s1', 'down');
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /0 sessions requeued, 4 total in queue\.$/);
  });

  it('logs the end of slow start as a plain UP line at the second warm-up tick (slowstart 2s: 2000 ms after UP)', () => {
    const clock = new ManualClock();
    const pool = new Pool('fe', {
      clock,
      servers: [
        { name: 's1', host: '127.0.0.1', port: 19001, check: true, rise: 1, initState: 'fully-up', slowstartMs: 2000 },
        { name: 's2', host: '127.0.0.1', port: 19002, check: true, initState: 'fully-up' },
      ],
    });
    const lines: string[] = [];
    const warmed: string[] = [];
    pool.on('server:warmed', (server) => warmed.push(`${server.name}@${clock.now()}`));
    haproxyLog(pool, (line) => lines.push(line));
    const s1 = pool.get('s1');
    pool.setHealth('s1', 'down');
    clock.advance(500);
    pool.reportCheck(s1, { status: 'L4OK', durationMs: 0 });
    assert.equal(s1.operationalState, 'starting');
    clock.advance(1999);
    assert.deepEqual(warmed, []);
    assert.equal(s1.operationalState, 'starting');
    clock.advance(1);
    assert.deepEqual(warmed, ['s1@2500']);
    assert.equal(s1.operationalState, 'up');
    assert.deepEqual(lines.slice(1), [
      'Server fe/s1 is UP, reason: Layer4 check passed, check duration: 0ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
      'Server fe/s1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    ]);
  });

  it('logs nothing when a slow start is cut short by a failure', () => {
    const clock = new ManualClock();
    const pool = new Pool('fe', {
      clock,
      servers: [{ name: 's1', host: '127.0.0.1', port: 19001, check: true, initState: 'fully-up', slowstartMs: 2000 }],
    });
    const warmed: string[] = [];
    pool.on('server:warmed', (server) => warmed.push(server.name));
    const s1 = pool.get('s1');
    pool.setHealth('s1', 'down');
    assert.equal(s1.operationalState, 'down');
    pool.setHealth('s1', 'up');
    clock.advance(1000);
    assert.equal(s1.operationalState, 'starting');
    pool.setHealth('s1', 'down');
    clock.advance(5000);
    assert.deepEqual(warmed, []);
  });
});
