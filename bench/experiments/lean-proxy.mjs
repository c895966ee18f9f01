// Issue 13 experiment (b): what each change to the accept/relay path saves per connection, on plain Node
// (no switchyard, no balancer: round robin over the backends), so that one change at a time can be compared.
//
// usage: node lean-proxy.mjs <flags> <port,port,...>     prints "LISTENING <port>"; SIGTERM ends it
// flags, comma-separated ("base" for none):
//   net side (net.Server + net.Socket, the upstream read with `onread` into a shared buffer, as switchyard does):
//     nopeer     do not read client.remoteAddress (no getpeername per connection)
//     lnodelay   TCP_NODELAY set once on the listening socket (accepted sockets inherit it on Linux) instead of
//                client.setNoDelay(true) per connection
//     snodelay   net.createServer({ noDelay: true }) instead of client.setNoDelay(true)
//     pause      pauseOnConnect: the client is not read until the upstream is connected
//     fastclose  when the second side ends, destroy both instead of end() (shutdown) + Node's end-of-stream steps
//     cread      the client side too is read with its handle's onread into a buffer of the connection
//                (pauseOnConnect + _handle.useUserBuffer + onread), skipping the Readable machinery
//   rawup      the client stays a net.Socket ('data' events, write()); the upstream is a raw tcp_wrap handle
//              (no second net.Socket): what a proxy that keeps attach()/net.Server can save on the dial side
//   raw        no net.Socket at all: process.binding('tcp_wrap') handles, onread into per-side buffers,
//              WriteWrap/ShutdownWrap requests (the floor of what Node's own bindings cost per connection)
// Every flag that reaches into Node internals is checked at start-up and refuses to run if they are missing.
import net from 'node:net';

const flags = new Set(process.argv[2].split(','));
const ports = process.argv[3].split(',').map(Number);
let next = 0;
const pickPort = () => ports[next++ % ports.length];
const HOST = '127.0.0.1';

function listenNet() {
  const server = net.createServer({
    allowHalfOpen: true,
    pauseOnConnect: flags.has('pause') || flags.has('cread'),
    ...(flags.has('snodelay') ? { noDelay: true } : {}),
  });
  const shared = Buffer.allocUnsafe(64 * 1024);
  let peers = 0;
  if (flags.has('rawup')) server.on('connection', rawUpstream);
  else server.on('connection', (client) => {
    if (!flags.has('nopeer')) peers += client.remoteAddress.length; // as switchyard reads it for every session
    if (!flags.has('lnodelay') && !flags.has('snodelay')) client.setNoDelay(true);
    const up = net.connect({
      port: pickPort(),
      host: HOST,
      allowHalfOpen: true,
      noDelay: true,
      onread: {
        buffer: shared,
        callback(nread, buf) {
          const chunk = Buffer.allocUnsafe(nread);
          buf.copy(chunk, 0, 0, nread);
          return client.write(chunk) || (up.pause(), client.once('drain', () => up.resume()), false);
        },
      },
    });
    let clientEnded = false;
    let upEnded = false;
    const kill = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', kill);
    up.on('error', kill);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    up.once('connect', () => {
      if (flags.has('cread')) {
        clientRead(client, up);
      } else {
        client.on('data', (d) => {
          if (!up.write(d)) client.pause();
        });
        up.on('drain', () => client.resume());
        if (flags.has('pause')) client.resume();
      }
    });
    client.on('end', () => {
      clientEnded = true;
      if (flags.has('fastclose') && upEnded) kill();
      else up.end();
    });
    up.on('end', () => {
      upEnded = true;
      if (flags.has('fastclose') && clientEnded) kill();
      else client.end();
    });
  });
  server.listen({ port: 0, host: HOST, backlog: 4096 }, () => {
    if (flags.has('lnodelay')) {
      if (typeof server._handle?.setNoDelay !== 'function') throw new Error('lnodelay: no server._handle.setNoDelay');
      server._handle.setNoDelay(true);
    }
    ready(server.address().port);
  });
  return () => peers;
}

/** rawup: the client is a net.Socket, the upstream a raw TCP handle read into a buffer of its own. */
function rawUpstream(client) {
  const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
  const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = process.binding('stream_wrap');
  if (!flags.has('nopeer')) peersRaw += client.remoteAddress.length;
  if (!flags.has('lnodelay') && !flags.has('snodelay')) client.setNoDelay(true);
  const up = new TCP(constants.SOCKET);
  up.setNoDelay(true);
  const buf = Buffer.allocUnsafe(16 * 1024);
  let upEof = false;
  let clientEof = false;
  let closed = false;
  let writing = 0;
  const close = () => {
    if (closed) return;
    closed = true;
    up.close();
    client.destroy();
  };
  client.on('error', close);
  client.on('close', close);
  client.on('end', () => {
    clientEof = true;
    if (upEof) return close();
    const req = new ShutdownWrap();
    req.handle = up;
    req.oncomplete = () => {};
    if (up.shutdown(req) !== 0) close();
  });
  const req = new TCPConnectWrap();
  req.oncomplete = (status) => {
    if (status < 0 || closed) return close();
    up.useUserBuffer(buf);
    up.onread = () => {
      const n = streamBaseState[kReadBytesOrError];
      if (n > 0) {
        const chunk = Buffer.allocUnsafe(n);
        buf.copy(chunk, 0, 0, n);
        if (!client.write(chunk)) {
          up.readStop();
          client.once('drain', () => closed || up.readStart());
        }
        return;
      }
      if (n === 0) return;
      if (n !== -4095 /* UV_EOF */) return close();
      upEof = true;
      up.readStop();
      if (clientEof) close();
      else client.end();
    };
    up.readStart();
    client.on('data', (d) => {
      const w = new WriteWrap();
      w.handle = up;
      w.oncomplete = (st) => {
        if (st < 0) close();
        else if (--writing === 0) client.resume();
      };
      w.async = false;
      if (up.writeBuffer(w, d) !== 0) return close();
      if (streamBaseState[kLastWriteWasAsync]) {
        writing++;
        client.pause();
      }
    });
    if (client.isPaused()) client.resume();
  };
  if (up.connect(req, HOST, pickPort()) !== 0) close();
}
let peersRaw = 0;

