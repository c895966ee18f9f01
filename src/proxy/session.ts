import type net from 'node:net';
import type { LbError } from '../errors.js';
import type { Lease } from '../lease.js';
import type { ConnectOutcome } from '../outcome.js';
import type { Server } from '../server.js';
import type { ConnectPolicy } from '../dial/connect-policy.js';
import { Dialer } from '../dial/dialer.js';
import type { LeaseSource } from '../lease.js';
import { type ClientReader, EarlyBytes } from './client-read.js';
import type { RawHandles } from './raw-handles.js';
import { RawSocket, type RawSocketHandlers } from './raw-socket.js';
import type { RelaySocket } from './relay-socket.js';
import { connectUpstream, endIsNotAFin, readClient } from './sockets.js';
import { LARGE_READ_BYTES, type ReadBuffers, SHRINK_BELOW_BYTES } from './pipe.js';
import { encodeProxyV1, encodeProxyV2 } from './proxy-protocol.js';
import type { LocalAddresses } from './records.js';
import type { SessionSettings } from './tcp-proxy-options.js';
import { type TerminationCode, dialFailureCode } from './termination.js';

/** @internal What a session needs of its proxy. */
export interface SessionHost {
  readonly settings: SessionSettings;
  readonly buffers: ReadBuffers;
  /** The `onread` option of every upstream socket: the proxy's buffers and {@link Session.onUpstreamRead}. */
  readonly onread: net.OnReadOpts;
  /** Reads accepted sockets with `onread` ({@link Session.onClientRead}); undefined where Node lacks what it needs. */
  readonly clientReader: ClientReader | undefined;
  /** Node's TCP handles, when the proxy relays on them (`relay: 'handles'`, and this Node has them). */
  readonly raw: RawHandles | undefined;
  opened(session: Session): void;
  retried(session: Session, server: Server, outcome: ConnectOutcome, redispatch: boolean, delayMs: number): void;
  reassigned(previous: Server, moved: boolean): void;
  rejected(session: Session, error: LbError): void;
  closed(session: Session): void;
}

const SESSION = Symbol('switchyard.session');
type SessionSocket = RelaySocket & { [SESSION]?: Session };

function sessionOf(socket: RelaySocket): Session {
  return (socket as SessionSocket)[SESSION]!;
}

/**
 * @internal
 * One proxied connection: dials on accept (inherited from {@link Dialer}), then relays both ways with
 * backpressure and half-close, and ends with one termination code. Socket events go to shared functions
 * that find the session through a symbol on the socket, so a session allocates no closures.
 */
export class Session extends Dialer<RelaySocket> {
  readonly host: SessionHost;
  readonly client: RelaySocket;
  readonly acceptedAt: number;
  upstream: RelaySocket | undefined = undefined;
  server: Server | undefined = undefined;
  /** Bytes received from the client (sent to the server). */
  bytesIn = 0;
  /** Bytes received from the server (sent to the client). */
  bytesOut = 0;
  termination: TerminationCode | undefined = undefined;
  error: Error | undefined = undefined;
  closedAt = 0;
  /** The sockets' local addresses, kept only with the proxy's `recordLocalAddresses` option. */
  localAddresses: { -readonly [K in keyof LocalAddresses]: LocalAddresses[K] } | undefined = undefined;
  /** Bytes moved since the last timeout sweep (a flag, so the relay never reads the clock). */
  touched = false;
  /** Clock time of the sweep that last saw bytes move (or of the accept). */
  lastActiveAt = 0;
  #held: Lease | undefined = undefined;
  #clientClosed = false;
  #upstreamClosed = true;
  /** The client sent its FIN / we sent ours to it; the same for the upstream. */
  #clientEof = false;
  #clientFin = false;
  #upstreamEof = false;
  #upstreamFin = false;
  #finished = false;
  /** The connection's own read buffer, once it transfers in bulk. */
  #ownBuffer: Buffer | undefined = undefined;
  /** The upstream is not read until the client takes what was written. */
  #upstreamPaused = false;
  #afterLentWrite: (() => void) | undefined = undefined;
  /** The client is read with `onread` ({@link Session.onClientRead}) instead of `data` events. */
  #clientOnread = false;
  #early: EarlyBytes | undefined = undefined;

