import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { buildFromHaproxyConfig } from '../../src/haproxy/from-config.js';
import { parseHaproxyConfig } from '../../src/haproxy/config/parser.js';
import { Pool } from '../../src/pool.js';
import { TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { faultBackend } from '../../src/testing/index.js';
import {
  destroyClients, report, track,
} from './support.js';

/** Another loopback address: a listener bound to 127.0.0.1 only must refuse connections made to it. */
const OTHER_LOOPBACK = '127.0.0.2';

function connectOutcome(options: net.NetConnectOpts): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(options);
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    c.on('connect', () => {
      c.destroy();
      resolve('connected');
    });
  });
}

/** Sends one request line to a runtime API socket and resolves with the whole reply. */
function ask(where: net.NetConnectOpts, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(where);
    let reply = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (reply += d));
    c.on('error', reject);
    c.on('close', () => resolve(reply));
    c.on('connect', () => c.end(`${line}\n`));
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('exposure', () => {
  after(destroyClients);
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-exposure-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('binds a proxy and the fault backends to the configured address only', async () => {
    await using backend = await faultBackend();
    assert.equal(await connectOutcome({ host: OTHER_LOOPBACK, port: backend.port }), 'ECONNREFUSED');
    const balancer = new Balancer(new Pool('p', { servers: [{ name: 'b', ...backend.address }] }));
    const proxy = new TcpProxy(balancer);
    const { address, port } = await proxy.listen({ host: '127.0.0.1' });
    try {
      assert.equal(address, '127.0.0.1');
      assert.equal(await connectOutcome({ host: '127.0.0.1', port }), 'connected');
      assert.equal(await connectOutcome({ host: OTHER_LOOPBACK, port }), 'ECONNREFUSED');
    } finally {
      proxy.destroy();
      balancer.destroy();
    }
  });

  it('opens the runtime API on 127.0.0.1 by default, unix sockets 0600 unless configured, and a level user socket cannot change state', async () => {
    const tcpPort = await freePort();
    const bindPort = await freePort();
    const userSock = join(dir, 'user.sock');
    const adminSock = join(dir, 'admin.sock');
    const operatorSock = join(dir, 'operator.sock');
    const haproxy = buildFromHaproxyConfig(parseHaproxyConfig(`
global
    stats socket ${userSock} level user
    stats socket ${operatorSock}
    stats socket ${adminSock} level admin mode 660
    stats socket ipv4@:${tcpPort} level user
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend be
    server s1 127.0.0.1:1 weight 10
    server s2 127.0.0.1:2
frontend fe
    bind 127.0.0.1:${bindPort}
    default_backend be
`), { warnings: false, stderr: () => {}, stdout: () => {} });
    await haproxy.start();
    try {
      const mode = (path: string): number => statSync(path).mode & 0o777;
      assert.equal(mode(userSock), 0o600);
      assert.equal(mode(operatorSock), 0o600);
      assert.equal(mode(adminSock), 0o660);
      const tcp = haproxy.statsAddresses.find((a): a is net.AddressInfo => typeof a === 'object');
      assert.equal(tcp?.address, '127.0.0.1');
      assert.equal(await connectOutcome({ host: OTHER_LOOPBACK, port: tcpPort }), 'ECONNREFUSED');
      assert.equal(await connectOutcome({ host: OTHER_LOOPBACK, port: bindPort }), 'ECONNREFUSED');

      const pool = haproxy.backend('be').pool;
      const state = (): string => JSON.stringify(pool.snapshot());
      const before = state();
      const changes = [
        'disable server be/s1', 'set server be/s1 state maint', 'set server be/s1 state drain', 'set weight be/s1 0', 'set server be/s1 weight 0',
        'set server be/s1 health down', 'shutdown sessions server be/s1', 'del server be/s2', 'add server be/s3 127.0.0.1:3',
        'set maxconn server be/s1 1', 'admin; disable server be/s1', 'operator; disable server be/s1', 'clear counters all',
      ];
      let denied = 0;
      for (const where of [{ path: userSock }, { host: '127.0.0.1', port: tcpPort }]) {
        for (const line of changes) {
          const reply = await ask(where, line);
          if (/Permission denied/.test(reply)) denied++;
          assert.equal(state(), before, `${line} on a level user socket changed nothing (reply ${JSON.stringify(reply)})`);
        }
      }
      assert.ok(denied >= changes.length, `denied ${denied}`);
      // Reading is allowed at level user.
      assert.match(await ask({ path: userSock }, 'show stat'), /^# pxname,svname,/);
      // The same command on the admin socket does change state: the checks above could fail.
      await ask({ path: adminSock }, 'disable server be/s1');
      assert.equal(pool.get('s1').adminState, 'maint');
      report('exposure', { deniedCommands: denied, socketModes: { user: '0600', operator: '0600', admin: '0660 (configured)' }, tcpApiAddress: tcp?.address });
    } finally {
      await haproxy.close({ deadlineMs: 1000 }).catch(() => haproxy.destroy());
    }
  });
});
