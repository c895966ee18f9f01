/**
 * `tcp-check comment` in the info text of a failed check, as HAProxy 2.6.12 writes it (issue 12 item 9):
 * comment rules count as steps and comment the following rules of one kind; a mismatch appends ` comment: <text>`,
 * a connection error, a timeout or an empty response ` comment: '<text>'` (`src/tcpcheck.c`, `src/check.c`).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import type { Probe, ProbeContext } from '../../src/health/probe.js';
import { sendExpectProbe } from '../../src/health/probes/send-expect.js';
import { Pool } from '../../src/pool.js';
import type { CheckResult } from '../../src/state/check-result.js';
import { lineServer, refusedPort } from './loopback.js';

async function probeOnce(probe: Probe, port: number) {
  const server = new Pool('fe', { servers: [{ name: 's1', host: '127.0.0.1', port, check: true }] }).get('s1');
  const timeouts: CheckResult[] = [];
  const ctx: ProbeContext = { host: '127.0.0.1', port, clock: systemClock, connected: () => {}, setTimeoutResult: (r) => void timeouts.push(r) };
  return { result: await probe(server, new AbortController().signal, ctx), timeouts };
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
});

describe('tcp-check comment in the check info text', () => {
  it('numbers comment rules as steps and appends the comment unquoted to a mismatch (the reference line)', async () => {
    const srv = await lineServer(() => '-ERR\r\n', true);
    closers.push(() => srv.close());
    const probe = sendExpectProbe([
      { kind: 'comment', text: 'ping-step' },
      { kind: 'send', data: 'PING\r\n' },
      { kind: 'comment', text: 'my-expect' },
      { kind: 'expect', match: 'string', pattern: '+PONG' },
    ]);
    const { result, timeouts } = await probeOnce(probe, srv.port);
    assert.deepEqual(result, { status: 'L7RSP', info: "TCPCHK did not match content '+PONG' at step 4 comment: my-expect" });
    assert.deepEqual(timeouts.at(-1), { status: 'L7TOUT', info: " at step 4 of tcp-check (expect string '+PONG') comment: 'my-expect'" });
  });

  it("quotes the comment of a connect step that failed: Connection refused at step 1 of tcp-check (connect port p) comment: 'the other port'", async () => {
    const dead = await refusedPort();
    closers.push(() => dead.close());
    const probe = sendExpectProbe([{ kind: 'connect', port: dead.port, comment: 'the other port' }]);
    const result = (await probeOnce(probe, dead.port)).result as CheckResult;
    assert.equal(result.status, 'L4CON');
    assert.equal(result.info, `Connection refused at step 1 of tcp-check (connect port ${dead.port}) comment: 'the other port'`);
  });

  it('quotes it after an empty response; a comment carries over to the rules of one kind after it, not past a connect', async () => {
    const srv = await lineServer(() => '', true);
    closers.push(() => srv.close());
    const probe = sendExpectProbe([
      { kind: 'comment', text: 'two sends' },
      { kind: 'send', data: 'A\r\n' },
      { kind: 'send-binary', hex: '420d0a' },
      { kind: 'expect', match: 'string', pattern: 'OK' },
    ]);
    assert.deepEqual((await probeOnce(probe, srv.port)).result, { status: 'L7RSP', info: 'TCPCHK got an empty response at step 4' });
    const own = sendExpectProbe([{ kind: 'send', data: 'A\r\n' }, { kind: 'expect', match: 'string', pattern: 'OK', comment: 'own' }]);
    assert.deepEqual((await probeOnce(own, srv.port)).result, { status: 'L7RSP', info: "TCPCHK got an empty response at step 2 comment: 'own'" });
    assert.throws(() => sendExpectProbe([{ kind: 'comment', text: '' }]), /steps\[0\]\.text must be a non-empty string/);
  });
});
