/**
 * The main demo (until the TCP proxy lands): three real TCP servers on loopback, a round-robin balancer
 * over them, real connections through the leases; then one server goes down and the traffic moves.
 *
 * Run: npm run demo
 */
import net from 'node:net';
import { once } from 'node:events';
import { Balancer, Pool } from '../src/index.js';

const color = process.stdout.isTTY ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m` : (_: number, s: string) => s;

/** A backend that greets with its name and closes. */
async function startBackend(name: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end(`${name}\n`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** One real connection through the balancer: acquire a lease, connect, read the greeting. */
async function fetchOnce(balancer: Balancer): Promise<string> {
  const lease = await balancer.acquire();
  const socket = net.connect(lease.server.port, lease.server.host);
  lease.bindTo(socket);
  let reply = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (reply += chunk));
  await once(socket, 'close');
  return reply.trim();
}

const names = ['backend1', 'backend2', 'backend3'];
const backends = await Promise.all(names.map(startBackend));
const pool = new Pool('web-test', {
  servers: backends.map((b, i) => ({
    name: `server${i + 1}`,
    host: '127.0.0.1',
    port: (b.address() as net.AddressInfo).port,
    check: true,
  })),
});
pool.on('server:down', (s) => console.log(color(33, `[WARNING] Server ${pool.name}/${s.name} is DOWN (${s.status}).`)));
pool.on('server:up', (s) => console.log(color(32, `[NOTICE]  Server ${pool.name}/${s.name} is UP (${s.status}).`)));
const balancer = new Balancer(pool, { strategy: 'roundrobin' });

console.log(color(1, 'Three connections, round robin:'));
for (let i = 0; i < 3; i++) console.log('  ', await fetchOnce(balancer));

console.log(color(1, 'server1 goes down:'));
pool.setHealth('server1', 'down');
for (let i = 0; i < 4; i++) console.log('  ', await fetchOnce(balancer));

console.log(color(1, 'server1 comes back:'));
pool.setHealth('server1', 'up');
for (let i = 0; i < 3; i++) console.log('  ', await fetchOnce(balancer));

console.log(color(1, 'Connections served:'), pool.servers.map((s) => `${s.name}=${s.totalConnections}`).join(' '));
await balancer.close();
await Promise.all(backends.map((b) => new Promise((resolve) => b.close(resolve))));
