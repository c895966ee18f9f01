import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Alternate, backend, proxyRig, refusedPort, s, waitFor } from '../proxy/helpers.js';

const TOTAL = 20_000;
const IN_FLIGHT = 200;

/*
 * Only what a proxied connection can hold is counted: socket handles and socket fds. The test process has other
 * resources that come and go on their own: on Node 22/24 the tsx loader clears its disk cache in the background
 * (an opendir walk with fs requests and a directory fd) while the first test starts, and a baseline that counted
 * those ended the test with fewer resources than it began with.
 */

/** Live socket handles and socket requests (TCPSocketWrap, TCPServerWrap, TCPConnectWrap, PipeWrap, ...). */
function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP') || r.startsWith('Pipe')).length;
}

/** Open file descriptors that are sockets. */
function fds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // Closed between the listing and the readlink (the listing's own directory fd, for one).
    }
  }
  return n;
}

type Kind = 'ok' | 'client-reset' | 'server-reset' | 'no-server' | 'client-gone';

/** One client: connects, sends, waits for the echo or the close, and ends in a way chosen by `kind`. */
function oneClient(port: number, kind: Kind): Promise<void> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.on('close', () => resolve());
    if (kind === 'client-gone') {
      c.once('connect', () => c.resetAndDestroy());
      return;
    }
    c.once('connect', () => c.write(kind === 'server-reset' ? 'R' : 'hello'));
    c.on('data', () => {
      if (kind === 'client-reset') c.resetAndDestroy();
      else c.end();
    });
    c.on('end', () => c.end());
  });
}

describe('TcpProxy resources (loopback)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it(`opens and closes ${TOTAL} proxied connections, some failing, and returns to its baseline of handles and fds`, async () => {
    const b = await backend((socket) => {
      socket.on('data', (d: Buffer) => {
        if (d[0] === 0x52 /* R */) socket.resetAndDestroy();
        else socket.write(d);
      });
      socket.on('end', () => socket.end());
    });
    cleanup.push(() => b.close());
    // Half of the picks go to a refused server and are redispatched to the live one.
    const main = await proxyRig([s('dead', await refusedPort()), s('live', b.port)], { redispatch: true, timeoutConnectMs: 2000 }, {
      strategy: new Alternate(),
    });
    cleanup.push(() => main.shutdown());
    const empty = await proxyRig([s('off', b.port, { disabled: true })]);
    cleanup.push(() => empty.shutdown());
    // Let handles closed during setup (the refused port's listener) finish closing.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    const baseline = { handles: handles(), fds: fds() };

    const kinds: Kind[] = ['ok', 'ok', 'ok', 'client-reset', 'ok', 'server-reset', 'ok', 'client-gone', 'ok', 'no-server'];
    let started = 0;
    let finished = 0;
    await new Promise<void>((resolve) => {
      const next = (): void => {
        if (finished === TOTAL) return resolve();
        if (started === TOTAL) return;
        const kind = kinds[started % kinds.length]!;
        started++;
        void oneClient(kind === 'no-server' ? empty.port : main.port, kind).then(() => {
          finished++;
          next();
        });
      };
      for (let i = 0; i < IN_FLIGHT; i++) next();
    });

    await waitFor(() => main.records.length + empty.records.length === TOTAL, 'every connection record');
    await waitFor(
      () => handles() === baseline.handles && fds() === baseline.fds,
      `handles and fds back to the baseline ${JSON.stringify(baseline)}: ${handles()} handles, ${fds()} fds`,
    );
    assert.equal(main.proxy.connections, 0);
    assert.equal(main.balancer.activeLeases, 0);
    assert.equal(main.pool.get('live').currentConnections, 0);
    assert.equal(main.pool.get('dead').currentConnections, 0);
    const stats = main.proxy.stats();
    assert.equal(stats.total, TOTAL * 0.9);
    assert.ok(stats.redispatches > 0, 'some attempts failed and were redispatched');
    assert.ok((stats.terminations.SD ?? 0) > 0 && (stats.terminations.CD ?? 0) > 0, JSON.stringify(stats.terminations));
    assert.equal(empty.proxy.stats().noServer, TOTAL / 10);
  });
});