  /** `addressNow`: look the client's address up now (for the strategy, or a record made after the socket closes), else when asked. */
  constructor(host: SessionHost, balancer: LeaseSource, policy: ConnectPolicy, client: RelaySocket, key: string | number | undefined, addressNow: boolean, noDelayInherited = false) {
    super(balancer, policy, addressNow ? client.remoteAddress : undefined, key);
    this.host = host;
    this.client = client;
    this.acceptedAt = policy.clock.now();
    (client as SessionSocket)[SESSION] = this;
    // The application's server may not allow half-open sockets; a proxy must (documented Duplex property).
    client.allowHalfOpen = true;
    if (host.settings.noDelay && !noDelayInherited) client.setNoDelay(true);
    if (host.settings.recordLocalAddresses) this.localAddresses = { frontendAddress: client.localAddress, frontendPort: client.localPort, sourceAddress: undefined, sourcePort: undefined };
    this.lastActiveAt = this.acceptedAt;
    // Before the socket's first read (Node reads after the `connection` event): every byte takes one path.
    this.#clientOnread = readClient(host, client, Session.onClientRead);
    // With `onread` the stream holds no bytes and emits `end` at the FIN, maybe before the upstream is there.
    if (client instanceof RawSocket) {
      client.setHandlers(Session.#handlersFor('client'));
    } else {
      if (this.#clientOnread) client.on('end', Session.#onClientEnd);
      client.on('error', Session.#onClientError);
      client.on('close', Session.#onClientClose);
    }
  }

  /** The client's address and port (the socket keeps them once looked up). */
  get clientAddress(): string | undefined { return this.client.remoteAddress; }
  get clientPort(): number | undefined { return this.client.remotePort; }

  /** Where the connection is, as the second letter of a termination code. */
  get phase(): 'Q' | 'C' | 'D' {
    return this.dialPhase === 'queue' ? 'Q' : this.dialPhase === 'done' ? 'D' : 'C';
  }

  /** Ends the connection now with `cause` (`K`, `D`, `U`…) as the first letter of its termination code. */
  kill(cause: 'K' | 'D' | 'U' | 'c' | 's'): void {
    const phase = this.phase;
    // HAProxy 2.6 logs an established session cut by shutdown-sessions as `D-` (`U-` for backups).
    this.termination ??= (cause === 'D' || cause === 'U') && phase === 'D' ? `${cause}-` : `${cause}${phase}`;
    this.cancelDial();
    this.client.destroy();
    this.upstream?.destroy();
  }

  /** Closes the connection before any dial because the proxy itself failed (a throwing `key` option): `PC`. */
  abort(error: LbError): void {
    this.termination ??= 'PC';
    this.error ??= error;
    this.host.rejected(this, error);
    this.cancelDial();
    this.client.destroy();
  }

  protected createSocket(server: Server): RelaySocket {
    const socket = connectUpstream(this.host, server, Session.onUpstreamRead);
    (socket as SessionSocket)[SESSION] = this;
    return socket;
  }

  protected dialed(socket: RelaySocket, lease: Lease): void {
    this.upstream = socket;
    this.#held = lease;
    this.server = lease.server;
    this.#upstreamClosed = false;
    const { settings } = this.host;
    if (this.localAddresses !== undefined) {
      this.localAddresses.sourceAddress = socket.localAddress;
      this.localAddresses.sourcePort = socket.localPort;
    }
    if (socket instanceof RawSocket) {
      socket.setHandlers(Session.#handlersFor('upstream'));
    } else {
      socket.on('error', Session.#onUpstreamError);
      socket.on('close', Session.#onUpstreamClose);
      socket.on('end', Session.#onUpstreamEnd);
      socket.on('drain', Session.#onUpstreamDrain);
    }
    this.touched = true;
    const client = this.client;
    // The server's own setting wins over the proxy's (HAProxy's send-proxy is a server keyword).
    const own = lease.server.sendProxy;
    const sendProxy = own === undefined ? settings.sendProxy : own === false ? undefined : own;
    if (sendProxy !== undefined) {
      const source = { address: this.clientAddress, port: this.clientPort };
      const destination = { address: client.localAddress, port: client.localPort };
      socket.write(sendProxy === 'v1' ? encodeProxyV1(source, destination) : encodeProxyV2(source, destination));
    }
    if (!(client instanceof RawSocket)) client.on('drain', Session.#onClientDrain); // in its handlers otherwise
    if (this.#clientOnread) {
      const early = this.#early;
      this.#early = undefined;
      this.bytesIn += early?.bytes ?? 0;
      // Reads again (if the early bytes filled the allowance) and lets the stream emit its `end`; or the upstream's `drain` does.
      if (early === undefined || early.writeTo(socket)) client.resume();
      if (this.#clientEof) Session.#clientEnded(this); // the client's FIN came early: it follows the early bytes
    } else {
      client.on('end', Session.#onClientEnd);
      (client as unknown as net.Socket).on('data', Session.#onClientData); // a net.Socket: raw sockets read with onread
      // A server made with `pauseOnConnect` hands over paused sockets, which a `data` listener does not resume.
      if (client.isPaused()) client.resume();
    }
    this.host.opened(this);
  }

  protected dialFailed(error: LbError): void {
    this.termination ??= dialFailureCode(error);
    this.error ??= error;
    this.host.rejected(this, error);
    this.client.destroy();
    this.#maybeFinish();
  }

  protected override retrying(server: Server, outcome: ConnectOutcome, redispatch: boolean, delayMs: number): void {
    this.host.retried(this, server, outcome, redispatch, delayMs);
  }

  protected override reassigned(previous: Server, moved: boolean): void {
    this.host.reassigned(previous, moved);
  }

  /** The `onread` callback of upstream sockets (`this` is the socket). */
  static readonly onUpstreamRead = function (this: RelaySocket, nread: number, buffer: Buffer): boolean {
    const s = sessionOf(this);
    s.bytesOut += nread;
    s.touched = true;
    const client = s.client;
    let more: boolean;
    if (buffer !== s.#ownBuffer) {
      // The shared buffer: copy out now, it is overwritten by the next read of any connection.
      const chunk = Buffer.allocUnsafe(nread);
      buffer.copy(chunk, 0, 0, nread);
      if (nread === buffer.length) s.#ownBuffer = Buffer.allocUnsafe(LARGE_READ_BYTES);
      more = client.write(chunk);
    } else {
      const lent = nread === buffer.length ? buffer : buffer.subarray(0, nread);
      s.#afterLentWrite ??= () => s.#lentWriteDone();
      client.write(lent, s.#afterLentWrite);
      // Anything still pending holds a view of our buffer: read nothing more until it is written.
      more = client.writableLength === 0;
      if (more && nread < SHRINK_BELOW_BYTES) s.#ownBuffer = undefined;
    }
    if (!more) s.#upstreamPaused = true;
    s.host.buffers.setNext(s.#ownBuffer);
    return more;
  };

  /**
   * The `onread` callback of adopted client sockets (`this` is the socket; the buffer is the proxy's: copy what is kept).
   * Before the upstream is connected the bytes wait ({@link EarlyBytes}), read on so a reset is seen.
   * Returning false stops reading; the upstream's `drain` resumes the client.
   */
  static readonly onClientRead = function (this: RelaySocket, nread: number, buffer: Buffer): boolean {
    const s = sessionOf(this);
    const chunk = Buffer.allocUnsafe(nread);
    buffer.copy(chunk, 0, 0, nread);
    const upstream = s.upstream;
    if (upstream === undefined) return (s.#early ??= new EarlyBytes()).keep(chunk);
    s.bytesIn += nread;
    s.touched = true;
    return upstream.write(chunk);
  };

  #lentWriteDone(): void {
    this.touched = true;
    if (this.#upstreamPaused && this.client.writableLength === 0) this.#resumeUpstream();
  }

  #resumeUpstream(): void {
    this.#upstreamPaused = false;
    const upstream = this.upstream;
    if (upstream !== undefined && !upstream.destroyed) upstream.resume();
  }

  static #onClientData(this: RelaySocket, chunk: Buffer): void {
    const s = sessionOf(this);
    s.bytesIn += chunk.length;
    s.touched = true;
    if (!s.upstream!.write(chunk)) (this as unknown as net.Socket).pause();
  }

  static #onUpstreamDrain(this: RelaySocket): void {
    const s = sessionOf(this);
    s.touched = true;
    s.client.resume();
  }

  static #onClientDrain(this: RelaySocket): void {
    const s = sessionOf(this);
    s.touched = true;
    if (s.#upstreamPaused) s.#resumeUpstream();
  }

  static #onClientEnd(this: RelaySocket): void {
    const s = sessionOf(this);
    if (!Session.#notAFin(s, this, s.#clientFin, Session.#clientEnded)) Session.#clientEnded(s);
  }

  static #clientEnded(s: Session): void {
    // Half-close: the client is done sending; the server's remaining data still flows to it.
    s.#clientEof = true;
    if (s.upstream === undefined) return; // an early FIN (`onread`): passed on once connected
    s.#upstreamFin = true;
    Session.#finish(s.upstream!, s.#upstreamEof);
  }

  static #onUpstreamEnd(this: RelaySocket): void {
    const s = sessionOf(this);
    if (!Session.#notAFin(s, this, s.#upstreamFin, Session.#upstreamEnded)) Session.#upstreamEnded(s);
  }

  static #upstreamEnded(s: Session): void {
    s.#upstreamEof = true;
    s.#clientFin = true;
    Session.#finish(s.client, s.#clientEof);
  }

  static #notAFin(s: Session, socket: RelaySocket, finSent: boolean, ended: (s: Session) => void): boolean {
    return endIsNotAFin(socket, socket === s.client ? 'client' : 'server', finSent, ended, s);
  }

  /**
   * Sends our FIN on `socket`. When its peer already sent its own and everything we wrote has reached the
   * kernel, closing the socket sends the same FIN (after the queued data) and saves a `shutdown()` and Node's
   * end-of-stream steps, as HAProxy closes without a shutdown in that case.
   */
  static #finish(socket: RelaySocket, peerEnded: boolean): void {
    if (peerEnded && socket.writableLength === 0) socket.destroy();
    else socket.end();
  }

  static #onClientError(this: RelaySocket, err: Error): void {
    const s = sessionOf(this);
    s.error ??= err;
    s.termination ??= `C${s.phase}`;
    s.cancelDial();
    s.upstream?.destroy();
  }

  static #onUpstreamError(this: RelaySocket, err: Error): void {
    const s = sessionOf(this);
    s.error ??= err;
    s.termination ??= 'SD';
    s.client.destroy();
  }

  /**
   * Called by the proxy's sweep with the clock's time: ends the connection when a side has been idle for its timeout.
   * Any byte relayed counts for both sides (read from one socket, written to the other; HAProxy counts both alike).
   */
  checkTimeouts(now: number): void {
    if (this.touched) {
      this.touched = false;
      this.lastActiveAt = now;
      return;
    }
    const settings = this.host.settings;
    const idle = now - this.lastActiveAt;
    const connected = this.upstream !== undefined;
    const tunnel = connected ? settings.timeoutTunnelMs : undefined;
    const clientOver = idle >= (tunnel ?? settings.timeoutClientMs);
    const serverOver = connected && idle >= (tunnel ?? settings.timeoutServerMs);
    if (!clientOver && !serverOver) return;
    // Both sides idle: blame the side whose socket holds unsent data (it stopped reading), else the client.
    const server = serverOver && (!clientOver || (this.upstream!.writableLength > 0 && this.client.writableLength === 0));
    this.kill(server ? 's' : 'c');
  }

  static #onClientClose(this: RelaySocket): void {
    const s = sessionOf(this);
    s.#clientClosed = true;
    if (s.dialPhase !== 'done') {
      s.termination ??= `C${s.phase}`; // the client left while we were queued or connecting
      s.cancelDial();
    } else {
      // After both directions ended the upstream is closing too; otherwise (reset, error, destroyed) cut it.
      if (!(s.#clientEof && s.#clientFin) && !s.#upstreamClosed) {
        s.termination ??= 'CD';
        s.upstream?.destroy();
      }
    }
    s.#maybeFinish();
  }

  static #onUpstreamClose(this: RelaySocket): void {
    const s = sessionOf(this);
    s.#upstreamClosed = true;
    s.#held?.release();
    if (!(s.#upstreamEof && s.#upstreamFin) && !s.#clientClosed) {
      s.termination ??= 'SD';
      s.client.destroy();
    }
    s.#maybeFinish();
  }

  /** What sockets on TCP handles call instead of listeners. Made on first use (tsc's ES2022 static initializers cannot). */
  static #handlers: { readonly client: RawSocketHandlers; readonly upstream: RawSocketHandlers } | undefined;
  static #handlersFor(side: 'client' | 'upstream'): RawSocketHandlers {
    Session.#handlers ??= {
      client: Object.freeze({ end: Session.#onClientEnd, error: Session.#onClientError, close: Session.#onClientClose, drain: Session.#onClientDrain }),
      upstream: Object.freeze({ end: Session.#onUpstreamEnd, error: Session.#onUpstreamError, close: Session.#onUpstreamClose, drain: Session.#onUpstreamDrain }),
    };
    return Session.#handlers[side];
  }

  #maybeFinish(): void {
    if (this.#finished || !this.#clientClosed || !this.#upstreamClosed || this.dialPhase !== 'done') return;
    this.#finished = true;
    this.termination ??= '--';
    this.closedAt = this.policy.clock.now();
    this.#ownBuffer = undefined;
    this.#early = undefined;
    this.host.closed(this);
  }
}
