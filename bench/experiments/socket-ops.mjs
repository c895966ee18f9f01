// Issue 13 experiment (b), micro part: the CPU cost of single per-connection operations, in a tight loop on one
// connected loopback socket, so that the macro A/B (noisy on a shared machine) can be read as
// "system calls removed × cost per call + JavaScript removed". Each figure is the lowest of 7 batches (µs per
// operation; the lowest is the one least disturbed by other processes). Bounded: BATCH operations × 7 per row.
//
// usage: node socket-ops.mjs [batch = 20000]
import net from 'node:net';

const BATCH = Number(process.argv[2] ?? 20_000);
const server = net.createServer({ allowHalfOpen: true }, (s) => s.on('data', (d) => s.write(d)));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const client = net.connect(server.address().port, '127.0.0.1');
await new Promise((r) => client.once('connect', r));
const h = client._handle;

function time(label, fn, n = BATCH) {
  let best = Infinity;
  for (let b = 0; b < 7; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    if (us < best) best = us;
  }
  rows.push([label, best]);
}
const rows = [];
const sink = [];
const shared = Buffer.alloc(65536);
time('getpeername() + address object (what remoteAddress costs once)', () => h.getpeername({}));
time('setNoDelay(true) on the handle (one setsockopt)', () => h.setNoDelay(true));
time('readStop() + readStart() (epoll_ctl / io_uring batch)', () => {
  h.readStop();
  h.readStart();
});
time('new net.Socket() without a handle (Socket + Duplex + stream states)', (i) => {
  sink[i & 1023] = new net.Socket();
}, BATCH / 4);
time("new net.Socket() + on('data'/'end'/'error'/'close') + setNoDelay flag", (i) => {
  const s = new net.Socket();
  s.on('data', noop);
  s.on('end', noop);
  s.on('error', noop);
  s.on('close', noop);
  sink[i & 1023] = s;
}, BATCH / 4);
time('Buffer.allocUnsafe(64) + copy (a read copied out of a shared buffer)', (i) => {
  const b = Buffer.allocUnsafe(64);
  shared.copy(b, 0, 0, 64);
  sink[i & 1023] = b;
});
function noop() {}

console.log(`node ${process.version}: µs per operation (lowest of 7 batches of ${BATCH})`);
for (const [label, us] of rows) console.log(`  ${us.toFixed(3).padStart(8)}  ${label}`);
client.destroy();
server.close();
