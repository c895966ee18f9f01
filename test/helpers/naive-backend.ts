import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { withTimeout } from './timeout.js';

/**
 * The naive backend in a child process of its own: `net.createServer((c) => c.end('hi\n'))` with no
 * `error` handler, so any reset it receives kills it (`ECONNRESET` is unhandled). Stopped by its PID.
 */
export interface NaiveBackend {
  readonly port: number;
  readonly child: ChildProcess;
  /** True while the process runs. */
  readonly alive: boolean;
  /** What a fresh connection reads before the backend closes it (`'hi\n'` while it is alive). */
  greeting(): Promise<string>;
  stop(): Promise<void>;
}

export async function startNaiveBackend(): Promise<NaiveBackend> {
  const script = "const s = require('net').createServer((c) => c.end('hi\\n')); s.listen(0, '127.0.0.1', () => console.log(s.address().port))";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [first] = (await withTimeout(once(child.stdout!, 'data'), 10_000, 'the naive backend to listen')) as [Buffer];
  const port = Number(first.toString().trim());
  return {
    port,
    child,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    greeting: () =>
      withTimeout(new Promise<string>((resolve, reject) => {
        let text = '';
        const c = net.connect({ host: '127.0.0.1', port });
        c.setEncoding('latin1').on('data', (d: string) => (text += d));
        c.on('error', reject);
        c.on('close', () => resolve(text));
      }), 5000, () => `the naive backend's greeting (stderr: ${stderr})`),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
