// Issue 13 experiment (d): the cost of keeping per-server connection counts exact across worker threads.
//
//   sab      every worker takes and gives back a slot itself: Atomics.compareExchange on the server's counter
//            (refused at maxconn), Atomics.sub to release; counters packed in one Int32Array or one per 64-byte line
//   owner    an owner thread holds the counts; a worker posts {acquire} over a MessagePort and waits for the
//            grant, and posts {release} when done (one round trip + one one-way message per connection)
//
// Each worker runs `inflight` simulated connections at once (acquire, then release on a later turn, as a proxy
// would at close), for a fixed count of operations and at most a time limit. Reported: wall µs per
// acquire+release pair per worker, and process CPU µs per pair (all threads: process.cpuUsage()), and the
// highest count any server ever reached (must never exceed maxconn).
//
// usage: node shared-counters.mjs [pairs per worker = 200000] [seconds limit = 20]
import { Worker, isMainThread, parentPort, workerData, MessageChannel } from 'node:worker_threads';

const SERVERS = 3;
const MAXCONN = 1_000_000; // not reached: the figure is the cost of the bookkeeping, not of queueing
const STRIDE_PADDED = 16; // 16 × 4 bytes = one 64-byte cache line per counter

if (!isMainThread) {
  const { mode, sab, stride, pairs, inflight, port, deadline } = workerData;
  const counters = sab ? new Int32Array(sab) : undefined;
  // Start together, once every worker is up: the figures leave thread start-up out.
  await new Promise((resolve) => {
    parentPort.once('message', resolve);
    parentPort.postMessage('ready');
  });
  let rr = 0;
  let done = 0;
  let maxSeen = 0;
  const start = performance.now();
  if (mode === 'sab') {
    // Connections in flight are a ring of server indexes; each turn releases the oldest and acquires a new one.
    const ring = new Int32Array(inflight).fill(-1);
    let i = 0;
    while (done < pairs && (done & 1023 || Date.now() < deadline)) {
      const old = ring[i];
      if (old >= 0) {
        Atomics.sub(counters, old * stride, 1);
        done++;
      }
      const s = rr++ % SERVERS;
      const at = s * stride;
      for (;;) {
        const cur = Atomics.load(counters, at);
        if (cur >= MAXCONN) throw new Error('full');
        if (Atomics.compareExchange(counters, at, cur, cur + 1) === cur) {
          if (cur + 1 > maxSeen) maxSeen = cur + 1;
          break;
        }
      }
      ring[i] = s;
      i = (i + 1) % inflight;
    }
    for (const s of ring) if (s >= 0) Atomics.sub(counters, s * stride, 1);
    parentPort.postMessage({ done, ms: performance.now() - start, maxSeen });
  } else {
    // owner: keep `inflight` acquires outstanding; each grant is released at once (the next turn) and replaced.
    let outstanding = 0;
    let id = 0;
    const finish = () => parentPort.postMessage({ done, ms: performance.now() - start, maxSeen });
    port.on('message', (m) => {
      // a grant: release it (one-way) and ask again, until the count or the time is reached
      port.postMessage({ op: 'release', server: m.server });
      done++;
      outstanding--;
      if (m.count > maxSeen) maxSeen = m.count;
      if (done < pairs && (done & 1023 || Date.now() < deadline)) {
        outstanding++;
        port.postMessage({ op: 'acquire', server: rr++ % SERVERS, id: id++ });
      } else if (outstanding === 0) {
        port.close();
        finish();
      }
    });
    for (let k = 0; k < inflight; k++) {
      outstanding++;
      port.postMessage({ op: 'acquire', server: rr++ % SERVERS, id: id++ });
    }
  }
} else {
  const pairs = Number(process.argv[2] ?? 200_000);
  const seconds = Number(process.argv[3] ?? 20);
  const rows = [];
  async function run(mode, workers, inflight, stride) {
    const sab = mode === 'sab' ? new SharedArrayBuffer(SERVERS * stride * 4) : undefined;
    const counts = new Int32Array(SERVERS);
    let maxOwner = 0;
    let cpu0;
    let t0;
    const deadline = Date.now() + seconds * 1000 + 5000;
    const readies = [];
    const results = Promise.all(
      Array.from({ length: workers }, () => {
        let port;
        const transfer = [];
        if (mode === 'owner') {
          const ch = new MessageChannel();
          port = ch.port2;
          transfer.push(port);
          ch.port1.on('message', (m) => {
            if (m.op === 'acquire') {
              if (counts[m.server] >= MAXCONN) throw new Error('full');
              const c = ++counts[m.server];
              if (c > maxOwner) maxOwner = c;
              ch.port1.postMessage({ id: m.id, server: m.server, count: c });
            } else {
              counts[m.server]--;
            }
          });
          // the owner's port closes when the worker's does
          ch.port1.on('close', () => ch.port1.close());
        }
        const w = new Worker(new URL(import.meta.url), { workerData: { mode, sab, stride, pairs, inflight, port, deadline }, transferList: transfer });
        readies.push(new Promise((resolve) => w.once('message', () => resolve(w))));
        return new Promise((resolve, reject) => {
          w.once('message', () => w.once('message', resolve));
          w.once('error', reject);
        }).finally(() => w.terminate());
      }),
    );
    const ws = await Promise.all(readies);
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    for (const w of ws) w.postMessage('go');
    await results;
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const done = await results;
    const total = done.reduce((a, r) => a + r.done, 0);
    const wallPerPair = done.reduce((a, r) => a + (r.ms * 1000) / r.done, 0) / done.length;
    const row = {
      mode: mode === 'sab' ? `sab (${stride === 1 ? 'packed' : 'one line per counter'})` : 'owner (MessagePort)',
      workers,
      inflight,
      pairs: total,
      wallUsPerPairPerWorker: Number(wallPerPair.toFixed(3)),
      cpuUsPerPair: Number(((cpu.user + cpu.system) / total).toFixed(3)),
      maxCount: mode === 'sab' ? Math.max(...done.map((r) => r.maxSeen)) : maxOwner,
      wallMs: Math.round(wall),
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  for (const workers of [1, 2]) {
    for (const inflight of [1, 50]) {
      await run('sab', workers, inflight, 1);
      await run('sab', workers, inflight, STRIDE_PADDED);
      await run('owner', workers, inflight, 1);
    }
  }
  console.log('| counters | workers | in flight per worker | pairs | wall µs per acquire+release (per worker) | process CPU µs per pair | highest count |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.mode} | ${r.workers} | ${r.inflight} | ${r.pairs} | ${r.wallUsPerPairPerWorker} | ${r.cpuUsPerPair} | ${r.maxCount} |`);
}
