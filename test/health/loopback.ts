import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { Worker } from 'node:worker_threads';

/** Loopback fixtures for the health-check integration tests. Every one binds 127.0.0.1, port 0. */

export interface Fixture {
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: net.Server | http.Server, port = 0): Promise<number> {
  server.listen({ host: '127.0.0.1', port });
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

function closeServer(server: net.Server | http.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

function tracked(server: net.Server | http.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

/** A port nothing listens on (connections are refused) until `open()` starts a plain server on it. */
export async function refusedPort(): Promise<Fixture & { open(): Promise<void> }> {
  const probe = net.createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const server = net.createServer((s) => s.destroy());
  const sockets = tracked(server);
  return {
    port,
    open: async () => {
      await listen(server, port);
    },
    close: () => closeServer(server, sockets),
  };
}

/**
 * A line server: reads a request and answers with `reply(request)` (undefined = stay silent), then closes
 * when `closeAfter` is set. `reply` can be swapped at any time.
 */
export async function lineServer(reply: (request: string) => string | undefined, closeAfter = false) {
  const received: string[] = [];
  const state = { reply, closeAfter };
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      if (!buffer.includes('\n')) return;
      received.push(buffer);
      const answer = state.reply(buffer);
      buffer = '';
      if (answer === undefined) return;
      if (state.closeAfter) socket.end(answer);
      else socket.write(answer);
    });
  });
  const sockets = tracked(server);
  const port = await listen(server);
  return {
    port,
    received,
    set(next: (request: string) => string | undefined, nextCloseAfter = state.closeAfter) {
      state.reply = next;
      state.closeAfter = nextCloseAfter;
    },
    /** Connections currently open on the server side. */
    get connections() {
      return sockets.size;
    },
    close: () => closeServer(server, sockets),
  };
}

/** A server that sends `greeting` on accept and then closes (or holds when greeting is undefined). */
export async function greetingServer(greeting: string | undefined) {
  const server = net.createServer((socket) => {
    if (greeting === undefined) return;
    socket.end(greeting);
  });
  const sockets = tracked(server);
  const port = await listen(server);
  return { port, close: () => closeServer(server, sockets) };
}

/** An HTTP server answering every request with `status` (changeable) and recording request lines. */
export async function httpServer(status: number) {
  const requests: string[] = [];
  const state = { status };
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
    res.writeHead(state.status);
    res.end();
  });
  const sockets = tracked(server);
  const port = await listen(server);
  return {
    port,
    requests,
    setStatus(next: number) {
      state.status = next;
    },
    close: () => closeServer(server, sockets),
  };
}

const SYN_DROP_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const gate = new Int32Array(workerData.gate);
const server = net.createServer((socket) => { socket.on('error', () => {}); socket.destroy(); });
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  // Block this thread's event loop: the listening socket is never accepted from, so once its small backlog
  // is full the kernel drops new SYNs. Bounded, in case the test never lets go.
  Atomics.wait(gate, 0, 0, 60000);
  parentPort.once('message', () => server.close(() => parentPort.close()));
});
`;

/**
 * A listening port that drops SYNs (reference §11): a listener with a tiny backlog whose thread never accepts,
 * its backlog pre-filled with client connections. `release()` lets it accept again (it then resets every
 * connection after accepting it).
 */
export async function synDropListener(): Promise<Fixture & { release(): void }> {
  const gate = new SharedArrayBuffer(4);
  const worker = new Worker(SYN_DROP_WORKER, { eval: true, workerData: { gate } });
  const [port] = (await once(worker, 'message')) as [number];
  const fillers: net.Socket[] = [];
  // backlog 1 holds two established connections on Linux; a few more make sure it is full.
  let established = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 4; i++) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      s.once('connect', () => {
        if (++established === 2) resolve();
      });
      fillers.push(s);
    }
  });
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
  };
  return {
    port,
    release,
    close: async () => {
      for (const s of fillers) s.destroy();
      release();
      worker.postMessage('close');
      await once(worker, 'exit');
    },
  };
}
