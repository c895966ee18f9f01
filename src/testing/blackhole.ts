import { once } from 'node:events';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { systemClock } from '../clock.js';

/**
 * The code of the listener thread: listens with a one-slot accept queue, says so, then blocks its event loop
 * (Atomics.wait) so that nothing is ever accepted. Once the queue is full, Linux drops further SYNs: a client's
 * connect hangs as it would towards a host that went away.
 */
const LISTENER_SOURCE = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const server = net.createServer();
server.on('error', (err) => parentPort.postMessage({ error: err.code ?? String(err) }));
server.listen({ host: workerData.host, port: workerData.port, backlog: 1 }, () => {
  parentPort.postMessage({ port: server.address().port });
  Atomics.wait(workerData.flag, 0, 0);
  server.close();
});
`;

/** Established connections that fill the accept queue; Linux holds backlog + 1, a few more make sure. */
const FILLERS = 4;
/** How many of them must complete their handshake before the queue counts as full. */
const FILLERS_CONNECTED = 2;
/**
 * How long to wait for the fillers' handshakes, ms. When other clients are connecting to the port at the same
 * time (a proxy under load, a health checker), their SYNs may fill the queue first and the fillers' are dropped:
 * the queue is full either way.
 */
const FILL_WAIT_MS = 1000;

/** @internal A port whose SYNs are dropped, until {@link Blackhole.release}. */
export class Blackhole {
  readonly port: number;
  readonly #worker: Worker;
  readonly #flag: Int32Array;
  readonly #fillers: net.Socket[];
  #released: Promise<void> | undefined;

  private constructor(port: number, worker: Worker, flag: Int32Array, fillers: net.Socket[]) {
    this.port = port;
    this.#worker = worker;
    this.#flag = flag;
    this.#fillers = fillers;
  }

  /** Listens on `host:port` in a blocked thread and fills its accept queue. */
  static async start(host: string, port: number): Promise<Blackhole> {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    // No inherited execArgv: under `--input-type=module` (or a loader) the eval'd CommonJS source would not run.
    const worker = new Worker(LISTENER_SOURCE, { eval: true, execArgv: [], workerData: { host, port, flag } });
    worker.unref();
    const [message] = (await once(worker, 'message')) as [{ port?: number; error?: string }];
    const release = async (): Promise<void> => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    };
    if (message.port === undefined) {
      await release();
      const err = new Error(`blackhole listener on ${host}:${port} failed: ${message.error}`) as NodeJS.ErrnoException;
      if (message.error !== undefined) err.code = message.error;
      throw err;
    }
    const fillers: net.Socket[] = [];
    const hole = new Blackhole(message.port, worker, flag, fillers);
    let connected = 0;
    let done: (() => void) | undefined;
    const full = new Promise<void>((resolve) => (done = resolve));
    for (let i = 0; i < FILLERS; i++) {
      const c = net.connect({ port: message.port, host });
      c.on('error', () => {});
      c.on('connect', () => {
        if (++connected === FILLERS_CONNECTED) done!();
      });
      fillers.push(c);
    }
    const timer = systemClock.setTimeout(() => done!(), FILL_WAIT_MS);
    await full;
    timer.cancel();
    return hole;
  }

  /** Closes the fillers and the listener; resolves once the port is free. Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      for (const c of this.#fillers) c.destroy();
      Atomics.store(this.#flag, 0, 1);
      Atomics.notify(this.#flag, 0);
      await this.#worker.terminate();
    })();
    return this.#released;
  }
}
