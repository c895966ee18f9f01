/** Shared pieces of the stats page tests: an HTTP server around the handler, and a small HTTP client. */
import http from 'node:http';
import type net from 'node:net';
import { type StatsHandler, type StatsHandlerOptions, createStatsHandler } from '../../src/stats/stats-handler.js';
import { withTimeout } from '../helpers/timeout.js';

/** A node:http server on 127.0.0.1 serving the handler. */
export interface StatsServer {
  readonly port: number;
  readonly origin: string;
  readonly handler: StatsHandler;
  close(): Promise<void>;
}

export async function statsServer(options: StatsHandlerOptions): Promise<StatsServer> {
  const handler = createStatsHandler(options);
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await withTimeout(new Promise((r) => server.once('listening', r)), 5000, 'the stats server to listen');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    handler,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request (a fresh connection each time), with a hang guard. */
export async function request(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return withTimeout(new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  }), 10_000, `${init.method ?? 'GET'} ${path.slice(0, 80)}`);
}

/** `Authorization: Basic …` for a user and password. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The token in a rendered page's admin form. */
export function formToken(html: string): string {
  const m = /name=token value="([^"]+)"/.exec(html);
  if (m === null) throw new Error('the page has no admin form');
  return m[1] ?? '';
}
