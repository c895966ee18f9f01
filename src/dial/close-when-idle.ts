import type net from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import type { Lease } from '../lease.js';

/**
 * @internal
 * How `balancer.connect()`, `createConnection()` and the adapters honour `lease.recycle()`: from then on the socket
 * is watched every `quietMs` of `clock`, and once a whole `quietMs` passes with no byte read, none written and
 * nothing queued to write, it is ended (FIN): the client pool sees an idle connection close and opens another,
 * which the balancer places again. A busy connection is never cut: it closes at its first quiet period. If the
 * server does not close its side within another `quietMs`, the socket is destroyed. Nothing runs until a recycle.
 */
export function closeWhenIdle(lease: Lease, socket: net.Socket, clock: Clock, quietMs: number): void {
  lease.onRecycle(() => {
    let read = socket.bytesRead;
    let written = socket.bytesWritten;
    let ending = false;
    let timer: TimerHandle | undefined;
    const stop = (): void => timer?.cancel();
    socket.once('close', stop);
    const tick = (): void => {
      timer = undefined;
      if (socket.destroyed) return;
      if (ending) {
        socket.destroy();
        return;
      }
      const quiet = socket.bytesRead === read && socket.bytesWritten === written && socket.writableLength === 0;
      read = socket.bytesRead;
      written = socket.bytesWritten;
      if (quiet) {
        ending = true;
        socket.end();
      }
      timer = clock.setTimeout(tick, quietMs);
    };
    timer = clock.setTimeout(tick, quietMs);
  });
}
