import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../src/clock.js';
import { runProbe } from '../../src/health/probe-run.js';
import type { Probe, ProbeContext } from '../../src/health/probe.js';
import { sendExpectProbe } from '../../src/health/probes/send-expect.js';
import { compileReplyCode, compileReplyText } from '../../src/health/probes/reply-format.js';
import type { CheckResult } from '../../src/state/check-result.js';
import { Pool } from '../../src/pool.js';
import { type Responder, scriptedResponder } from '../helpers/responders.js';
import { refusedPort } from './loopback.js';
import { flush } from './support.js';

const server = new Pool('be', { servers: [{ name: 's1', host: '127.0.0.1', port: 1, check: true }] }).get('s1');

async function probeOnce(probe: Probe, port: number): Promise<{ result: CheckResult | void; timeouts: CheckResult[] }> {
  const timeouts: CheckResult[] = [];
  const lingering: Promise<void>[] = [];
  const ctx: ProbeContext = {
    host: '127.0.0.1', port, clock: systemClock, connected: () => {}, setTimeoutResult: (r) => void timeouts.push(r),
    linger: (work) => void lingering.push(work(new AbortController().signal)),
  };
  const result = await probe(server, new AbortController().signal, ctx);
  await Promise.all(lingering);
  return { result, timeouts };
}

const open: Responder[] = [];
after(async () => {
  for (const r of open) await r.close();
});
async function responder(r: Promise<Responder>): Promise<Responder> {
  const value = await r;
  open.push(value);
  return value;
}

