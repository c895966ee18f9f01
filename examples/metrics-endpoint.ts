/**
 * Serves a pool's metrics over HTTP on 127.0.0.1: Prometheus text at /metrics, HAProxy `show stat` CSV at
 * /stats.csv, and the JSON snapshot at /stats.json. Two loopback backends take a few connections first so the
 * counters move; diagnostics_channel subscribers print picks and state changes.
 *
 * Run:  node --import tsx examples/metrics-endpoint.ts          (serves until Ctrl-C)
 *       node --import tsx examples/metrics-endpoint.ts --once   (fetches its own /metrics once, prints it, exits 0)
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { Balancer, DIAGNOSTICS_CHANNELS, Pool, type ServerStateMessage } from '../src/index.js';
import { PROMETHEUS_CONTENT_TYPE, toPrometheus, toShowStat } from '../src/metrics/index.js';

const onceMode = process.argv.includes('--once');

async function startBackend(name: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end(`${name}\n`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const backends = await Promise.all([startBackend('app1'), startBackend('app2')]);
const pool = new Pool('app', {
  servers: backends.map((b, i) => ({ name: `app${i + 1}`, host: '127.0.0.1', port: (b.address() as net.AddressInfo).port })),
});
const balancer = new Balancer(pool, { strategy: 'roundrobin' });

// Observability without touching the pool: whoever subscribes gets the messages, nobody pays otherwise.
diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.serverState, (message) => {
  const { pool: p, server, previousStatus, status } = message as ServerStateMessage;
  console.error(`[diagnostics] ${p.name}/${server.name}: ${previousStatus} -> ${status}`);
});

// A little traffic through the leases, then an operator drains app2.
for (let i = 0; i < 4; i++) {
  const lease = await balancer.acquire();
  const socket = net.connect(lease.server.port, lease.server.host);
  lease.bindTo(socket);
  socket.resume();
  await once(socket, 'close');
}
pool.setAdminState('app2', 'drain');

const server = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE);
    res.end(toPrometheus(balancer));
  } else if (req.url === '/stats.csv') {
    res.setHeader('content-type', 'text/csv; charset=utf-8');
    res.end(toShowStat(balancer));
  } else if (req.url === '/stats.json') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pool: pool.snapshot(), balancer: balancer.stats() }, null, 2));
  } else {
    res.statusCode = 404;
    res.end('try /metrics, /stats.csv or /stats.json\n');
  }
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

async function shutdown(): Promise<void> {
  server.close();
  for (const b of backends) b.close();
  await balancer.close();
}

if (onceMode) {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  process.stdout.write(await response.text());
  await shutdown();
} else {
  console.log(`metrics on ${url}/metrics, HAProxy CSV on ${url}/stats.csv, JSON on ${url}/stats.json (Ctrl-C to stop)`);
  process.once('SIGINT', () => void shutdown());
}
