/**
 * @internal
 * The entry of one proxy worker thread (started by `ProxyWorkers`): a `TcpProxy` whose leases come from the
 * main thread's balancer, on listeners that every worker shares (see docs/proxy.md, "Workers").
 */
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { TcpProxy } from '../proxy/tcp-proxy.js';
import { type MainToWorker, Outbox, type WorkerData, type WorkerListen, type WorkerToMain, serializeError } from './messages.js';
import { RemoteLeaseSource } from './remote-lease-source.js';

function run(port: NonNullable<typeof parentPort>, data: WorkerData): void {
  const out = new Outbox<WorkerToMain>((batch) => port.postMessage(batch));
  const source = new RemoteLeaseSource(data.pool, data.servers, data.usesServerQueues, data.usesClientAddress, out);
  const proxy = new TcpProxy(source, { ...data.proxy, ...(data.observe ? { observer: source.observer } : {}), onMarkedDown: 'none', onMarkedUp: 'none' });
  const listeners: net.Server[] = [];
  if (data.forward.open) proxy.on('connection:open', (c) => out.send({ t: 'opened', s: c.server!.name }));
  if (data.forward.close) {
    proxy.on('connection:close', (r) => {
      const { error, ...rest } = r;
      out.send({ t: 'record', r: rest as typeof r, e: error === undefined ? undefined : serializeError(error) });
    });
  }

  const listen = (req: number, l: WorkerListen): void => {
    const server = net.createServer({ allowHalfOpen: true });
    const done = (error: unknown): void => {
      const a = server.address();
      const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
      out.send({ t: 'listening', req, address: a !== null && typeof a === 'object' ? { address: a.address, family: a.family, port: a.port } : undefined, fd, error: error === undefined ? undefined : serializeError(error) });
      out.flush();
    };
    server.once('error', done);
    const onListening = (): void => {
      server.removeListener('error', done);
      listeners.push(server);
      // The worker's own listener: its connections come as TCP handles (relay: 'handles'), else as sockets.
      if (!proxy._acceptHandles(server)) proxy.attach(server);
      done(undefined);
    };
    if (l.fd !== undefined) server.listen({ fd: l.fd, ...(l.backlog === undefined ? {} : { backlog: l.backlog }) }, onListening);
    else {
      server.listen({
        port: l.port,
        ...(l.host === undefined ? {} : { host: l.host }),
        ...(l.backlog === undefined ? {} : { backlog: l.backlog }),
        ...(l.ipv6Only === undefined ? {} : { ipv6Only: l.ipv6Only }),
        ...(l.reusePort ? { reusePort: true } : {}),
      } as net.ListenOptions, onListening);
    }
  };

  const stop = (closing: Promise<void>): void => {
    for (const server of listeners) server.close();
    listeners.length = 0;
    void closing.then(() => {
      source.rejectAll();
      out.send({ t: 'closed', stats: proxy.stats() });
      out.flush();
    });
  };

  port.on('message', (batch: MainToWorker[]) => {
    for (const m of batch) {
      switch (m.t) {
        case 'grant':
        case 'deny':
          source.answer(m);
          break;
        case 'server':
          source.server(m.server);
          break;
        case 'remove':
          source.remove(m.s);
          break;
        case 'kill':
          proxy._shutdownSessions(m.s, m.c);
          break;
        case 'listen':
          listen(m.req, m.listen);
          break;
        case 'stats':
          out.send({ t: 'stats', req: m.req, stats: proxy.stats() });
          break;
        case 'close':
          stop(proxy.close(m.deadlineMs === Infinity ? {} : { deadlineMs: m.deadlineMs }));
          break;
        case 'destroy': {
          const closing = proxy.close();
          proxy.destroy();
          stop(closing);
          break;
        }
      }
    }
  });
}

if (parentPort !== null) run(parentPort, workerData as WorkerData);