describe('tcp-check rules (sendExpectProbe): HAProxy 2.6 keywords', () => {
  it('min-recv: below it a kept-open connection waits (L7TOUT at the deadline); a closed one is judged at once', async () => {
    const held = await responder(scriptedResponder('HELLO\r\n', []));
    const probe = sendExpectProbe([{ kind: 'expect', match: 'string', pattern: 'HELLO', minRecv: 10 }]);
    const clock = new ManualClock();
    const run = runProbe({ probe, server, host: '127.0.0.1', port: held.port, clock, connectBudgetMs: 1000, exchangeBudgetMs: undefined });
    let settled = false;
    void run.result.then(() => (settled = true));
    for (let i = 0; i < 50 && held.accepted() === 0; i++) await flush();
    for (let i = 0; i < 10; i++) await flush();
    assert.equal(settled, false);
    clock.advance(1000);
    assert.deepEqual(await run.result, { status: 'L7TOUT', info: " at step 1 of tcp-check (expect string 'HELLO')", durationMs: 1000 });
    const closing = await responder(scriptedResponder(undefined, ['HELLO\r\n'], true));
    const sending = sendExpectProbe([{ kind: 'send', data: 'hi' }, { kind: 'expect', match: 'string', pattern: 'HELLO', minRecv: 10 }]);
    assert.deepEqual((await probeOnce(sending, closing.port)).result, { status: 'L7OK', code: 0, info: '(tcp-check)' });
  });

  it('on-error renders %[res.payload(0,0),cut_crlf] with error-status L7STS; on-success replaces (tcp-check)', async () => {
    const r = await responder(scriptedResponder('HELLO\r\n', [], false));
    const bad = sendExpectProbe([{ kind: 'expect', match: 'string', pattern: 'READY', minRecv: 7, errorStatus: 'L7STS', onError: 'bad: %[res.payload(0,0),cut_crlf]' }]);
    assert.deepEqual((await probeOnce(bad, r.port)).result, { status: 'L7STS', code: 0, info: 'bad: HELLO' });
    const fine = sendExpectProbe([{ kind: 'expect', match: 'string', pattern: 'HELLO', onSuccess: 'fine' }]);
    assert.deepEqual((await probeOnce(fine, r.port)).result, { status: 'L7OK', code: 0, info: 'fine' });
  });

  it('status-code and ok-status: the code comes from the reply, the status from the rule', async () => {
    const r = await responder(scriptedResponder('250 ok\r\n', []));
    const probe = sendExpectProbe([{ kind: 'expect', match: 'rstring', pattern: '^2[0-9]{2} ', minRecv: 4, okStatus: 'L7OKC', statusCode: 'res.payload(0,3)' }]);
    assert.deepEqual((await probeOnce(probe, r.port)).result, { status: 'L7OKC', code: 250, info: '(tcp-check)' });
  });

  it('comment steps count, a comment goes to the next rule and appears after a failed expect', async () => {
    const r = await responder(scriptedResponder(undefined, ['-ERR\r\n'], true));
    const probe = sendExpectProbe([
      { kind: 'comment', text: 'ping-step' },
      { kind: 'send', data: 'PING\r\n' },
      { kind: 'comment', text: 'my-expect' },
      { kind: 'expect', match: 'string', pattern: '+PONG' },
    ]);
    assert.deepEqual((await probeOnce(probe, r.port)).result, { status: 'L7RSP', info: "TCPCHK did not match content '+PONG' at step 4 comment: my-expect" });
  });

  it("a failed connect says its step, port and quoted comment; the implicit connect says 'initial connection step'", async () => {
    const closed = await refusedPort();
    try {
      const named = sendExpectProbe([{ kind: 'connect', port: closed.port, comment: 'the other port' }]);
      assert.deepEqual((await probeOnce(named, 1)).result, { status: 'L4CON', info: `Connection refused at step 1 of tcp-check (connect port ${closed.port}) comment: 'the other port'` });
      const implicit = sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }]);
      assert.deepEqual((await probeOnce(implicit, closed.port)).result, { status: 'L4CON', info: 'Connection refused at initial connection step of tcp-check' });
    } finally {
      await closed.close();
    }
  });

  it('a script ending on a connect passes with L4OK "(tcp-check)"; on a send with L7OK "(tcp-check)"', async () => {
    const r = await responder(scriptedResponder(undefined, []));
    assert.deepEqual((await probeOnce(sendExpectProbe([{ kind: 'connect', port: r.port }]), 1)).result, { status: 'L4OK', info: '(tcp-check)' });
    assert.deepEqual((await probeOnce(sendExpectProbe([{ kind: 'send', data: 'x' }]), r.port)).result, { status: 'L7OK', code: 0, info: '(tcp-check)' });
  });

  it('connect send-proxy writes a PROXY v1 line first', async () => {
    const r = await responder(scriptedResponder(undefined, ['READY\r\n']));
    const probe = sendExpectProbe([{ kind: 'connect', sendProxy: true }, { kind: 'expect', match: 'string', pattern: 'READY' }]);
    assert.deepEqual((await probeOnce(probe, r.port)).result, { status: 'L7OK', code: 0, info: '(tcp-check)' });
    assert.match(r.received[0] ?? '', new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${r.port}\\r\\n$`));
  });

  it('the empty-response text carries the quoted comment and the rule\'s error status', async () => {
    const r = await responder(scriptedResponder(undefined, [''], true));
    const probe = sendExpectProbe([{ kind: 'send', data: 'x' }, { kind: 'expect', match: 'string', pattern: 'y', errorStatus: 'L7STS', comment: 'c' }]);
    assert.deepEqual((await probeOnce(probe, r.port)).result, { status: 'L7STS', code: 0, info: "TCPCHK got an empty response at step 2 comment: 'c'" });
  });
});

describe('reply formats (on-success, on-error, status-code)', () => {
  it('renders text, %% and res.payload samples with converters, a sample ending at its first NUL', () => {
    const f = compileReplyText('on-error', "x%%y %[res.payload(4,0),ltrim(' '),cut_crlf] %[res.payload(0,3)]");
    assert.equal(f(Buffer.from('554   no service\r\nmore')), 'x%y no service 554');
    assert.equal(compileReplyText('f', '%[res.payload(0,0),cut_crlf]')(Buffer.from('d\0\0\0\nrest', 'latin1')), 'd');
    assert.equal(compileReplyText('f', '[%[res.payload(6,0)]]')(Buffer.from('abc')), '[]');
  });

  it('reads a status code from the reply', () => {
    const code = compileReplyCode('status-code', 'res.payload(0,3)');
    assert.equal(code(Buffer.from('221 bye')), 221);
    assert.equal(code(Buffer.from('xyz')), undefined);
  });

  it('refuses what it does not implement, naming the field', () => {
    assert.throws(() => compileReplyText('on-error', '%[var(check.x)]'), /on-error must use only the sample res\.payload/);
    assert.throws(() => compileReplyText('on-error', '%[res.payload(0,0),base64]'), /on-error may only use the converters/);
    assert.throws(() => compileReplyText('on-error', '%H'), /on-error may only contain text/);
  });
});
