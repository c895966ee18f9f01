// The naive Node proxy baseline: net + pipe(), round robin, destroy both on error. About 30 lines on purpose.
// usage: node naive.mjs '{"echo":[p1,p2,p3],"source":[p4,p5,p6]}'   prints "LISTENING <echoPort> <sourcePort>"
import net from 'node:net';

const groups = JSON.parse(process.argv[2]);
const ports = [];
for (const backends of [groups.echo, groups.source]) {
  let next = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(backends[next++ % backends.length], '127.0.0.1');
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', kill);
    upstream.on('close', kill);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  ports.push(server.address().port);
}
process.on('SIGTERM', () => process.exit(0));
console.log(`LISTENING ${ports.join(' ')}`);
