import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/haproxy.cfg', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real command (bin/switchyard.js) in a child process. */
function switchyard(args: readonly string[], cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const VALID = 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\nlisten web\n  bind 127.0.0.1:18090\n  server s1 127.0.0.1:18091 check\n';

describe('switchyard -c (haproxy -c compatible check)', () => {
  let dir = '';
  const file = async (name: string, text: string): Promise<string> => {
    await writeFile(join(dir, name), text);
    return name;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the walk-through configuration: "Configuration file is valid", exit 0, nothing on stderr', async () => {
    const run = await switchyard(['-c', '-f', EXAMPLE]);
    assert.deepEqual(run, { code: 0, stdout: 'Configuration file is valid\n', stderr: '' });
  });

  it('rejects a broken copy with the alerts in HAProxy shape on stderr and exit 1', async () => {
    const name = await file('broken.cfg', VALID.replace('bind 127.0.0.1:18090', 'bind 127.0.0.1:18090\n  balanc roundrobin').replace(' check', ' chek'));
    const run = await switchyard(['-c', '-f', name], dir);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    const lines = run.stderr.trimEnd().split('\n').map((l) => l.replace(/\(\d+\)/, '(PID)'));
    assert.deepEqual(lines.slice(2), [
      "[ALERT]    (PID) : config : parsing [broken.cfg:8] : unknown keyword 'balanc' in 'listen' section; did you mean 'balance' maybe ?",
      "[ALERT]    (PID) : config : [broken.cfg:9] : 'server web/s1' : unknown keyword 'chek'; did you mean 'check' maybe ?",
      '[ALERT]    (PID) : config : Error(s) found in configuration file : broken.cfg',
      '[ALERT]    (PID) : config : Fatal errors found in configuration.',
    ]);
    assert.match(lines[0] ?? '', /^\[NOTICE\] {3}\(PID\) : switchyard version is \d+\.\d+\.\d+/);
  });

  it('prints warnings on stderr and "Warnings were found." before the verdict, exit 0', async () => {
    const name = await file('warn.cfg', VALID.replace(' check', ' check inter 4'));
    const run = await switchyard(['-c', '-f', name], dir);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, 'Warnings were found.\nConfiguration file is valid\n');
    assert.match(run.stderr, /\[WARNING\] {2}\(\d+\) : config : parsing \[warn\.cfg:8\] : server web\/s1: 'inter 4' checks every 4 ms.*did you mean 4s\?/);
  });

  it('prints a second server-state-file as HAProxy 2.6.12 does: an [ALERT] that is not fatal, no "Warnings were found.", exit 0', async () => {
    await file('state', '1\n');
    const name = await file('twice.cfg', `global\n  server-state-file ${join(dir, 'state')}\n  server-state-file b\n  spread-checks 5\n  spread-checks 6\n${VALID}`);
    const run = await switchyard(['-c', '-f', name], dir);
    assert.deepEqual([run.code, run.stdout], [0, 'Configuration file is valid\n']);
    const lines = run.stderr.trimEnd().split('\n').map((l) => l.replace(/\(\d+\)/, '(PID)'));
    assert.deepEqual(lines.slice(2), [
      "[ALERT]    (PID) : config : parsing [twice.cfg:3] : 'server-state-file' already specified. Continuing.",
      '[ALERT]    (PID) : config : parsing [twice.cfg:5]: spread-checks already specified. Continuing.',
    ]);
  });

  it('exits 2 for a valid configuration with nothing to listen on, as HAProxy does', async () => {
    const name = await file('nolistener.cfg', VALID.replace('listen web\n  bind 127.0.0.1:18090\n', 'backend web\n'));
    const run = await switchyard(['-c', '-f', name], dir);
    assert.deepEqual([run.code, run.stdout], [2, 'Configuration file has no error but will not start (no listener) => exit(2).\n']);
  });

  it('counts the stats socket as a listener: a configuration with only a backend and the runtime API is valid, exit 0', async () => {
    const name = await file('apionly.cfg', `global\n  stats socket ${join(dir, 'api.sock')} level admin\n${VALID.replace('listen web\n  bind 127.0.0.1:18090\n', 'backend web\n')}`);
    const run = await switchyard(['-c', '-f', name], dir);
    assert.deepEqual([run.code, run.stdout, run.stderr], [0, 'Configuration file is valid\n', '']);
  });

  it('says nothing with -q: only the exit status tells', async () => {
    const name = await file('quiet.cfg', 'backend b\n  nonsense\n');
    assert.deepEqual(await switchyard(['-c', '-q', '-f', name], dir), { code: 1, stdout: '', stderr: '' });
  });

  it('reports a file it cannot open, exit 1', async () => {
    const run = await switchyard(['-c', '-f', 'missing.cfg'], dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\[ALERT\] {4}\(\d+\) : config : Cannot open configuration file\/directory missing\.cfg : No such file or directory/);
  });

  it('prints the version with -v', async () => {
    const run = await switchyard(['-v']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^switchyard version \d+\.\d+\.\d+ /);
  });

  it('runs a configuration with -f (run mode is tested in test/cli/run.test.ts); one without listener exits 1 like haproxy', async () => {
    const run = await switchyard(['-f', await file('nolisten.cfg', 'backend be\n  server s1 127.0.0.1:18091\n')], dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /No enabled listener found/);
  });

  it('refuses an unknown option with the usage, exit 1', async () => {
    const run = await switchyard(['-Z']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /unknown option '-Z'[\s\S]*Usage : switchyard/);
  });
});
