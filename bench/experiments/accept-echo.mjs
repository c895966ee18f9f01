// Issue 13 experiment (a): what libuv's one-accept-per-wake-up costs, on a Node echo server (no upstream: the
// accept path alone), and whether several listening sockets in one event loop change it.
//
// usage: node accept-echo.mjs <mode> <n>     prints "LISTENING <port>"; SIGTERM ends it
//   one         one net.Server (n ignored)
//   dup         n net.Servers in this process on duplicates of one listening socket (the fds come back over IPC
//               from a helper child, which works on every Node version): libuv watches n fds, each ready wake-up
//               can accept up to n connections (the socket's queue is shared, so some accept4 calls find nothing)
//   reuseport   n net.Servers with listen({ reusePort: true }) on one port (Node >= 22.12 / 23.1): n queues,
//               the kernel spreads connections over them by a hash of the addresses
// The echo: every byte read is written back; the client's FIN is answered with ours.
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--dup-helper') {
  // Sends every server it receives straight back (a new fd in the parent), then closes its own copy.
  process.on('message', (message, server) => process.send(message, server, () => server.close()));
  process.on('disconnect', () => process.exit(0));
} else {
  const mode = process.argv[2];
  const n = Number(process.argv[3] ?? 1);
  const onConnection = (socket) => {
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  };
  const servers = [];
  const listen = (options) =>
    new Promise((resolve, reject) => {
      const s = net.createServer({ allowHalfOpen: true }, onConnection);
      s.once('error', reject);
      s.listen(options, () => resolve(s));
    });
  if (mode === 'one' || mode === 'dup') {
    servers.push(await listen({ port: 0, host: '127.0.0.1', backlog: 4096 }));
    if (mode === 'dup') {
      const helper = fork(fileURLToPath(import.meta.url), ['--dup-helper'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      for (let i = 1; i < n; i++) {
        const copy = await new Promise((resolve) => {
          helper.once('message', (_m, server) => resolve(server));
          helper.send('dup', servers[0]);
        });
        copy.on('connection', onConnection);
        servers.push(copy);
      }
      helper.disconnect();
    }
  } else if (mode === 'reuseport') {
    const first = await listen({ port: 0, host: '127.0.0.1', backlog: 4096, reusePort: true });
    servers.push(first);
    for (let i = 1; i < n; i++) servers.push(await listen({ port: first.address().port, host: '127.0.0.1', backlog: 4096, reusePort: true }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  process.on('SIGTERM', () => process.exit(0));
  console.log(`LISTENING ${servers[0].address().port}`);
}
