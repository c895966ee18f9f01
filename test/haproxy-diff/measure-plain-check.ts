/**
 * Measures what a plain TCP health check does to real backends (issue 12 item 8) — not a test, a measurement:
 *
 *   node --import tsx test/haproxy-diff/measure-plain-check.ts [checks]
 *
 * Starts PostgreSQL (stderr captured), MariaDB and redis-server on loopback, then for each checker — HAProxy's plain
 * `check`, `switchyard -f` with the same configuration, and three Node-only ways to close a connect probe — counts
 * what the backends noticed: PostgreSQL "could not receive data from client" lines, MariaDB `Aborted_connects`,
 * redis `total_connections_received` (the counter queries themselves are subtracted), and whether the issue's naive
 * backend (`net.createServer((c) => c.end('hi\n'))`, no error handler) survives. Everything is stopped by PID.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMariaDbServers } from '../helpers/servers/mariadb.js';
import { PG_BIN } from '../helpers/servers/postgres.js';
import { freePort, lookupUser, removeDir, runToCompletion, tempDir, waitForPort } from '../helpers/servers/process.js';
import { startRedisServers } from '../helpers/servers/redis.js';
import { HAPROXY } from './harness.js';

const CHECKS = Number(process.argv[2] ?? 20);
const INTERVAL_MS = 200;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const BIN = new URL('../../bin/switchyard.js', import.meta.url).pathname;

/** One probe the Node way: connect, then close as `variant` says. */
function probe(port: number, variant: 'destroy' | 'reset' | 'end-drain'): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => resolve());
    s.on('connect', () => {
      if (variant === 'destroy') s.destroy();
      else if (variant === 'reset') s.resetAndDestroy();
      else {
        // Graceful: FIN now, read and discard whatever the server sends (unread data at close would turn the FIN
        // into an RST), finish on the server's FIN, give up after 1 s.
        s.end();
        s.resume();
        const cap = setTimeout(() => s.destroy(), 1000);
        s.on('close', () => clearTimeout(cap));
      }
      if (variant !== 'end-drain') resolve();
      else s.on('close', () => resolve());
    });
  });
}

async function naive(): Promise<{ port: number; child: ChildProcess; alive(): boolean; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', `require('net').createServer((c) => c.end('hi\\n')).listen(${port}, '127.0.0.1', () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await once(child.stdout!, 'data');
  return {
    port,
    child,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const runAs = lookupUser('postgres');
if (PG_BIN === undefined || runAs === undefined) throw new Error('PostgreSQL (and its postgres user) is needed');
const pgDir = tempDir('measure-pg', runAs);
runToCompletion(PG_BIN.initdb, ['-D', pgDir, '-U', 'postgres', '--auth=trust', '--no-sync'], { runAs });
const pgPort = await freePort();
let pgLog = '';
const pg = spawn(PG_BIN.postgres, ['-D', pgDir, '-p', String(pgPort), '-h', '127.0.0.1', '-k', pgDir, '-c', 'fsync=off', '-c', 'logging_collector=off'], {
  uid: runAs.uid, gid: runAs.gid, stdio: ['ignore', 'ignore', 'pipe'],
});
pg.stderr!.on('data', (d: Buffer) => (pgLog += d.toString()));
const maria = await startMariaDbServers(1);
const redis = await startRedisServers(1);
const mPort = maria.members[0]!.port;
const rPort = redis.members[0]!.port;
const dir = mkdtempSync(join(tmpdir(), 'measure-plain-check-'));

function counters(): { pg: number; aborted: number; redis: number } {
  const m = execFileSync('mariadb', ['-h127.0.0.1', `-P${mPort}`, '-uroot', '-N', '-e', "show global status like 'Aborted_connects'"]).toString();
  const r = execFileSync('redis-cli', ['-p', String(rPort), 'info', 'stats']).toString();
  return {
    pg: pgLog.split('\n').filter((l) => /could not receive data from client|reset by peer/.test(l)).length,
    aborted: Number(m.trim().split(/\s+/)[1]),
    redis: Number(/total_connections_received:(\d+)/.exec(r)![1]),
  };
}

async function run(name: string, body: (ports: readonly number[]) => Promise<void>): Promise<void> {
  const backend = await naive();
  const before = counters();
  await body([pgPort, mPort, rPort, backend.port]);
  await sleep(300);
  // The second `info` call is itself one redis connection (subtracted below).
  const after = counters();
  console.log(`${name.padEnd(34)} naive backend ${backend.alive() ? 'alive' : 'DIED '}  postgres +${after.pg - before.pg} lines  ` +
    `mariadb Aborted_connects +${after.aborted - before.aborted}  redis connections +${after.redis - before.redis - 1}`);
  await backend.stop();
}

async function engine(cmd: string, args: readonly string[], ports: readonly number[]): Promise<void> {
  const cfg = join(dir, 'plain.cfg');
  writeFileSync(cfg, `global\n  stats socket ${dir}/admin.sock level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
    `listen fe\n  bind 127.0.0.1:${await freePort()}\n${ports.map((p, i) => `  server b${i} 127.0.0.1:${p} check inter ${INTERVAL_MS}\n`).join('')}`);
  const child = spawn(cmd, [...args, '-db', '-f', cfg], { stdio: 'ignore' });
  await sleep(CHECKS * INTERVAL_MS);
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

try {
  await waitForPort(pgPort, AbortSignal.timeout(20_000));
  await sleep(500);
  console.log(`${CHECKS} checks per backend, ${INTERVAL_MS} ms apart`);
  await run('haproxy plain check', (ports) => engine(HAPROXY, [], ports));
  await run('switchyard -f plain check', (ports) => engine(process.execPath, [BIN], ports));
  for (const variant of ['destroy', 'reset', 'end-drain'] as const) {
    await run(`node connect + ${variant}`, async (ports) => {
      for (let i = 0; i < CHECKS; i++) {
        await Promise.all(ports.map((p) => probe(p, variant)));
        await sleep(INTERVAL_MS);
      }
    });
  }
} finally {
  pg.kill('SIGTERM');
  await once(pg, 'exit');
  await maria.stop();
  await redis.stop();
  removeDir(pgDir);
  removeDir(dir);
}
