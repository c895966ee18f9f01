import { ServerGroup, type ServerProcess, findBinary, freePort, removeDir, startProcess, tempDir } from './process.js';

/**
 * redis-server instances for the ioredis adapter tests (Debian package `redis-server`): each on 127.0.0.1
 * only, on a free port, with no persistence and its working directory in a temp dir.
 */

/** Path of redis-server, or undefined when it is not installed (tests skip with this message). */
export const REDIS_SERVER = findBinary('redis-server');
export const REDIS_SKIP = REDIS_SERVER === undefined ? 'redis-server not installed (apt-get install redis-server)' : false;

/** Starts `count` redis-server instances named `redis1`, `redis2`…; stop them with `group.stop()`. */
export async function startRedisServers(count: number): Promise<ServerGroup<ServerProcess>> {
  if (REDIS_SERVER === undefined) throw new Error('redis-server is not installed');
  const group = new ServerGroup<ServerProcess>();
  try {
    for (let i = 1; i <= count; i++) {
      const dir = tempDir(`redis${i}`);
      group.onStopped(() => removeDir(dir));
      const port = await freePort();
      group.add(
        await startProcess({
          name: `redis${i}`,
          file: REDIS_SERVER,
          // A config on the command line only: no file read, nothing saved, no protected-mode surprises.
          args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
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
