import type net from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';

/**
 * What a {@link FaultBackend} does with connections. Every kind except `serve` runs the kit's own echo, so the
 * fault is the only thing that differs from a healthy echo server:
 *
 * - `serve`: the backend's `handler` (an echo server by default): healthy.
 * - `refuse`: nothing listens on the port; connecting fails with `ECONNREFUSED` (a stopped process).
 * - `blackhole`: the port's accept queue is full and SYNs are dropped; connecting hangs until the client's own
 *   connect timeout (a host that vanished, a firewall that drops).
 * - `accept-no-read`: the handshake completes, then nothing is read or written (a hung process).
 * - `reset`: echoes until it has received `afterBytes` bytes, then resets the connection (RST); `afterBytes: 0`
 *   resets right after the accept.
 * - `close-after`: echoes until it has sent `bytes` bytes, then closes its side (FIN) and drops what follows.
 * - `greet`: writes `banner` on accept (a server-speaks-first protocol: SMTP, MySQL, Redis `HELLO`), then echoes.
 * - `slow`: echoes, writing at most `chunkBytes` bytes per `delayMs` of the backend's clock; stops reading while
 *   it has something to write.
 * - `stall-read`: echoes the first `afterBytes` bytes, then never reads again: the peer's writes back up.
 */
export type Behaviour =
  | { readonly kind: 'serve' }
  | { readonly kind: 'refuse' }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'accept-no-read' }
  | { readonly kind: 'reset'; readonly afterBytes: number }
  | { readonly kind: 'close-after'; readonly bytes: number }
  | { readonly kind: 'greet'; readonly banner: string | Uint8Array }
  | { readonly kind: 'slow'; readonly delayMs: number; readonly chunkBytes: number }
  | { readonly kind: 'stall-read'; readonly afterBytes: number };

/** The kinds of {@link Behaviour}. */
export type BehaviourKind = Behaviour['kind'];

/** A behaviour, or the name of one whose parameters all have defaults. */
export type BehaviourSpec =
  | Behaviour
  | { readonly kind: 'reset'; readonly afterBytes?: number }
  | { readonly kind: 'slow'; readonly delayMs: number; readonly chunkBytes?: number }
  | { readonly kind: 'stall-read'; readonly afterBytes?: number }
  | 'serve' | 'refuse' | 'blackhole' | 'accept-no-read' | 'reset' | 'stall-read';

/** Every behaviour kind. */
export const BEHAVIOUR_KINDS: readonly BehaviourKind[] = Object.freeze([
  'serve', 'refuse', 'blackhole', 'accept-no-read', 'reset', 'close-after', 'greet', 'slow', 'stall-read',
]);

const SHORTHANDS = ['serve', 'refuse', 'blackhole', 'accept-no-read', 'reset', 'stall-read'] as const;

/** Validates a behaviour once and returns a frozen copy with its defaults filled in. */
export function resolveBehaviour(spec: unknown): Behaviour {
  if (typeof spec === 'string') return resolveBehaviour({ kind: v.oneOf('behaviour', spec, SHORTHANDS) });
  const o = v.plainObject('behaviour', spec);
  const kind = v.oneOf('behaviour.kind', o['kind'], BEHAVIOUR_KINDS);
  const keys = (...extra: string[]): void => v.knownKeys('behaviour', o, ['kind', ...extra]);
  switch (kind) {
    case 'serve':
    case 'refuse':
    case 'blackhole':
    case 'accept-no-read':
      keys();
      return Object.freeze({ kind });
    case 'reset':
      keys('afterBytes');
      return Object.freeze({ kind, afterBytes: v.nonNegativeInteger('behaviour.afterBytes', o['afterBytes'] ?? 0) });
    case 'stall-read':
      keys('afterBytes');
      return Object.freeze({ kind, afterBytes: v.nonNegativeInteger('behaviour.afterBytes', o['afterBytes'] ?? 0) });
    case 'close-after':
      keys('bytes');
      return Object.freeze({ kind, bytes: v.nonNegativeInteger('behaviour.bytes', o['bytes']) });
    case 'greet': {
      keys('banner');
      const banner = o['banner'];
      if (typeof banner !== 'string' && !(banner instanceof Uint8Array)) throw invalidArg('behaviour.banner', 'must be a string or bytes', banner);
      return Object.freeze({ kind, banner: typeof banner === 'string' ? banner : Uint8Array.from(banner) });
    }
    case 'slow':
      keys('delayMs', 'chunkBytes');
      return Object.freeze({
        kind,
        delayMs: v.durationMs('behaviour.delayMs', o['delayMs']),
        chunkBytes: v.positiveInteger('behaviour.chunkBytes', o['chunkBytes'] ?? 16 * 1024),
      });
  }
}

