import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { LbError } from '../../src/errors.js';
import { ManualClock, faultBackend } from '../../src/testing/index.js';
import { waitEvent, waitFor } from '../proxy/helpers.js';

/** Hang guard of a connect that must not complete (a blackhole): long enough for a loopback handshake. */
const NO_CONNECT_MS = 300;

function dial(port: number, halfOpen = false): net.Socket {
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
  c.on('error', () => {});
  return c;
}

/** Resolves with what the socket received until it ended, and how it ended. */
async function drain(c: net.Socket): Promise<{ data: Buffer; error: string | undefined }> {
  const chunks: Buffer[] = [];
  let error: string | undefined;
  c.on('data', (d: Buffer) => chunks.push(d));
  c.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
  if (!c.closed) await new Promise((resolve) => c.once('close', resolve));
  return { data: Buffer.concat(chunks), error };
}

function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
}

describe('faultBackend', () => {
  it('serves an echo on 127.0.0.1 and a free port by default, following a half-close', async () => {
    await using b = await faultBackend();
    assert.equal(b.host, '127.0.0.1');
    assert.ok(b.port > 0);
    const c = dial(b.port, true);
    await waitEvent(c, 'connect');
    c.end('hello');
    const { data } = await drain(c);
    assert.equal(data.toString(), 'hello');
    assert.equal(b.accepted, 1);
    assert.equal(b.bytesReceived, 5);
    assert.equal(b.bytesSent, 5);
  });

  it('runs a given handler when serving', async () => {
    await using b = await faultBackend({ handler: (s) => s.end('banner') });
    const { data } = await drain(dial(b.port));
    assert.equal(data.toString(), 'banner');
  });

  it('refuses connections, then serves again on the same port', async () => {
    await using b = await faultBackend({ behaviour: 'refuse' });
    const port = b.port;
    assert.equal((await drain(dial(port))).error, 'ECONNREFUSED');
    await b.set('serve');
    assert.equal(b.port, port);
    const c = dial(port);
    c.end('x');
    assert.equal((await drain(c)).data.toString(), 'x');
  });

  it('blackholes SYNs so a connect hangs, and accepts again once told to serve', async () => {
    await using b = await faultBackend();
    await b.set('blackhole');
    const c = dial(b.port);
    let connected = false;
    c.on('connect', () => (connected = true));
    await new Promise((resolve) => setTimeout(resolve, NO_CONNECT_MS));
    assert.equal(connected, false, 'the handshake never completes');
    c.destroy();
    await b.set('serve');
    const d = dial(b.port);
    d.end('back');
    assert.equal((await drain(d)).data.toString(), 'back');
  });

  it('accepts and then never reads: the client’s writes back up', async () => {
    await using b = await faultBackend({ behaviour: 'accept-no-read' });
    const c = dial(b.port);
    await waitEvent(c, 'connect');
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 16 && c.write(chunk); i++);
    await waitFor(() => c.writableLength > 0 && b.connections === 1, 'the client to be held back');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(c.writableLength > 0, 'still not taken');
    assert.equal(b.bytesSent, 0);
    c.destroy();
  });

  it('resets a connection after the given number of bytes', async () => {
    await using b = await faultBackend({ behaviour: { kind: 'reset', afterBytes: 4 } });
    const c = dial(b.port);
    c.write('abcdefgh');
    // The RST follows the echoed bytes at once; Linux may then report the end as an EOF rather than ECONNRESET.
    const cut = await drain(c);
    assert.equal(cut.data.toString(), 'abcd');
    await waitFor(() => b.connections === 0, 'the backend side to close');
    const d = dial(b.port);
    await b.set('reset');
    const e = dial(b.port);
    assert.equal((await drain(e)).error, 'ECONNRESET', 'afterBytes 0 resets at once');
    d.destroy();
  });

  it('closes after sending the given number of bytes', async () => {
    await using b = await faultBackend({ behaviour: { kind: 'close-after', bytes: 3 } });
    const c = dial(b.port, true);
    c.write('abcdef');
    let ended = false;
    c.on('end', () => {
      ended = true;
      c.end();
    });
    const { data, error } = await drain(c);
    assert.equal(data.toString(), 'abc');
    assert.equal(error, undefined);
    assert.ok(ended, 'a FIN, not a reset');
  });

  it('greets first, then echoes', async () => {
    await using b = await faultBackend({ behaviour: { kind: 'greet', banner: '220 ready\r\n' } });
    const c = dial(b.port);
    const [first] = await waitEvent<[Buffer]>(c, 'data');
    assert.equal(first.toString(), '220 ready\r\n');
    c.end('ping');
    assert.equal((await drain(c)).data.toString(), 'ping');
  });

  it('answers slowly, one chunk per delay of its clock', async () => {
    const clock = new ManualClock();
    await using b = await faultBackend({ clock, behaviour: { kind: 'slow', delayMs: 100, chunkBytes: 2 } });
    const c = dial(b.port);
    const got: string[] = [];
    c.on('data', (d: Buffer) => got.push(d.toString()));
    c.write('abcde');
    await waitFor(() => clock.pending === 1, 'the first piece to be scheduled');
    assert.deepEqual(got, []);
    clock.advance(100);
    await waitFor(() => got.join('') === 'ab', 'the first piece');
    clock.advance(100);
    await waitFor(() => got.join('') === 'abcd', 'the second piece');
    clock.advance(100);
    await waitFor(() => got.join('') === 'abcde', 'the last piece');
    assert.equal(clock.pending, 0);
    c.destroy();
  });

  it('stops reading after the given number of bytes', async () => {
    await using b = await faultBackend({ behaviour: { kind: 'stall-read', afterBytes: 3 } });
    const c = dial(b.port);
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    await waitEvent(c, 'connect');
    c.write('abc');
    await waitFor(() => Buffer.concat(got).toString() === 'abc', 'the first bytes echoed');
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 32 && c.write(chunk); i++);
    await waitFor(() => c.writableLength > 0, 'the client to be held back');
    assert.equal(Buffer.concat(got).toString(), 'abc');
    c.destroy();
  });

  it('kill() resets open connections and refuses new ones', async () => {
    await using b = await faultBackend();
    const c = dial(b.port);
    await waitEvent(c, 'connect');
    await waitFor(() => b.connections === 1, 'the accept');
    const closed = drain(c);
    await b.kill();
    assert.equal((await closed).error, 'ECONNRESET');
    assert.equal((await drain(dial(b.port))).error, 'ECONNREFUSED');
  });

  it('flaps on the schedule of its clock, for the given number of cycles', async () => {
    const clock = new ManualClock();
    await using b = await faultBackend({ clock });
    const kinds: string[] = [];
    b.on('behaviour:change', (x) => kinds.push(x.kind));
    const flapping = b.flap({ upMs: 1000, downMs: 500, cycles: 2 });
    clock.advance(999);
    await b.settled();
    assert.deepEqual(kinds, []);
    clock.advance(1);
    await waitFor(() => kinds.length === 1, 'down');
    assert.equal(b.behaviour.kind, 'refuse');
    assert.equal((await drain(dial(b.port))).error, 'ECONNREFUSED');
    clock.advance(500);
    await waitFor(() => kinds.length === 2, 'up');
    assert.equal(flapping.downs, 1);
    clock.advance(1000);
    await waitFor(() => kinds.length === 3, 'down again');
    clock.advance(500);
    await waitFor(() => kinds.length === 4, 'up again');
    assert.equal(flapping.downs, 2);
    clock.advance(10_000);
    await b.settled();
    assert.deepEqual(kinds, ['refuse', 'serve', 'refuse', 'serve']);
    assert.equal(clock.pending, 0, 'done after two cycles');
    const c = dial(b.port);
    c.end('up');
    assert.equal((await drain(c)).data.toString(), 'up');
  });

  it('rejects bad options and behaviours with ERR_LB_INVALID_ARG', async () => {
    const invalid = (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG';
    await assert.rejects(faultBackend({ port: -1 }), invalid);
    await assert.rejects(faultBackend({ host: 'localhost' }), invalid);
    await assert.rejects(faultBackend({ behaviour: 'slow' as never }), invalid);
    await assert.rejects(faultBackend({ behaviour: { kind: 'close-after' } as never }), invalid);
    await assert.rejects(faultBackend({ behaviour: { kind: 'reset', afterBytes: 1, extra: 1 } as never }), invalid);
    await using b = await faultBackend();
    await assert.rejects(b.set({ kind: 'slow', delayMs: -5 }), invalid);
    assert.throws(() => b.flap({ upMs: 1, downMs: 1, cycles: 0 }), invalid);
  });

  it('leaves no handle behind after close(), whatever state it is in', async () => {
    const before = handles();
    for (const behaviour of ['serve', 'refuse', 'blackhole', 'accept-no-read'] as const) {
      const b = await faultBackend({ behaviour });
      const c = dial(b.port);
      if (behaviour !== 'blackhole' && behaviour !== 'refuse') await once(c, 'connect');
      const flapping = b.flap({ upMs: 5, downMs: 5 });
      await b.close();
      await b.close();
      assert.ok(flapping.downs >= 0);
      c.destroy();
      await assert.rejects(b.set('serve'), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_CLOSED');
    }
    await waitFor(() => handles() <= before, `handles back to ${before}, have ${handles()}`);
  });
});
