import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import {
  type RunAs, ServerGroup, type ServerProcess, findBinary, freePort, lookupUser, removeDir, retryUntil, runToCompletion, startProcess, tempDir,
} from './process.js';

/**
 * A real PostgreSQL primary with real streaming replicas (Debian package `postgresql`) for the pg adapter tests:
 * `initdb` a primary, start it, `pg_basebackup -R` each replica from it (which writes `standby.signal` and
 * `primary_conninfo`), start them. Every instance listens on 127.0.0.1 only (`-h 127.0.0.1`), on a free port,
 * with its data directory and Unix socket in a temp dir, `trust` authentication for the `postgres` user, and
 * `fsync` off. PostgreSQL refuses to run as root, so as root the servers run as the `postgres` system user that
 * the Debian package creates.
 */

const PG_DIRS = pgBinDirs();

/** initdb, postgres and pg_basebackup, or undefined when PostgreSQL is not installed. */
export const PG_BIN = (() => {
  const initdb = findBinary('initdb', PG_DIRS);
  const postgres = findBinary('postgres', PG_DIRS);
  const basebackup = findBinary('pg_basebackup', PG_DIRS);
  return initdb && postgres && basebackup ? { initdb, postgres, basebackup } : undefined;
})();

const RUN_AS: RunAs | undefined = process.getuid?.() === 0 ? lookupUser('postgres') : undefined;

export const PG_SKIP =
  PG_BIN === undefined
    ? 'PostgreSQL not installed (apt-get install postgresql)'
    : process.getuid?.() === 0 && RUN_AS === undefined
      ? 'running as root and there is no postgres user to run PostgreSQL as'
      : false;

/** One PostgreSQL instance. */
export interface PgInstance extends ServerProcess {
  readonly role: 'primary' | 'replica';
  readonly dataDir: string;
}

/** Connection settings for a pg Client to `instance` (user postgres, database postgres, trust auth). */
export function pgConfig(instance: { host: string; port: number }): pg.ClientConfig {
  return { host: instance.host, port: instance.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5000 };
}

/** Starts a primary `pg1` and `replicas` streaming replicas `pg2`, `pg3`…; stop them all with `group.stop()`. */
export async function startPostgresCluster(replicas: number): Promise<ServerGroup<PgInstance>> {
  if (PG_BIN === undefined) throw new Error('PostgreSQL is not installed');
  const bin = PG_BIN;
  const group = new ServerGroup<PgInstance>();
  try {
    const primaryDir = tempDir('pg1', RUN_AS);
    group.onStopped(() => removeDir(primaryDir));
    runToCompletion(bin.initdb, ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8'], { runAs: RUN_AS });
    const primary = group.add(await startPg(bin.postgres, 'pg1', 'primary', primaryDir));
    for (let i = 2; i <= replicas + 1; i++) {
      const dir = tempDir(`pg${i}`, RUN_AS);
      group.onStopped(() => removeDir(dir));
      runToCompletion(bin.basebackup, ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dir, '-R', '-X', 'stream', '--no-sync'], {
        runAs: RUN_AS,
      });
      group.add(await startPg(bin.postgres, `pg${i}`, 'replica', dir));
    }
  } catch (err) {
    await group.stop();
    throw err;
  }
  return group;
}

async function startPg(postgres: string, name: string, role: 'primary' | 'replica', dataDir: string): Promise<PgInstance> {
  const port = await freePort();
  const proc = await startProcess({
    name,
    file: postgres,
    args: [
      '-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dataDir,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB',
      '-c', 'max_connections=50', '-c', 'logging_collector=off', '-c', 'log_min_messages=warning',
    ],
    port,
    runAs: RUN_AS,
    cwd: dataDir,
    // Accepting TCP is not enough: during startup and recovery PostgreSQL answers "the database system is
    // starting up". Ready means a query runs.
    ready: (signal) =>
      retryUntil(async () => {
        const client = new pg.Client(pgConfig({ host: '127.0.0.1', port }));
        client.on('error', () => {});
        try {
          await client.connect();
          await client.query('SELECT 1');
        } finally {
          await client.end().catch(() => {});
        }
      }, signal),
  });
  return Object.assign(Object.create(proc) as PgInstance, { role, dataDir });
}

/**
 * Turns SSL on for a running instance: writes the key and certificate into its data directory (mode 0600, owned
 * by the server's user), `ALTER SYSTEM SET ssl = on` and reloads; resolves once an SSL connection succeeds.
 */
export async function enableSsl(instance: PgInstance, material: { key: string; cert: string }, signal: AbortSignal): Promise<void> {
  for (const [file, text] of [['server.key', material.key], ['server.crt', material.cert]] as const) {
    const target = path.join(instance.dataDir, file);
    fs.writeFileSync(target, text, { mode: 0o600 });
    if (RUN_AS) fs.chownSync(target, RUN_AS.uid, RUN_AS.gid);
  }
  const admin = new pg.Client(pgConfig(instance));
  admin.on('error', () => {});
  await admin.connect();
  try {
    await admin.query("ALTER SYSTEM SET ssl_cert_file = 'server.crt'");
    await admin.query("ALTER SYSTEM SET ssl_key_file = 'server.key'");
    await admin.query('ALTER SYSTEM SET ssl = on');
    await admin.query('SELECT pg_reload_conf()');
  } finally {
    await admin.end().catch(() => {});
  }
  // The postmaster applies the reload asynchronously: wait until a new connection can use SSL.
  await retryUntil(async () => {
    const client = new pg.Client({ ...pgConfig(instance), ssl: { rejectUnauthorized: false } });
    client.on('error', () => {});
    try {
      await client.connect();
    } finally {
      await client.end().catch(() => {});
    }
  }, signal);
}

/** Debian keeps the server binaries in /usr/lib/postgresql/<major>/bin, newest first. */
function pgBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  try {
    return fs
      .readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => path.join(root, v, 'bin'));
  } catch {
    return [];
  }
}
