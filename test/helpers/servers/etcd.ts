import http from 'node:http';
import { type ServerProcess, findBinary, freePort, removeDir, startProcess, tempDir } from './process.js';

/**
 * etcd members for the `switchyard-lb/etcd` tests (Debian package `etcd-server`, 3.4): a single node or a
 * cluster of three, each on 127.0.0.1 free client and peer ports with its own temp data dir, started by PID
 * and stopped by PID. A member can be paused (SIGSTOP: it stops answering, as a partitioned member does),
 * resumed, stopped and started again on the same ports and data (etcd down, then back).
 */

/** Path of etcd, or undefined when it is not installed (tests skip with this message). */
export const ETCD = findBinary('etcd');
export const ETCD_SKIP = ETCD === undefined ? 'etcd not installed (apt-get install etcd-server)' : false;

/** Raft timings of the members: short ones let a 1 s lease be granted (etcd's floor is 1.5 × election timeout). */
export interface EtcdTimings {
  readonly heartbeatMs: number;
  readonly electionMs: number;
}
const FAST: EtcdTimings = { heartbeatMs: 50, electionMs: 500 };

/** One etcd member started by the helper. */
export class EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly #args: readonly string[];
  #process: ServerProcess | undefined;
  #paused = false;

  constructor(name: string, clientPort: number, peerPort: number, cluster: string, token: string, timings: EtcdTimings) {
    this.name = name;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.dataDir = tempDir(`etcd-${name}`);
    this.#args = [
      '--name', name, '--data-dir', this.dataDir,
      '--listen-client-urls', this.url, '--advertise-client-urls', this.url,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
      '--heartbeat-interval', String(timings.heartbeatMs), '--election-timeout', String(timings.electionMs),
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
    ];
  }

  /** `http://127.0.0.1:<client port>`, for `new Etcd3({ hosts })`. */
  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** PID of the running process, or undefined. */
  get pid(): number | undefined {
    return this.#process?.exited === false ? this.#process.pid : undefined;
  }

  /** Starts (or starts again, on the same ports and data). `waitHealthy`: also wait for `/health` (a leader). */
  async start(waitHealthy = true): Promise<void> {
    if (this.pid !== undefined) return;
    this.#paused = false;
    this.#process = await startProcess({
      name: `etcd ${this.name}`,
      file: ETCD!,
      args: this.#args,
      port: this.clientPort,
      cwd: this.dataDir,
      ...(waitHealthy ? { ready: (signal: AbortSignal) => waitHealthy_(this.clientPort, signal) } : {}),
    });
  }

  /** SIGSTOP: the member keeps its sockets but answers nothing. */
  pause(): void {
    const pid = this.pid;
    if (pid === undefined || this.#paused) return;
    process.kill(pid, 'SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT after {@link EtcdMember.pause}. */
  resume(): void {
    const pid = this.pid;
    if (pid === undefined || !this.#paused) return;
    process.kill(pid, 'SIGCONT');
    this.#paused = false;
  }

  /** SIGTERM (resumed first if paused), then SIGKILL after a bound; the data dir is kept for a restart. */
  async stop(): Promise<void> {
    this.resume();
    await this.#process?.stop();
  }

  /** SIGKILL at once. */
  async kill(): Promise<void> {
    await this.#process?.kill();
    this.#paused = false;
  }

  /** Stops and removes the data dir. */
  async destroy(): Promise<void> {
    await this.stop();
    removeDir(this.dataDir);
  }
}

/** A set of members; `urls` lists every client URL. */
export class EtcdCluster {
  constructor(readonly members: readonly EtcdMember[]) {}

  get urls(): string[] {
    return this.members.map((m) => m.url);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.members.map((m) => m.destroy()));
  }
}

/** Starts one etcd member on free loopback ports. */
export async function startEtcd(timings: EtcdTimings = FAST): Promise<EtcdCluster> {
  return startEtcdCluster(1, timings);
}

/** Starts `size` members forming one cluster (they wait for each other, so they start together). */
export async function startEtcdCluster(size: number, timings: EtcdTimings = FAST): Promise<EtcdCluster> {
  if (ETCD === undefined) throw new Error('etcd is not installed');
  const ports: { client: number; peer: number }[] = [];
  const taken = new Set<number>();
  while (ports.length < size) {
    const client = await freePort();
    const peer = await freePort();
    if (client === peer || taken.has(client) || taken.has(peer)) continue;
    taken.add(client);
    taken.add(peer);
    ports.push({ client, peer });
  }
  const cluster = ports.map((p, i) => `e${i + 1}=http://127.0.0.1:${p.peer}`).join(',');
  const token = `sy-${ports[0]!.client}`;
  const members = ports.map((p, i) => new EtcdMember(`e${i + 1}`, p.client, p.peer, cluster, token, timings));
  const group = new EtcdCluster(members);
  try {
    await Promise.all(members.map((m) => m.start()));
  } catch (err) {
    await group.stop();
    throw err;
  }
  return group;
}

/** Resolves once `GET /health` answers `{"health":"true"}` (the member sees a leader). */
async function waitHealthy_(port: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const healthy = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
        res.on('error', () => resolve(false));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
    if (healthy) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, 50);
      signal.addEventListener('abort', done, { once: true });
    });
  }
  throw signal.reason ?? new Error('aborted');
}
