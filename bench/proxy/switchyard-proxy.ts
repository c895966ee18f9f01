// switchyard's TcpProxy for the bench: round robin over the backends, HAProxy-like timeouts.
// usage: node --import tsx switchyard-proxy.ts '{"echo":[p1,p2,p3],"source":[p4,p5,p6]}'   prints "LISTENING <echoPort> <sourcePort>"
import { Balancer } from '../../src/balancer.js';
import { Pool } from '../../src/pool.js';
import { TcpProxy } from '../../src/tcp-proxy.js';

const groups = JSON.parse(process.argv[2]!) as { echo: number[]; source: number[] };
const ports: number[] = [];
for (const [name, backends] of [['echo', groups.echo], ['source', groups.source]] as const) {
  const pool = new Pool(name, { servers: backends.map((port, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port })) });
  const proxy = new TcpProxy(new Balancer(pool, { strategy: 'roundrobin' }), {
    timeoutConnectMs: 5000,
    timeoutClientMs: 60_000,
    timeoutServerMs: 60_000,
  });
  ports.push((await proxy.listen({ host: '127.0.0.1', backlog: 4096 })).port);
}
console.log(`LISTENING ${ports.join(' ')}`);
process.on('SIGTERM', () => process.exit(0));
