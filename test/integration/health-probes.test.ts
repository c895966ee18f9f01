import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import type { CheckResult } from '../../src/state/check-result.js';
import type { Probe, ProbeContext } from '../../src/health/probe.js';
import { httpProbe } from '../../src/health/probes/http.js';
import { sendExpectProbe } from '../../src/health/probes/send-expect.js';
import { tcpConnectProbe } from '../../src/health/probes/tcp-connect.js';
import { Pool } from '../../src/pool.js';
import { greetingServer, httpServer, lineServer, refusedPort } from '../health/loopback.js';

/** Runs a probe once against 127.0.0.1:port, the way the checker would (minus the deadline). */
async function probeOnce(probe: Probe, port: number, signal = new AbortController().signal) {
  const server = new Pool('fe', { servers: [{ name: 's1', host: '127.0.0.1', port, check: true }] }).get('s1');
  const timeouts: CheckResult[] = [];
  let connected = 0;
  const ctx: ProbeContext = {
    host: '127.0.0.1',
    port,
    clock: systemClock,
    connected: () => void connected++,
    setTimeoutResult: (r) => void timeouts.push(r),
  };
  const result = await probe(server, signal, ctx);
  return { result, timeouts, connected };
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});
async function fixture<T extends { close(): Promise<void> }>(f: Promise<T>): Promise<T> {
  const value = await f;
  cleanups.push(() => value.close());
  return value;
}

const PING = sendExpectProbe([
  { kind: 'send', data: 'PING\r\n' },
  { kind: 'expect', match: 'string', pattern: '+PONG' },
]);

describe('tcpConnectProbe (plain check)', () => {
  it('passes with L4OK when the port accepts', async () => {
    const srv = await fixture(greetingServer(undefined));
    assert.deepEqual((await probeOnce(tcpConnectProbe(), srv.port)).result, { status: 'L4OK' });
  });

  it('fails with L4CON "Connection refused" on a closed port', async () => {
    const closed = await fixture(refusedPort());
    assert.deepEqual((await probeOnce(tcpConnectProbe(), closed.port)).result, { status: 'L4CON', info: 'Connection refused' });
  });

  it('declares L4TOUT as its timeout result before connecting', async () => {
    const srv = await fixture(greetingServer(undefined));
    assert.deepEqual((await probeOnce(tcpConnectProbe(), srv.port)).timeouts, [{ status: 'L4TOUT' }]);
  });
});