/**
 * @internal
 * Runs a fault behaviour (anything but `serve`, `refuse`, `blackhole`) on one accepted socket, which arrives
 * paused. Returns a function that stops its timers (called when the socket closes).
 */
export function runFault(socket: net.Socket, behaviour: Behaviour, clock: Clock): () => void {
  const send = (chunk: Buffer | Uint8Array | string): void => {
    socket.write(chunk);
  };
  // An echo that follows the peer's half-close: its FIN is answered with ours once everything is written.
  const echoEnd = (): void => {
    socket.on('end', () => socket.end());
  };
  switch (behaviour.kind) {
    case 'accept-no-read':
      return noop;
    case 'greet':
      send(behaviour.banner);
      socket.on('data', (chunk: Buffer) => {
        if (!socket.write(chunk)) socket.pause();
      });
      socket.on('drain', () => socket.resume());
      echoEnd();
      socket.resume();
      return noop;
    case 'reset': {
      const limit = behaviour.afterBytes;
      if (limit === 0) {
        socket.resetAndDestroy();
        return noop;
      }
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        const keep = Math.min(chunk.length, limit - received);
        received += chunk.length;
        if (keep > 0) send(chunk.subarray(0, keep));
        if (received >= limit) socket.resetAndDestroy();
      });
      echoEnd();
      socket.resume();
      return noop;
    }
    case 'close-after': {
      let left = behaviour.bytes;
      const stop = (): void => {
        // Drop whatever else comes; the peer's FIN then closes the socket (ours is already sent).
        socket.removeAllListeners('data');
        socket.on('data', () => {});
        socket.end();
      };
      if (left === 0) {
        stop();
      } else {
        socket.on('data', (chunk: Buffer) => {
            const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
          left -= part.length;
          send(part);
          if (left === 0) stop();
        });
        echoEnd();
      }
      socket.resume();
      return noop;
    }
    case 'stall-read': {
      let left = behaviour.afterBytes;
      if (left === 0) return noop;
      socket.on('data', (chunk: Buffer) => {
        const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
        left -= part.length;
        send(part);
        // Bytes past the limit were read by Node already; they are dropped, not echoed. Nothing more is read.
        if (left === 0) socket.pause();
      });
      socket.resume();
      return noop;
    }
    case 'slow':
      return slowEcho(socket, behaviour.delayMs, behaviour.chunkBytes, clock);
    case 'serve':
    case 'refuse':
    case 'blackhole':
      throw new Error(`runFault called with ${behaviour.kind}`);
  }
}

function noop(): void {}

/** Echo that writes one piece of at most `chunkBytes` per `delayMs`; it reads again only when it has caught up. */
function slowEcho(socket: net.Socket, delayMs: number, chunkBytes: number, clock: Clock): () => void {
  const queue: Buffer[] = [];
  let timer: TimerHandle | undefined;
  let ended = false;
  const tick = (): void => {
    timer = undefined;
    if (socket.destroyed) return;
    const head = queue[0];
    if (head === undefined) return;
    const piece = head.length <= chunkBytes ? head : head.subarray(0, chunkBytes);
    if (piece === head) queue.shift();
    else queue[0] = head.subarray(chunkBytes);
    socket.write(piece);
    if (queue.length > 0) timer = clock.setTimeout(tick, delayMs);
    else if (ended) socket.end();
    else socket.resume();
  };
  socket.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    socket.pause();
    timer ??= clock.setTimeout(tick, delayMs);
  });
  socket.on('end', () => {
    ended = true;
    if (queue.length === 0 && timer === undefined) socket.end();
  });
  socket.resume();
  return () => {
    timer?.cancel();
    timer = undefined;
  };
}
