/**
 * Raw TCP to redis-server instances whose addresses, weights and health come from an xDS control plane.
 *
 * With `GRPC_XDS_BOOTSTRAP` (or `GRPC_XDS_BOOTSTRAP_CONFIG`) set, it follows the cluster named by
 * `XDS_CLUSTER` (default `redis`) on that control plane and proxies 127.0.0.1:6380 to it until Ctrl-C:
 *
 *   GRPC_XDS_BOOTSTRAP=/etc/xds/bootstrap.json node --import tsx examples/xds-redis.ts
 *   redis-cli -p 6380 ping
 *
 * Without a bootstrap it runs a demo on loopback and finishes by itself: two redis-server processes, a small
 * management server in the process (the one the tests use), a proxy in front; it sends RESP commands
 * through the proxy, then marks one redis DRAINING over EDS and shows new connections moving to the other.
 *
 * Run: node --import tsx examples/xds-redis.ts
 */
import { once } from 'node:events';
import net from 'node:net';
import { Balancer, Pool, TcpProxy } from '../src/index.js';
import { XdsClient, followXdsCluster } from '../src/xds/index.js';

const demo = !process.env['GRPC_XDS_BOOTSTRAP'] && !process.env['GRPC_XDS_BOOTSTRAP_CONFIG'];
const clusterName = process.env['XDS_CLUSTER'] ?? 'redis';

/** Sends one RESP command on a new connection through the proxy and returns the reply line. */
async function redis(port: number, ...args: string[]): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  const [reply] = (await once(socket, 'data')) as [string];
  socket.end();
  return reply.trim();
}

let stopDemo: (() => Promise<void>) | undefined;
let setEndpoints: ((drainFirst: boolean) => void) | undefined;
let bootstrap: Record<string, unknown> | undefined;
let redisPorts: number[] = [];

if (demo) {
  // Demo plumbing only: a real deployment has a control plane (Istio, Traffic Director, go-control-plane…).
  const { startRedisServers } = await import('../test/helpers/servers/redis.js');
  const { ManagementServer } = await import('../test/xds/helpers/management-server.js');
  const { assignment, bootstrapFor, edsCluster } = await import('../test/xds/helpers/resources.js');
  const group = await startRedisServers(2);
  redisPorts = group.members.map((m) => m.port);
  const cp = await ManagementServer.start();
  cp.set('cluster', [edsCluster(clusterName, { lbPolicy: 'LEAST_REQUEST', connectTimeoutMs: 500 })]);
  setEndpoints = (drainFirst) => cp.set('endpoints', [assignment(clusterName, [
    { zone: 'eu-a', endpoints: [{ port: redisPorts[0]!, health: drainFirst ? 'DRAINING' : 'HEALTHY' }] },
    { zone: 'eu-b', endpoints: [{ port: redisPorts[1]! }] },
  ])]);
  setEndpoints(false);
  bootstrap = bootstrapFor(cp.address, 'xds-redis-example');
  stopDemo = async () => {
    cp.stop();
    await group.stop();
  };
}

const xds = new XdsClient(bootstrap ? { bootstrap } : {});
xds.on('xds:connection', (state, d) => console.log(`xds ${state}${d.retryInMs === undefined ? '' : ` (retry in ${d.retryInMs} ms)`}`));
xds.on('xds:nack', (nack) => console.warn(`xds NACK ${nack.kind} v${nack.version}: ${nack.errors.join('; ')}`));

const pool = new Pool(clusterName);
const follower = followXdsCluster(pool, xds, clusterName, { defaults: { maxconn: 100 } });
follower.on('xds:endpoints', () => {
  // Each server carries where it came from as tags; the control plane's health is a hold named 'xds'.
  console.log(`endpoints: ${pool.servers.map((s) => `${s.name} ${s.status}${s.hold ? ` held ${s.hold}` : ''} w${s.weight} (${s.tags['locality']}, p${s.priority})`).join(', ')}`);
});
await follower.ready; // the cluster (CDS) and its first endpoints (EDS) are in
const cluster = follower.cluster!;
console.log(`cluster ${cluster.name}: ${cluster.lbPolicy} → strategy ${JSON.stringify(cluster.strategy)}, connect timeout ${cluster.connectTimeoutMs} ms`);

const proxy = new TcpProxy(new Balancer(pool, { strategy: cluster.strategy }), { timeoutConnectMs: cluster.connectTimeoutMs, retries: 2, redispatch: true });
const { port } = await proxy.listen({ host: '127.0.0.1', port: demo ? 0 : 6380 });
console.log(`proxy on 127.0.0.1:${port} → xDS cluster ${clusterName}`);
proxy.on('connection:open', (c) => console.log(`  connection → ${c.server?.name}`));

if (!demo) {
  process.once('SIGINT', () => void Promise.all([proxy.close(), follower.close(), xds.close()]));
} else {
  console.log(await redis(port, 'PING'));
  console.log(await redis(port, 'SET', 'greeting', 'hello from xDS'));
  for (let i = 0; i < 2; i++) console.log(await redis(port, 'INFO', 'server').then((r) => r.split('\r\n')[0]));

  const drained = new Promise((resolve) => follower.once('xds:endpoints', resolve));
  setEndpoints!(true);
  await drained;
  console.log(`the control plane drains 127.0.0.1:${redisPorts[0]}: new connections go to the other one`);
  for (let i = 0; i < 3; i++) await redis(port, 'PING');

  await proxy.close();
  await follower.close();
  await xds.close();
  await stopDemo!();
}
