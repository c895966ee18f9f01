import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { type ConnectionRecord, TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { faultBackend } from '../../src/testing/index.js';
import {
  destroyClients, report, track, until,
} from './support.js';

const TRIES = 20;
const CHUNK = Buffer.alloc(64 * 1024, 7);
/** How long the resetting side streams before its RST. */
const RESET_AFTER_MS = 20;
/** How long the other side leaves the proxy's writes unread at first, so the proxy has bytes unread when the RST comes. */
const SLOW_START_MS = 60;

/** Writes `CHUNK`s as fast as `socket` takes them, then resets it after {@link RESET_AFTER_MS}. */
function pumpThenReset(socket: net.Socket): void {
  const pump = (): void => {
    while (!socket.destroyed && socket.write(CHUNK));
  };
  socket.on('drain', pump);
  pump();
  setTimeout(() => socket.resetAndDestroy(), RESET_AFTER_MS);
}

function readSlowly(socket: net.Socket): void {
  socket.on('data', () => {});
  socket.pause();
  setTimeout(() => socket.resume(), SLOW_START_MS);
}

interface Case {
  readonly name: string;
  /** The termination code every try must be recorded with. */
  readonly expected: 'SD' | 'CD';
  readonly backend: (socket: net.Socket) => void;
  /** Runs on the client socket once connected. */
  readonly client: (socket: net.Socket) => void;
}

/**
 * A peer that resets (RST) a connection mid-stream, while the proxy may have its bytes unread. A bare Node
 * socket on Linux can see such a reset as a clean end of stream (libuv takes the hang-up that comes with the
 * RST for an EOF when its last read was partial), so this checks that the proxy never records such a cut as a
 * normal end: neither while both directions are open (`Session` asks getpeername), nor after the proxy already
 * sent its own FIN to the resetting peer (it reads once more: the read returns the reset). Before the fixes
 * every case was recorded `--` in 19–20 of 20 tries. How the other side learns of it: the proxy destroys that
 * socket (docs/proxy.md), which sends a FIN when nothing is unread.
 */
const CASES: readonly Case[] = [
  {
    name: 'a backend reset while both directions are open',
    expected: 'SD',
    backend: pumpThenReset,
    client: (socket) => {
      readSlowly(socket);
      socket.on('end', () => socket.end());
    },
  },
  {
    name: 'a backend reset after the client half-closed (the proxy sent its FIN to the backend)',
    expected: 'SD',
    backend: (socket) => {
      socket.resume();
      socket.on('end', () => pumpThenReset(socket));
    },
    client: (socket) => {
      socket.end('x');
      readSlowly(socket);
    },
  },
  {
    name: 'a client reset while both directions are open',
    expected: 'CD',
    backend: (socket) => {
      socket.on('error', () => {});
      readSlowly(socket);
    },
    client: pumpThenReset,
  },
  {
    name: 'a client reset after the backend half-closed (the proxy sent its FIN to the client)',
    expected: 'CD',
    backend: (socket) => {
      socket.on('error', () => {});
      socket.end('hello');
      readSlowly(socket);
    },
    client: pumpThenReset,
  },
];

describe('a reset mid-stream', () => {
  after(destroyClients);
  for (const c of CASES) {
    it(`${c.name} is recorded ${c.expected} every time, never as a normal end`, { timeout: 60_000 }, async () => {
      await using backend = await faultBackend({ handler: c.backend });
      const pool = new Pool('reset', { servers: [{ name: 'b', ...backend.address }] });
      const balancer = new Balancer(pool);
      const proxy = new TcpProxy(balancer);
      const records: ConnectionRecord[] = [];
      proxy.on('connection:close', (r) => records.push(r));
      const { port } = await proxy.listen({ host: '127.0.0.1' });
      const seen: Record<string, number> = {};
      try {
        for (let i = 0; i < TRIES; i++) {
          const ending = await new Promise<string>((resolve) => {
            const socket = track(net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }));
            let how = 'client closed';
            socket.once('connect', () => c.client(socket));
            socket.on('error', (e: NodeJS.ErrnoException) => (how = `client ${e.code}`));
            socket.on('end', () => (how = 'client end'));
            socket.on('close', () => resolve(how));
          });
          await until(() => records.length === i + 1, () => 'the record');
          const key = `${ending} / ${records[i]!.termination}`;
          seen[key] = (seen[key] ?? 0) + 1;
        }
      } finally {
        proxy.destroy();
        balancer.destroy();
      }
      report('reset-as-eof', { case: c.name, tries: TRIES, seen });
      assert.deepEqual(Object.keys(seen).filter((k) => !k.endsWith(`/ ${c.expected}`)), [], JSON.stringify(seen));
      assert.equal(proxy.stats().terminations[c.expected], TRIES);
    });
  }
});
