import { once } from 'node:events';
import net from 'node:net';

/**
 * @internal
 * Keeps a port reserved while nothing listens on it, so that a backend that went down can come back on the
 * same port.
 *
 * Once a listener closes, the kernel may hand its port to any outgoing connection as its ephemeral local port,
 * and listening there again then fails with `EADDRINUSE` (on a busy loopback that happens within seconds).
 * A socket explicitly bound to the port keeps it out of the ephemeral range, and because Node binds with
 * `SO_REUSEADDR`, a listener can still be opened on it. The holder is an ordinary connection from the port to
 * an anchor listener of the backend: connecting to the port itself is refused as before, since nothing listens.
 */
export class PortHold {
  readonly #anchor: net.Server;
  readonly #held = new Set<net.Socket>();

  private constructor(anchor: net.Server) {
    this.#anchor = anchor;
    anchor.on('connection', (socket: net.Socket) => {
      // The accepted end of a hold: closed by the holder.
      socket.on('error', () => {});
      this.#held.add(socket);
      socket.once('close', () => this.#held.delete(socket));
    });
  }

  /** Opens the anchor listener on `host`, any port. */
  static async open(host: string): Promise<PortHold> {
    const anchor = net.createServer();
    anchor.listen({ host, port: 0 });
    await once(anchor, 'listening');
    anchor.unref();
    return new PortHold(anchor);
  }

  /**
   * Binds a socket to `host:port` (connected to the anchor). Resolves with a release function, or with
   * `undefined` when the port was taken in the moment after its listener closed.
   */
  async hold(host: string, port: number): Promise<(() => void) | undefined> {
    const anchor = this.#anchor.address() as net.AddressInfo;
    const socket = net.connect({ host, port: anchor.port, localAddress: host, localPort: port });
    socket.unref();
    this.#held.add(socket);
    socket.once('close', () => this.#held.delete(socket));
    try {
      await once(socket, 'connect');
    } catch {
      socket.destroy();
      return undefined;
    }
    return () => socket.destroy();
  }

  /** Closes every hold and the anchor. */
  async close(): Promise<void> {
    for (const s of this.#held) s.destroy();
    if (!this.#anchor.listening) return;
    await new Promise<void>((resolve) => this.#anchor.close(() => resolve()));
  }
}
