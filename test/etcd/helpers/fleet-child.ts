import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { InstanceConfig } from './fleet-instance.js';

/** One line an instance printed, with the time (this process's `performance.now()`) it arrived. */
export interface InstanceLine {
  readonly ev: string;
  readonly at: number;
  readonly [field: string]: unknown;
}

const FIXTURE = new URL('./fleet-instance.ts', import.meta.url).pathname;
const children = new Set<ChildProcess>();
let hooked = false;

/**
 * A switchyard instance in its own process (test/etcd/helpers/fleet-instance.ts), started and stopped by PID:
 * its JSON lines are kept with their arrival time; `waitFor` polls them with a bound (never a sleep).
 */
export class FleetChild {
  readonly identity: string;
  /** Whether the instance spreads the probing (`spreadProbers`). */
  readonly spreads: boolean;
  readonly lines: InstanceLine[] = [];
  readonly #child: ChildProcess;
  readonly #exit: Promise<void>;
  #stderr = '';
  #wake = new Set<() => void>();
  #exited = false;

  private constructor(config: InstanceConfig) {
    if (!hooked) {
      hooked = true;
      process.once('exit', () => {
        for (const c of children) c.kill('SIGKILL');
      });
    }
    this.identity = config.identity;
    this.spreads = config.spreadProbers ?? true;
    this.#child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this.#child);
    this.#exit = new Promise((resolve) => {
      this.#child.once('exit', () => {
        this.#exited = true;
        children.delete(this.#child);
        this.#notify();
        resolve();
      });
    });
    createInterface({ input: this.#child.stdout! }).on('line', (text) => {
      try {
        this.lines.push({ ...(JSON.parse(text) as { ev: string }), at: performance.now() });
      } catch {
        this.lines.push({ ev: 'text', text, at: performance.now() });
      }
      this.#notify();
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-4000);
    });
  }

  /** Starts an instance and waits until it says `ready`. */
  static async start(config: InstanceConfig, timeoutMs = 20_000): Promise<FleetChild> {
    const child = new FleetChild(config);
    await child.waitFor((l) => l.ev === 'ready', timeoutMs, 'ready');
    return child;
  }

  /** Starts an instance without waiting for it. */
  static spawn(config: InstanceConfig): FleetChild {
    return new FleetChild(config);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Lines of one kind (optionally for one server). */
  events(ev: string, server?: string): InstanceLine[] {
    return this.lines.filter((l) => l.ev === ev && (server === undefined || l['server'] === server));
  }

  /** The first line from index `from` on that matches, waiting up to `timeoutMs` for it. */
  waitFor(match: (line: InstanceLine) => boolean, timeoutMs: number, what: string, from = 0): Promise<InstanceLine> {
    return new Promise((resolve, reject) => {
      let index = from;
      const check = (): boolean => {
        for (; index < this.lines.length; index++) {
          if (match(this.lines[index]!)) {
            done();
            resolve(this.lines[index]!);
            return true;
          }
        }
        if (this.#exited) {
          done();
          reject(new Error(`${this.identity} exited while waiting for ${what}\n${this.#stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.identity}: timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${this.lines.slice(-12).map((l) => JSON.stringify(l)).join('\n')}\n${this.#stderr}`));
      }, timeoutMs);
      const wake = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.#wake.delete(wake);
      };
      if (!check()) this.#wake.add(wake);
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.#child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** SIGSTOP: the process keeps its sockets and lease keep-alives stop (a long GC pause, a frozen VM). */
  pause(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  /** SIGKILL (resumed first so the signal is taken at once) and wait for the exit. */
  async kill(): Promise<void> {
    if (this.#exited) return;
    this.#child.kill('SIGKILL');
    await this.#exit;
  }

  /** Graceful close (the instance revokes its lease), SIGKILL after `timeoutMs`. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.#exited) return;
    try {
      process.kill(this.pid, 'SIGCONT');
    } catch {
      // gone
    }
    this.send({ cmd: 'close' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.#exit;
    clearTimeout(timer);
  }

  #notify(): void {
    for (const wake of [...this.#wake]) wake();
  }
}

/** Closes every instance (in `after` hooks, also when a test failed). */
export async function closeAll(instances: readonly FleetChild[]): Promise<void> {
  await Promise.allSettled(instances.map((i) => i.close()));
}