/** Reads the (paused) client through its handle's onread into a buffer of its own, written to `up`. */
function clientRead(client, up) {
  const handle = client._handle;
  if (typeof handle?.useUserBuffer !== 'function' || typeof handle.readStart !== 'function') throw new Error('cread: no handle.useUserBuffer/readStart');
  const buf = Buffer.allocUnsafe(16 * 1024);
  const { streamBaseState, kReadBytesOrError } = process.binding('stream_wrap');
  handle.useUserBuffer(buf);
  const nodeOnread = handle.onread;
  handle.onread = function () {
    const n = streamBaseState[kReadBytesOrError];
    if (n > 0) {
      // Copy: the buffer is read into again before an asynchronous write would be done with it.
      const chunk = Buffer.allocUnsafe(n);
      buf.copy(chunk, 0, 0, n);
      if (!up.write(chunk)) {
        handle.readStop();
        up.once('drain', () => handle.readStart());
      }
      return;
    }
    // End of stream or an error: Node's own handler turns it into 'end' / 'error'.
    return nodeOnread.apply(this, arguments);
  };
  handle.reading = true;
  handle.readStart();
}

function listenRaw() {
  const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
  const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = process.binding('stream_wrap');
  const UV_EOF = -4095;
  const server = new TCP(constants.SERVER);
  let err = server.bind(HOST, 0);
  if (err === 0) err = server.listen(4096);
  if (err !== 0) throw new Error(`raw listen failed: ${err}`);
  server.setNoDelay(true); // inherited by accepted sockets
  const out = {};
  server.getsockname(out);

  // One connection: two sides, each { handle, buf, eof, shut, pending }.
  function side(handle) {
    return { handle, buf: null, eof: false, shut: false, writing: 0, closed: false, other: null };
  }
  function closeBoth(c) {
    for (const s of [c.a, c.b]) if (s && !s.closed) {
      s.closed = true;
      s.handle.close();
    }
  }
  function shutdown(c, s) {
    if (s.shut) return;
    s.shut = true;
    const req = new ShutdownWrap();
    req.handle = s.handle;
    req.oncomplete = () => {};
    if (s.handle.shutdown(req) !== 0) closeBoth(c);
  }
  function write(c, to, from, n) {
    const req = new WriteWrap();
    req.handle = to.handle;
    req.oncomplete = (status) => {
      if (status < 0) return closeBoth(c);
      if (--to.writing === 0 && !from.eof && !from.closed) from.handle.readStart();
    };
    req.async = false;
    // The read buffer is the side's own: an asynchronous write keeps it, so reading stops until it is done.
    const e = to.handle.writeBuffer(req, n === from.buf.length ? from.buf : from.buf.subarray(0, n));
    if (e !== 0) return closeBoth(c);
    if (streamBaseState[kLastWriteWasAsync]) {
      to.writing++;
      from.handle.readStop();
    }
  }
  function startReading(c, s) {
    s.buf = Buffer.allocUnsafe(16 * 1024);
    s.handle.useUserBuffer(s.buf);
    s.handle.onread = () => {
      const n = streamBaseState[kReadBytesOrError];
      if (n > 0) return write(c, s.other, s, n);
      if (n === 0) return;
      if (n !== UV_EOF) return closeBoth(c);
      s.eof = true;
      s.handle.readStop();
      // Both directions done: close (sends our FIN after queued data), as HAProxy does; else half-close.
      if (s.other.eof && s.other.writing === 0 && s.writing === 0) closeBoth(c);
      else shutdown(c, s.other);
    };
    s.handle.readStart();
  }
  server.onconnection = (status, clientHandle) => {
    if (status !== 0 || !clientHandle) return;
    const c = { a: side(clientHandle), b: null };
    const up = new TCP(constants.SOCKET);
    up.setNoDelay(true);
    c.b = side(up);
    c.a.other = c.b;
    c.b.other = c.a;
    const req = new TCPConnectWrap();
    req.oncomplete = (st) => {
      if (st < 0) return closeBoth(c);
      startReading(c, c.a);
      startReading(c, c.b);
    };
    if (up.connect(req, HOST, pickPort()) !== 0) closeBoth(c);
  };
  ready(out.port);
  return () => 0;
}

function ready(port) {
  console.log(`LISTENING ${port}`);
}

const count = flags.has('raw') ? listenRaw() : listenNet();
process.on('SIGTERM', () => process.exit(count() >= 0 ? 0 : 1));
