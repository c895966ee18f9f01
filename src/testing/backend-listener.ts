import net from 'node:net';
import { systemClock } from '../clock.js';
import type { Behaviour } from './behaviour.js';
import { Blackhole } from './blackhole.js';
import { PortHold } from './port-hold.js';

/** @internal What the port of a fault backend does: accept, refuse (nothing listens) or drop SYNs. */
export type ListenerMode = 'listen' | 'refuse' | 'blackhole';

type Listener =
  | { readonly mode: 'listen'; readonly server: net.Server }
  | { readonly mode: 'refuse'; readonly release: (() => void) | undefined }
  | { readonly mode: 'blackhole'; readonly hole: Blackhole };

/** Relistening after `refuse`/`blackhole` retries this often when the port is briefly taken. */
const RELISTEN_ATTEMPTS = 50;
const RELISTEN_PAUSE_MS = 20;

/** @internal The listener mode a behaviour needs. */
export function listenerMode(b: Behaviour): ListenerMode {
  return b.kind === 'refuse' || b.kind === 'blackhole' ? b.kind : 'listen';
}

/**
 * @internal
 * The port of a {@link FaultBackend}: listening, refusing or blackholing, and always the same port, kept
 * reserved by a {@link PortHold} while nothing listens on it. Transitions are not queued here; the backend
 * runs them one at a time.
 */
export class BackendListener {
  readonly host: string;
  readonly #onConnection: (socket: net.Socket) => void;
  #port: number;
  #listener: Listener | undefined;
  #hold: PortHold | undefined;

  constructor(host: string, port: number, onConnection: (socket: net.Socket) => void) {
    this.host = host;
    this.#port = port;
    this.#onConnection = onConnection;
  }

  /** The port; the one asked for until {@link BackendListener.start} has bound any free one. */
  get port(): number {
    return this.#port;
  }

  /** Listens first, which gives the backend its port whatever it is told to do, then takes `mode`. */
  async start(mode: ListenerMode): Promise<void> {
    const server = await this.#listen(this.#port);
    this.#port = (server.address() as net.AddressInfo).port;
    this.#listener = { mode: 'listen', server };
    if (mode !== 'listen') await this.switchTo(mode);
  }

  /** Leaves the current mode for `mode`, keeping the port reserved in between. */
  async switchTo(mode: ListenerMode): Promise<void> {
    const current = this.#listener;
    if (current?.mode === mode) return;
    const host = this.host;
    const port = this.#port;
    let release: (() => void) | undefined;
    if (current?.mode === 'listen') {
      current.server.close();
      this.#hold ??= await PortHold.open(host);
      release = await this.#hold.hold(host, port);
    } else if (current?.mode === 'refuse') {
      release = current.release;
    } else if (current?.mode === 'blackhole') {
      await current.hole.release();
      this.#hold ??= await PortHold.open(host);
      release = await this.#hold.hold(host, port);
    }
    this.#listener = undefined;
    if (mode === 'refuse') {
      this.#listener = { mode, release };
      return;
    }
    try {
      this.#listener = mode === 'listen' ? { mode, server: await this.#listen(port) } : { mode, hole: await Blackhole.start(host, port) };
    } finally {
      release?.();
    }
  }

  /** Stops listening and gives the port up. */
  async close(): Promise<void> {
    const current = this.#listener;
    this.#listener = undefined;
    if (current?.mode === 'listen') current.server.close();
    else if (current?.mode === 'refuse') current.release?.();
    else if (current?.mode === 'blackhole') await current.hole.release();
    await this.#hold?.close();
    this.#hold = undefined;
  }

  /** Listens on `port`; when a port we had is briefly taken (EADDRINUSE), tries again a few times. */
  async #listen(port: number): Promise<net.Server> {
    for (let attempt = 1; ; attempt++) {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, this.#onConnection);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: this.host, port }, () => {
            server.removeListener('error', reject);
            resolve();
          });
        });
        server.on('error', () => {});
        return server;
      } catch (err) {
        if (port === 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= RELISTEN_ATTEMPTS) throw err;
        await new Promise<void>((resolve) => systemClock.setTimeout(resolve, RELISTEN_PAUSE_MS));
      }
    }
  }
}
