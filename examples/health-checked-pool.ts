/**
 * A health-checked pool on loopback: two tiny "redis-like" servers answer `PING` with `+PONG`; an ActiveChecker
 * probes them with a send/expect script; a PassiveObserver is ready for connection outcomes; HAProxy's log
 * lines are printed as the state changes. One server is stopped (it goes DOWN after `fall` failed checks) and
 * started again (UP after `rise` passed checks). Then everything is closed and the process exits by itself.
 *
 * Run: node --import tsx examples/health-checked-pool.ts
 */
import { once } from 'node:events';
import net from 'node:net';
import { ActiveChecker, PassiveObserver, Pool, type Server, sendExpectProbe } from '../src/index.js';
import { haproxyLog } from '../src/haproxy/index.js';

const open = new Set<net.Socket>();

/** A server that answers every line with +PONG. */
function pongServer(): net.Server {
  return net.createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => {});
    socket.on('data', () => socket.write('+PONG\r\n'));
  });
}

async function listen(server: net.Server, port = 0): Promise<number> {
  server.listen({ host: '127.0.0.1', port });
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

function close(server: net.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of open) if (socket.localPort === (server.address() as net.AddressInfo | null)?.port) socket.destroy();
  });
}

/** Waits for a pool event about `name`; the (ref'd) timer keeps this process alive meanwhile. */
function waitFor(pool: Pool, event: 'server:up' | 'server:down' | 'check:pass', name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} for ${name} in time`)), 10_000);
    const listener = (server: Server, ..._rest: unknown[]): void => {
      if (server.name !== name) return;
      clearTimeout(timer);
      pool.off(event, listener);
      resolve();
    };
    pool.on(event, listener);
  });
}

const one = pongServer();
const two = pongServer();
const port1 = await listen(one);
const port2 = await listen(two);

const pool = new Pool('web-test', {
  servers: [
    { name: 'server1', host: '127.0.0.1', port: port1, check: true, rise: 2, fall: 3, initState: 'fully-up' },
    { name: 'server2', host: '127.0.0.1', port: port2, check: true, rise: 2, fall: 3, initState: 'fully-up' },
  ],
});
const stopLog = haproxyLog(pool, (line) => console.log(line), { logHealthChecks: true });

const firstChecks = Promise.all([waitFor(pool, 'check:pass', 'server1'), waitFor(pool, 'check:pass', 'server2')]);
const checker = new ActiveChecker(pool, {
  interMs: 100,
  fastinterMs: 50,
  probe: sendExpectProbe([
    { kind: 'send', data: 'PING\r\n' },
    { kind: 'expect', match: 'string', pattern: '+PONG' },
  ]),
});
// Whatever dials the servers (the proxy, balancer.connect()) would report each connection attempt here.
const observer = new PassiveObserver(pool, { errorLimit: 10, onError: 'fail-check' });

try {
  await firstChecks;
  console.log(`# ${pool.snapshot().servers.map((s) => `${s.name} ${s.status}`).join(', ')}`);
  console.log('# stopping server1');
  const down = waitFor(pool, 'server:down', 'server1');
  await close(one);
  await down;
  console.log(`# server1 is ${pool.get('server1').status} (${pool.get('server1').checkFailures} failed checks)`);

  console.log('# starting server1 again');
  const up = waitFor(pool, 'server:up', 'server1');
  const again = pongServer();
  await listen(again, port1);
  await up;
  console.log(`# server1 is ${pool.get('server1').status}; last check ${pool.get('server1').checkStatus}`);
  await close(again);
} finally {
  await checker.close();
  await observer.close();
  stopLog();
  await close(one);
  await close(two);
}
