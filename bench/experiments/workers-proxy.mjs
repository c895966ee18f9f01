// Issue 13 experiment (c): switchyard's TcpProxy in one process, in N worker threads each with its own listener,
// or in N cluster processes, over the same backends (round robin, the bench's timeouts). Each worker has its own
// Pool and Balancer (nothing shared: the cost of sharing is experiment d, bench/experiments/shared-counters.mjs).
//
// usage: node workers-proxy.mjs <mode> <n> <dist dir> <port,port,...>   prints "LISTENING <port>" once all listen
//   single             TcpProxy.listen() on the main thread (n ignored)
//   threads            n worker threads. Node >= 22.12: each listen({ reusePort: true }) on the same port (one
//                      accept queue per thread, the kernel spreads connections). Older Node: the first thread
//                      listens and the others listen({ fd }) on the same socket (every thread's epoll wakes for
//                      each connection; one accept4 wins, the others find nothing)
//   cluster-rr         n cluster workers, Node's default on Linux: the primary accepts and passes each socket
//   cluster-shared     n cluster workers, SCHED_NONE: every worker accepts from the primary's listening socket
//   cluster-reuseport  n cluster workers, listen({ exclusive: true, reusePort: true }) each (Node >= 22.12)
import cluster from 'node:cluster';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const HOST = '127.0.0.1';

async function serve(dist, ports, listenOptions, attach) {
  const { Balancer, Pool, TcpProxy } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
  const pool = new Pool('echo', { servers: ports.map((port, i) => ({ name: `s${i + 1}`, host: HOST, port })) });
  const proxy = new TcpProxy(new Balancer(pool, { strategy: 'roundrobin' }), { timeoutConnectMs: 5000, timeoutClientMs: 60_000, timeoutServerMs: 60_000 });
  if (!attach) return (await proxy.listen(listenOptions)).port;
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOptions, resolve);
  });
  proxy.attach(server);
  return server.address().port;
}

const reusePortSupported = () => {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
};

if (!isMainThread) {
  // A worker thread: listen as told, report the port.
  const { dist, ports, listenOptions } = workerData;
  const port = await serve(dist, ports, listenOptions, true);
  parentPort.postMessage({ port });
} else if (cluster.isWorker) {
  const { dist, ports, listenOptions } = JSON.parse(process.env.WP_WORKER);
  const port = await serve(dist, ports, listenOptions, true);
  process.send({ port });
} else {
  const [mode, nArg, dist, portList] = process.argv.slice(2);
  const n = Number(nArg);
  const ports = portList.split(',').map(Number);
  const base = { host: HOST, backlog: 4096 };
  let port;
  if (mode === 'single') {
    port = await serve(dist, ports, { port: 0, ...base }, false);
  } else if (mode === 'threads') {
    const reuse = reusePortSupported();
    const start = (listenOptions) =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { dist, ports, listenOptions } });
        w.once('message', (m) => resolve({ w, port: m.port }));
        w.once('error', reject);
      });
    const first = await start({ port: 0, ...base, ...(reuse ? { reusePort: true } : {}) });
    port = first.port;
    if (!reuse && n > 1) {
      // The first thread's listening fd, found by its port in /proc (the thread cannot hand its handle over).
      first.fd = await fdOfPort(port);
    }
    for (let i = 1; i < n; i++) await start(reuse ? { port, ...base, reusePort: true } : { fd: first.fd });
  } else if (mode.startsWith('cluster-')) {
    cluster.schedulingPolicy = mode === 'cluster-rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: new URL(import.meta.url).pathname, args: [], silent: false });
    const reuse = mode === 'cluster-reuseport';
    if (reuse && !reusePortSupported()) throw new Error('reusePort needs Node >= 22.12');
    const fixed = await freePort();
    for (let i = 0; i < n; i++) {
      const listenOptions = reuse ? { port: fixed, ...base, reusePort: true, exclusive: true } : { port: fixed, ...base };
      const w = cluster.fork({ WP_WORKER: JSON.stringify({ dist, ports, listenOptions }) });
      port = await new Promise((resolve, reject) => {
        w.once('message', (m) => resolve(m.port));
        w.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
      });
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  process.on('SIGTERM', () => {
    if (cluster.isPrimary) for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(0);
  });
  console.log(`LISTENING ${port}`);
}

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, HOST, r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

/** The fd of this process's listening socket on `port` (inode from /proc/net/tcp, matched in /proc/self/fd). */
async function fdOfPort(port) {
  const { readFileSync, readdirSync, readlinkSync } = await import('node:fs');
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const line = readFileSync('/proc/net/tcp', 'utf8').split('\n').find((l) => l.includes(`:${hex} 00000000:0000 0A`));
  const inode = line.trim().split(/\s+/)[9];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === `socket:[${inode}]`) return Number(fd);
    } catch {}
  }
  throw new Error(`no fd for port ${port}`);
}
