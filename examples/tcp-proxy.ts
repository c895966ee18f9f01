/**
 * A TCP proxy in a few lines, on loopback: two live backends and one that refuses connections, HAProxy's
 * `retries` + `option redispatch`, a tcplog-style line per connection, `on-marked-down shutdown-sessions`,
 * then a graceful close. Finishes by itself.
 *
 * Run: node --import tsx examples/tcp-proxy.ts
 */
import { once } from 'node:events';
import net from 'node:net';
import { Balancer, Pool, TcpProxy, describeTermination } from '../src/index.js';

/** A backend that greets with its name, then echoes. */
async function startBackend(name: string): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.write(`hello from ${name}\n`);
    socket.pipe(socket);
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const portOf = (server: net.Server): number => (server.address() as net.AddressInfo).port;

const web1 = await startBackend('web1');
const web2 = await startBackend('web2');
const refused = await startBackend('gone');
const refusedPort = portOf(refused);
refused.close(); // nothing listens there any more: connections are refused

const pool = new Pool('web', {
  servers: [
    { name: 'web1', host: '127.0.0.1', port: portOf(web1) },
    { name: 'gone', host: '127.0.0.1', port: refusedPort },
    { name: 'web2', host: '127.0.0.1', port: portOf(web2) },
  ],
});
const proxy = new TcpProxy(new Balancer(pool, { strategy: 'roundrobin' }), {
  timeoutConnectMs: 1000,
  retries: 2,
  redispatch: true, // a refused attempt moves to the next server at once
  timeoutClientMs: 30_000,
  timeoutServerMs: 30_000,
  onMarkedDown: 'shutdown-sessions',
});

// One line per connection, in the spirit of HAProxy's `option tcplog`.
proxy.on('connection:close', (r) => {
  const retries = r.redispatches > 0 ? `+${r.retries}` : String(r.retries);
  console.log(
    `${r.clientAddress}:${r.clientPort} fe web/${r.server ?? '<NOSRV>'} ${r.queuedMs.toFixed(0)}/${r.connectMs.toFixed(0)}/${r.durationMs.toFixed(0)} ` +
      `${r.bytesOut} ${r.termination} retries ${retries}  (${describeTermination(r.termination)})`,
  );
});

const { port } = await proxy.listen({ host: '127.0.0.1' });
console.log(`proxy listening on 127.0.0.1:${port}\n`);

/** Connects through the proxy, says something, prints the first reply line. */
async function visit(message: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const [greeting] = (await once(socket, 'data')) as [string];
  console.log(`client got: ${greeting.trim()}`);
  socket.write(message);
  await once(socket, 'data');
  return socket;
}

// Round robin meets the refused server on the second connection and redispatches it to web2.
for (let i = 0; i < 3; i++) {
  const s = await visit(`request ${i}\n`);
  s.end();
  await once(s, 'close');
}

let lastServer = '';
proxy.on('connection:open', (c) => (lastServer = c.server!.name));
const held = await visit('long-lived\n');
console.log(`\n${lastServer} goes down while a client is connected to it (shutdown-sessions):`);
pool.setHealth(lastServer, 'down');
await once(held, 'close');

console.log('\ngraceful close:');
await proxy.close({ deadlineMs: 5000 });
console.log('stats', JSON.stringify(proxy.stats().terminations), 'redispatches', proxy.stats().redispatches);
web1.close();
web2.close();
