/**
 * A loopback port that never completes a TCP handshake, for connect-timeout scenarios: a listening socket with
 * `listen(0)` that never accepts, its one-entry accept queue filled by a connection of its own, so further SYNs are
 * dropped by the kernel and the connecting side sees a timeout (reference harness note §11). Node always accepts
 * on its listening sockets, so this runs in a small `python3` child process, stopped by its PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { withTimeout } from '../helpers/timeout.js';

const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p)) ?? 'python3';

const SCRIPT = `
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    fill.append(c)
time.sleep(0.05)
print(port, flush=True)
sys.stdin.read()
`;

/** A port whose SYNs are dropped; `stop()` ends the helper process. */
export class BlackHole {
  #child: ChildProcess | undefined;
  port = 0;

  async start(): Promise<number> {
    const child = spawn(PYTHON, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child = child;
    child.stdout!.setEncoding('utf8');
    const [line] = (await withTimeout(once(child.stdout!, 'data'), 5000, 'the black-hole helper to listen')) as [string];
    this.port = Number(line.trim());
    return this.port;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await withTimeout(exited, 5000, 'the black-hole helper to exit');
  }
}
