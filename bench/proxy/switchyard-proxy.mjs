// switchyard's TcpProxy for the bench, from the compiled build (what users run; no TypeScript loader in the
// way): round robin over the backends, HAProxy-like timeouts.
// With a thread count (third argument, > 0): ProxyWorkers, the accept/relay path on that many threads: the main
// thread and threads - 1 workers (SWITCHYARD_MAIN_ACCEPTS=0: that many workers, the main thread only granting).
// usage: node switchyard-proxy.mjs <dist dir> '{"echo":[p1,p2,p3],"source":[p4,p5,p6]}' [threads]   prints "LISTENING <echoPort> <sourcePort>"
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const { Balancer, Pool, ProxyWorkers, TcpProxy } = await import(pathToFileURL(path.join(process.argv[2], 'index.js')).href);
const groups = JSON.parse(process.argv[3]);
const threads = Number(process.argv[4] ?? 0);
const mainAccepts = process.env.SWITCHYARD_MAIN_ACCEPTS !== '0';
const workers = threads > 0 && mainAccepts ? Math.max(1, threads - 1) : threads;
const ports = [];
for (const [name, backends] of [['echo', groups.echo], ['source', groups.source]]) {
  const pool = new Pool(name, { servers: backends.map((port, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port })) });
  const options = { timeoutConnectMs: 5000, timeoutClientMs: 60_000, timeoutServerMs: 60_000 };
  const balancer = new Balancer(pool, { strategy: 'roundrobin' });
  const proxy = workers > 0 ? new ProxyWorkers(balancer, { ...options, workers, acceptOnMainThread: mainAccepts }) : new TcpProxy(balancer, options);
  // SWITCHYARD_LISTENERS=n (Node >= 22.12, without workers): n listening sockets on one port with SO_REUSEPORT, in
  // this one process, to see what libuv's one accept per wake-up and listening socket costs (bench/README.md).
  const listeners = workers > 0 ? 1 : Number(process.env.SWITCHYARD_LISTENERS ?? 1);
  const { port } = await proxy.listen({ host: '127.0.0.1', backlog: 4096, ...(listeners > 1 ? { reusePort: true } : {}) });
  for (let i = 1; i < listeners; i++) await proxy.listen({ host: '127.0.0.1', port, backlog: 4096, reusePort: true });
  ports.push(port);
}
if (process.env.SWITCHYARD_CPU_PROFILE) {
  // Profile only the serving, not the start-up: from here until SIGTERM, written where the variable says.
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  process.on('SIGTERM', async () => {
    const { profile } = await post('Profiler.stop');
    writeFileSync(process.env.SWITCHYARD_CPU_PROFILE, JSON.stringify(profile));
    process.exit(0);
  });
} else {
  process.on('SIGTERM', () => process.exit(0));
}
console.log(`LISTENING ${ports.join(' ')}`);
