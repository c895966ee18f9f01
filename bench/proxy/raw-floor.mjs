// The floor of a Node proxy on Node's TCP handles (bench/conn-profile.ts `raw`): accept, dial, relay, half-close and
// close on the handles themselves, nothing else (no balancer, no timeouts, no reset detection, no records), round
// robin over the echo group: about the least a proxied connection costs in Node. switchyard's TcpProxy runs on the same handles.
// usage: node raw-floor.mjs '{"echo":[p1,p2,p3],"source":[...]}'   prints "LISTENING <port> <port>"
import net from 'node:net';
const { TCP, TCPConnectWrap, constants: TC } = process.binding('tcp_wrap');
const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } = process.binding('stream_wrap');
const UV_EOF = -4095;
const groups = JSON.parse(process.argv[2]);
const backends = groups.echo;
let next = 0;

function half(src, dst, conn) {
  // returns onread for src
  return function onread(ab) {
    const n = streamBaseState[kReadBytesOrError];
    if (n > 0) {
      const buf = Buffer.from(ab, streamBaseState[kArrayBufferOffset], n);
      if (dst === null || conn.pending) { conn.queue.push(buf); return; }
      write(conn, src, conn.other(src), buf);
    } else if (n === UV_EOF) {
      eof(conn, src);
    } else if (n < 0) {
      kill(conn);
    }
  };
}
function write(conn, src, dst, buf) {
  const req = new WriteWrap();
  req.handle = dst;
  req.oncomplete = (status) => { if (status < 0) return kill(conn); if (!conn.closed) src.readStart(); };
  req.async = false;
  const err = dst.writeBuffer(req, buf);
  if (err) return kill(conn);
  if (streamBaseState[kLastWriteWasAsync]) { req.buffer = buf; src.readStop(); }
}
function eof(conn, src) {
  const dst = conn.other(src);
  if (src === conn.c) conn.cEof = true; else conn.uEof = true;
  if (dst === null || conn.pending) { conn.queue.push(null); return; }
  shut(conn, dst);
}
function shut(conn, dst) {
  const req = new ShutdownWrap();
  req.handle = dst;
  req.oncomplete = () => { conn.shuts++; if (conn.shuts === 2 || (conn.cEof && conn.uEof)) kill(conn); };
  if (dst.shutdown(req) !== 0) kill(conn);
}
function kill(conn) {
  if (conn.closed) return;
  conn.closed = true;
  conn.c.close();
  if (conn.u) conn.u.close();
}
class Conn {
  constructor(c) { this.c = c; this.u = null; this.pending = true; this.queue = []; this.closed = false; this.cEof = false; this.uEof = false; this.shuts = 0; }
  other(h) { return h === this.c ? this.u : this.c; }
}

const server = net.createServer();
server.listen(0, '127.0.0.1', () => {
  server._handle.onconnection = (err, c) => {
    if (err) return;
    const conn = new Conn(c);
    c.onread = half(c, null, conn);
    c.readStart();
    const u = new TCP(TC.SOCKET);
    conn.u = u;
    const req = new TCPConnectWrap();
    req.oncomplete = (status) => {
      if (status < 0 || conn.closed) return kill(conn);
      u.setNoDelay(true);
      conn.pending = false;
      u.onread = half(u, c, conn);
      u.readStart();
      c.onread = half(c, u, conn);
      for (const b of conn.queue) { if (b === null) shut(conn, u); else write(conn, c, u, b); }
      conn.queue = [];
    };
    req.address = '127.0.0.1'; req.port = backends[next++ % backends.length];
    const e = u.connect(req, '127.0.0.1', req.port);
    if (e) kill(conn);
  };
  process.on('SIGTERM', () => process.exit(0));
  console.log(`LISTENING ${server.address().port} ${server.address().port}`);
});
