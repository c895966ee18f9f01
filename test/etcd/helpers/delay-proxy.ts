import { once } from 'node:events';
import net from 'node:net';

/**
 * A loopback TCP relay in front of an etcd member that this test controls: every chunk, in both directions, is
 * held `delayMs` before it is passed on (order kept), so etcd looks slow to whoever connects through it.
 * Test plumbing only; nothing here is part of switchyard.
 */
export class DelayProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cut = false;
  delayMs: number;

  private constructor(server: net.Server, delayMs: number) {
    this.#server = server;
    this.delayMs = delayMs;
  }

  static async start(targetPort: number, delayMs: number): Promise<DelayProxy> {
    const server = net.createServer();
    const proxy = new DelayProxy(server, delayMs);
    server.on('connection', (client) => proxy.#relay(client, targetPort));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cuts every connection and refuses new ones (destroys them on accept) until {@link DelayProxy.restore}. */
  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #relay(client: net.Socket, targetPort: number): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => undefined);
    }
    const pipe = (from: net.Socket, to: net.Socket): void => {
      let last = 0;
      from.on('data', (chunk: Buffer) => {
        const at = Math.max(performance.now() + this.delayMs, last);
        last = at;
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk);
        }, at - performance.now());
      });
      from.on('close', () => {
        const at = Math.max(performance.now() + this.delayMs, last);
        setTimeout(() => to.destroy(), at - performance.now());
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
  }
}