describe('sendExpectProbe (tcp-check), reference case 29', () => {
  it('passes with L7OK, code 0, "(tcp-check)" when the reply matches', async () => {
    const srv = await fixture(lineServer(() => '+PONG\r\n'));
    const { result, connected } = await probeOnce(PING, srv.port);
    assert.deepEqual(result, { status: 'L7OK', code: 0, info: '(tcp-check)' });
    assert.equal(connected, 1);
    assert.deepEqual(srv.received, ['PING\r\n']);
  });

  it('fails with L7RSP "TCPCHK did not match content \'+PONG\' at step 2" on another reply', async () => {
    const srv = await fixture(lineServer(() => '-ERR\r\n', true));
    assert.deepEqual((await probeOnce(PING, srv.port)).result, { status: 'L7RSP', info: "TCPCHK did not match content '+PONG' at step 2" });
  });

  it('fails with "TCPCHK got an empty response at step 2" when the server closes silently', async () => {
    const srv = await fixture(lineServer(() => '', true));
    assert.deepEqual((await probeOnce(PING, srv.port)).result, { status: 'L7RSP', info: 'TCPCHK got an empty response at step 2' });
  });

  it('fails with "TCPCHK matched unwanted content \'ERR\' at step 2" for a negated expect', async () => {
    const srv = await fixture(lineServer(() => '-ERR\r\n'));
    const probe = sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'string', pattern: 'ERR', negate: true }]);
    assert.deepEqual((await probeOnce(probe, srv.port)).result, { status: 'L7RSP', info: "TCPCHK matched unwanted content 'ERR' at step 2" });
  });

  it('passes rstring ^\\+P[O]NG and binary 2b504f4e47 after send-binary 50494e470d0a', async () => {
    const srv = await fixture(lineServer((req) => (req === 'PING\r\n' ? '+PONG\r\n' : '-ERR\r\n')));
    const rstring = sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'rstring', pattern: '^\\+P[O]NG' }]);
    const binary = sendExpectProbe([{ kind: 'send-binary', hex: '50494e470d0a' }, { kind: 'expect', match: 'binary', pattern: '2b504f4e47' }]);
    const rbinary = sendExpectProbe([{ kind: 'send', data: new TextEncoder().encode('PING\r\n') }, { kind: 'expect', match: 'rbinary', pattern: '^2B504F' }]);
    assert.equal((await probeOnce(rstring, srv.port)).result?.status, 'L7OK');
    assert.equal((await probeOnce(binary, srv.port)).result?.status, 'L7OK');
    assert.equal((await probeOnce(rbinary, srv.port)).result?.status, 'L7OK');
  });

  it('words a binary mismatch as HAProxy does', async () => {
    const srv = await fixture(lineServer(() => '-ERR\r\n', true));
    const probe = sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'binary', pattern: '2b504f4e47' }]);
    assert.deepEqual((await probeOnce(probe, srv.port)).result, { status: 'L7RSP', info: 'TCPCHK did not match content (binary) at step 2' });
  });

  it('judges a mismatch at once with minRecv, without waiting for the server to close', async () => {
    const srv = await fixture(lineServer(() => '-ERR\r\n'));
    const probe = sendExpectProbe([{ kind: 'send', data: 'PING\r\n' }, { kind: 'expect', match: 'string', pattern: '+PONG', minRecv: 1 }]);
    assert.equal((await probeOnce(probe, srv.port)).result?.status, 'L7RSP');
  });

  it('reports a refused connect at a later step as "Connection refused at step 4 of tcp-check (connect port N)"', async () => {
    const srv = await fixture(lineServer(() => '+PONG\r\n'));
    const closed = await fixture(refusedPort());
    const probe = sendExpectProbe([
      { kind: 'send', data: 'PING\r\n' },
      { kind: 'expect', match: 'string', pattern: '+PONG' },
      { kind: 'send', data: 'QUIT\r\n' },
      { kind: 'connect', port: closed.port },
    ]);
    assert.deepEqual((await probeOnce(probe, srv.port)).result, {
      status: 'L4CON',
      info: `Connection refused at step 4 of tcp-check (connect port ${closed.port})`,
    });
  });

  it('declares L7TOUT with the step comment while waiting for a reply, and closes its socket when aborted', async () => {
    const srv = await fixture(lineServer(() => undefined));
    const controller = new AbortController();
    const run = probeOnce(PING, srv.port, controller.signal);
    await new Promise<void>((resolve) => {
      const poll = (): void => (srv.received.length > 0 ? resolve() : void setImmediate(poll));
      poll();
    });
    controller.abort(new Error('stop'));
    await assert.rejects(run);
    await new Promise<void>((resolve) => {
      const poll = (): void => (srv.connections === 0 ? resolve() : void setImmediate(poll));
      poll();
    });
    assert.equal(srv.connections, 0);
  });

  it('validates scripts, naming the step', () => {
    assert.throws(() => sendExpectProbe([]), /steps must be a non-empty array/);
    assert.throws(() => sendExpectProbe([{ kind: 'send-binary', hex: 'abc' }]), /steps\[0\]\.hex must be an even number of hexadecimal digits, got "abc"/);
    assert.throws(() => sendExpectProbe([{ kind: 'expect', match: 'rstring', pattern: '(' }]), /steps\[0\]\.pattern must be a valid regular expression/);
  });
});

describe('httpProbe (option httpchk in TCP mode), reference case 30', () => {
  it('fails with L7STS, code 503, info "Service Unavailable"', async () => {
    const srv = await fixture(httpServer(503));
    const { result } = await probeOnce(httpProbe({ method: 'GET', path: '/health' }), srv.port);
    assert.deepEqual(result, { status: 'L7STS', code: 503, info: 'Service Unavailable' });
    assert.deepEqual(srv.requests, ['GET /health HTTP/1.0']);
  });

  it('passes with L7OK, code 200', async () => {
    const srv = await fixture(httpServer(200));
    assert.deepEqual((await probeOnce(httpProbe(), srv.port)).result, { status: 'L7OK', code: 200 });
    assert.deepEqual(srv.requests, ['OPTIONS / HTTP/1.0']);
  });

  it('accepts the statuses it is told to', async () => {
    const srv = await fixture(httpServer(404));
    assert.equal((await probeOnce(httpProbe({ expectStatus: [200, [400, 404]] }), srv.port)).result?.status, 'L7OK');
  });

  it('fails with L7RSP on a reply that is not HTTP', async () => {
    const srv = await fixture(greetingServer('garbage\r\n'));
    assert.deepEqual((await probeOnce(httpProbe(), srv.port)).result, { status: 'L7RSP' });
  });

  it('sends HTTP/1.1 with the given headers and connection: close, names in lower case as HAProxy writes them', async () => {
    const srv = await fixture(lineServer(() => 'HTTP/1.1 200 OK\r\n\r\n', true));
    await probeOnce(httpProbe({ version: 'HTTP/1.1', headers: { Host: 'db.example' } }), srv.port);
    assert.equal(srv.received[0], 'OPTIONS / HTTP/1.1\r\nhost: db.example\r\nconnection: close\r\n\r\n');
  });
});
