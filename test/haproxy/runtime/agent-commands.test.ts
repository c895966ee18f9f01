import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { buildFromHaproxyConfig } from '../../../src/haproxy/from-config.js';
import { parseHaproxyConfig } from '../../../src/haproxy/config/parser.js';
import { type CliSession, runCommand } from '../../../src/haproxy/runtime/commands.js';

const CONFIG = `defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
backend b
  server s1 127.0.0.1:18701 agent-check agent-port 18719 agent-inter 1h
  server s2 127.0.0.1:18702
`;

describe('runtime API: set server agent, agent-addr, agent-port, agent-send (replies recorded from haproxy 2.6.12)', () => {
  const stderr: string[] = [];
  const instance = buildFromHaproxyConfig(parseHaproxyConfig(CONFIG), { pid: 7, stderr: (t) => stderr.push(t), statsSockets: false });
  after(() => instance.destroy());
  const host = { instance, now: () => 0, notice: (m: string) => instance._notice(m), alert: (m: string) => instance._alert(m) };
  const run = (command: string): string => runCommand(command, host, { level: 'admin', prompt: false, quit: false } satisfies CliSession);
  const b = instance.backend('b');

  it('forces the agent down and up, with the "changed from CLI" lines', () => {
    assert.equal(run('set server b/s1 agent down'), '\n');
    assert.equal(b.pool.get('s1').status, 'DOWN (agent)');
    assert.equal(run('set server b/s1 agent up'), '\n');
    assert.equal(b.pool.get('s1').status, 'no check');
    assert.deepEqual(stderr.filter((l) => l.includes('changed from CLI')), [
      '[WARNING]  (7) : Server b/s1 is DOWN, changed from CLI. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n',
      '[WARNING]  (7) : Server b/s1 is UP, changed from CLI. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.\n',
    ]);
  });

  it('moves the agent (agent-addr, agent-port, agent-send) and shows it in show servers state', () => {
    assert.equal(run('set server b/s1 agent-addr 127.0.0.2 port 5'), '\n');
    assert.equal(run('set server b/s1 agent-port 7'), '\n');
    assert.equal(run('set server b/s1 agent-send hello'), '\n');
    assert.deepEqual(b.agent?.settings(b.pool.get('s1')), { interMs: 3_600_000, addr: '127.0.0.2', port: 7, send: 'hello' });
    const lines = run('show servers state b').split('\n');
    assert.match(lines[2] ?? '', / 22 0 0 - 18701 - 0 0 - 127\.0\.0\.2 7$/);
    assert.match(lines[3] ?? '', / 0 0 0 - 18702 - 0 0 - - 0$/);
  });

  it("answers errors with HAProxy's words", () => {
    const recorded: [string, string][] = [
      ['set server b/s1 agent', "'set server <srv> agent' expects 'up' or 'down'.\n\n"],
      ['set server b/s1 agent bogus', "'set server <srv> agent' expects 'up' or 'down'.\n\n"],
      ['set server b/s2 agent down', 'agent checks are not enabled on this server.\n\n'],
      ['set server b/s1 agent-addr', 'set server <b>/<s> agent-addr requires an address and optionally a port.\n\n'],
      ['set server b/s1 agent-addr bo#gus', "invalid addr 'bo#gus'\n"],
      ['set server b/s1 agent-port', 'set server <b>/<s> agent-port requires a port.\n\n'],
      ['set server b/s1 agent-port x', 'provided port is not an integer\n'],
      ['set server b/s1 agent-port 99999', 'provided port is invalid\n'],
      ['set server b/s2 agent-addr 127.0.0.2', 'agent checks are not enabled on this server\n'],
      ['set server b/s2 agent-port 7', 'agent checks are not enabled on this server\n'],
      ['set server b/s2 agent-send x', 'agent checks are not enabled on this server.\n\n'],
    ];
    assert.deepEqual(recorded.map(([c]) => [c, run(c)]), recorded);
  });
});
