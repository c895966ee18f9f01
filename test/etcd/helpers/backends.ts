import type net from 'node:net';
import { type FaultBackend, faultBackend } from '../../../src/testing/index.js';

/** A backend answering `PING\n` with `PONG\n` (after `delayMs`), counting the connections it accepted, with their times. */
export interface PongBackend {
  readonly backend: FaultBackend;
  readonly port: number;
  /** `performance.now()` of every accepted connection. */
  readonly accepted: number[];
  /** Connections accepted since `at`. */
  since(at: number): number;
}

export async function pongBackend(delayMs = 0): Promise<PongBackend> {
  const handler = (socket: net.Socket): void => {
    socket.on('data', () => {
      if (delayMs === 0) socket.end('PONG\n');
      else setTimeout(() => socket.end('PONG\n'), delayMs).unref();
    });
    socket.on('error', () => undefined);
  };
  const backend = await faultBackend({ handler });
  const accepted: number[] = [];
  backend.on('connection', () => accepted.push(performance.now()));
  return { backend, port: backend.port, accepted, since: (at) => accepted.filter((t) => t >= at).length };
}
