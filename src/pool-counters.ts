import type { Server } from './server.js';
import type { ServerState } from './state/server-state.js';

/**
 * @internal
 * The counters of a pool's servers that the Balancer and the dialers move — leases, server queues, picks,
 * connection attempts — written into the state the {@link Pool} keeps for each server (its only writer for
 * everything else), so every count of a server lives in one place. Reached as `pool._counters`.
 */
export class PoolCounters {
  readonly #state: (server: Server) => ServerState;

  constructor(state: (server: Server) => ServerState) {
    this.#state = state;
  }

  /** A lease was granted; `selection` when the strategy chose the server (HAProxy `lbtot`), not a queue. */
  leaseGranted(server: Server, selection: boolean): void {
    this.#state(server).leaseGranted(selection);
  }

  leaseReleased(server: Server): void {
    this.#state(server).current--;
  }

  /** A caller entered (1) or left (-1) the server's own queue. */
  queueChanged(server: Server, delta: 1 | -1): void {
    this.#state(server).queueChanged(delta);
  }

  /** The strategy chose the server for a caller that waits in its queue: HAProxy counts `lbtot` then. */
  picked(server: Server): void {
    this.#state(server).lbSelections++;
  }

  /** A dialer's connection attempt on a lease began, or failed / the lease went (`server.openConnections`). */
  opened(server: Server, open: boolean): void {
    this.#state(server).open += open ? 1 : -1;
  }

  /** A dialer attempts the server again on the same lease (HAProxy's `stot` counts every attempt). */
  connectRetried(server: Server): void {
    this.#state(server).repeatedAttempts++;
  }
}
