import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Balancer, type BalancerOptions } from '../../src/balancer.js';
import type { Clock } from '../../src/clock.js';
import type { Lease } from '../../src/lease.js';
import { Pool } from '../../src/pool.js';
import type { Rebalancer } from '../../src/resilience/rebalancer.js';
import type { ServerOptions } from '../../src/server.js';
import { SAFETY_MS, listen, waitEvent } from '../proxy/helpers.js';

/** Shared pieces of the adapter tests: balancers over real servers, waiting on leases, HTTP backends. */

export { SAFETY_MS, waitEvent };

/** A balancer over `servers` (name, 127.0.0.1, port), round robin unless told otherwise. */
export function balancerOver(
  name: string,
  servers: readonly { name: string; port: number }[],
  options: BalancerOptions = {},
  serverOptions: Partial<ServerOptions> = {},
): Balancer {
  const pool = new Pool(name, { servers: servers.map((s) => ({ ...serverOptions, name: s.name, host: '127.0.0.1', port: s.port })) });
  return new Balancer(pool, options);
}

/** Resolves once `condition()` holds, re-checked whenever `emitter` emits one of `events`; fails after SAFETY_MS. */
export function until(
  emitter: { on(event: any, listener: () => void): unknown; off(event: any, listener: () => void): unknown },
  events: readonly string[],
  condition: () => boolean,
  what: string,
): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!condition()) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what}`));
    }, SAFETY_MS);
    const done = (): void => {
      clearTimeout(timer);
      for (const e of events) emitter.off(e, check);
    };
    for (const e of events) emitter.on(e, check);
  });
}

/** Resolves once the balancer holds no lease (every connection it handed out has closed). */
export function allLeasesReleased(balancer: Balancer): Promise<void> {
  return until(balancer, ['lease:release'], () => balancer.activeLeases === 0, `every lease of pool ${balancer.pool.name} to be released`);
}

/**
 * Holds the event loop open until `promise` settles. The system clock's timers are unref'd, so a dial that is
 * only waiting out a turn-around pause lets the process exit (reported in bugs.test.ts).
 */
export async function keepLoopAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

/** Current connections per server name, e.g. `{ a: 1, b: 0 }`. */
export function currentConnections(balancer: Balancer): Record<string, number> {
  return Object.fromEntries(balancer.pool.servers.map((s) => [s.name, s.currentConnections]));
}

/** Counts of each value, e.g. `{ a: 2, b: 2 }`. */
export function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** An HTTP(S) server on 127.0.0.1 that answers every request with its name. */
export interface HttpBackend {
  readonly name: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Answer with `Connection: close`, so every request needs a new connection. */
  closeEachConnection: boolean;
  /** Stops listening and drops every connection at once, as a crashed process would. */
  kill(): Promise<void>;
}

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
}

/** Starts `names.length` HTTP servers (HTTPS with `tls`); `cleanup` gets their kill functions. */
export async function httpBackends(names: readonly string[], tls?: TlsMaterial): Promise<HttpBackend[]> {
  const out: HttpBackend[] = [];
  for (const name of names) {
    const sockets = new Set<net.Socket>();
    let accepted = 0;
    const state = { closeEachConnection: false };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      req.resume();
      req.on('end', () => {
        if (state.closeEachConnection) res.setHeader('connection', 'close');
        res.end(name);
      });
    };
    const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
    server.keepAliveTimeout = 60_000;
    server.on(tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
      accepted++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    const port = await listen(server);
    out.push({
      name,
      port,
      get accepted() {
        return accepted;
      },
      get open() {
        return sockets.size;
      },
      get closeEachConnection() {
        return state.closeEachConnection;
      },
      set closeEachConnection(value: boolean) {
        state.closeEachConnection = value;
      },
      async kill() {
        if (!server.listening) return;
        const closed = waitEvent(server, 'close', `${name} to close`);
        server.close();
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
        await closed;
      },
    });
  }
  return out;
}

/** A GET over `agent`; resolves with the body (the answering server's name). */
export function httpGet(agent: http.Agent, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: 'api.internal', port: 80, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(SAFETY_MS, () => req.destroy(new Error('request timed out')));
  });
}

/** A self-signed certificate for `commonName` made with the openssl command, or undefined without openssl. */
export function selfSignedCertificate(commonName: string): TlsMaterial | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-tls-'));
  try {
    const result = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=DNS:${commonName}`,
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) return undefined;
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every lease `rebalancer` asks to go, with the clock time it asked (for a test to wait for its close). */
export function askedToGo(rebalancer: Rebalancer, clock: Clock): [lease: Lease, at: number][] {
  const asked: [Lease, number][] = [];
  rebalancer.on('lease:recycle', (lease) => asked.push([lease, clock.now()]));
  return asked;
}
