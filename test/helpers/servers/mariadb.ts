import path from 'node:path';
import { ServerGroup, type ServerProcess, findBinary, freePort, removeDir, runToCompletion, startProcess, tempDir } from './process.js';

/**
 * MariaDB instances for the mysql2 adapter tests (Debian package `mariadb-server`): `mariadb-install-db` into a
 * temp dir, then `mariadbd --no-defaults` on 127.0.0.1 only (`--bind-address`), on a free port, with its socket,
 * pid file and data in that dir. `root@localhost` has an empty password (`--auth-root-authentication-method=normal`);
 * connections from 127.0.0.1 match `localhost`. No binary log, a small buffer pool.
 */

export const MARIADB_BIN = (() => {
  const installDb = findBinary('mariadb-install-db') ?? findBinary('mysql_install_db');
  const server = findBinary('mariadbd') ?? findBinary('mysqld');
  return installDb && server ? { installDb, server } : undefined;
})();

export const MARIADB_SKIP = MARIADB_BIN === undefined ? 'MariaDB not installed (apt-get install mariadb-server)' : false;

/** Connection settings for mysql2 to `instance`. */
export function mariadbConfig(instance: { host: string; port: number }): { host: string; port: number; user: string; password: string } {
  return { host: instance.host, port: instance.port, user: 'root', password: '' };
}

/** Starts `count` MariaDB servers named `maria1`, `maria2`…; stop them with `group.stop()`. */
export async function startMariaDbServers(count: number): Promise<ServerGroup<ServerProcess>> {
  if (MARIADB_BIN === undefined) throw new Error('MariaDB is not installed');
  const bin = MARIADB_BIN;
  const asRoot = process.getuid?.() === 0;
  const group = new ServerGroup<ServerProcess>();
  try {
    for (let i = 1; i <= count; i++) {
      const dir = tempDir(`maria${i}`);
      group.onStopped(() => removeDir(dir));
      const dataDir = path.join(dir, 'data');
      runToCompletion(bin.installDb, [
        '--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db',
        ...(asRoot ? ['--user=root'] : []),
      ]);
      const port = await freePort();
      group.add(
        await startProcess({
          name: `maria${i}`,
          file: bin.server,
          args: [
            '--no-defaults', `--datadir=${dataDir}`, `--port=${port}`, '--bind-address=127.0.0.1',
            `--socket=${path.join(dir, 'mysqld.sock')}`, `--pid-file=${path.join(dir, 'mysqld.pid')}`,
            '--skip-log-bin', '--innodb-buffer-pool-size=16M', '--max-connections=50', '--skip-name-resolve=0',
            ...(asRoot ? ['--user=root'] : []),
          ],
          port,
          cwd: dir,
        }),
      );
    }
  } catch (err) {
    await group.stop();
    throw err;
  }
  return group;
}
