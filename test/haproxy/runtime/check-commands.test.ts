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
  server s1 127.0.0.1:18801 check inter 1h
  server s2 127.0.0.1:18802
  server s3 127.0.0.1:18803 check inter 1h addr 127.0.0.3 port 18809
`;

describe('runtime API: set server check-addr, check-port, ssl (replies recorded from haproxy 2.6.12)', () => {
  const instance = buildFromHaproxyConfig(parseHaproxyConfig(CONFIG), { pid: 7, stderr: () => {}, statsSockets: false });
  after(() => instance.destroy());
  const host = { instance, now: () => 0, notice: (m: string) => instance._notice(m), alert: (m: string) => instance._alert(m) };
  const run = (command: string): string => runCommand(command, host, { level: 'admin', prompt: false, quit: false } satisfies CliSession);
  const b = instance.backend('b');
  /** srv_check_port and srv_check_addr of `show servers state b`, per server. */
  const columns = (): string[] => run('show servers state b').split('\n').slice(2, 5).map((l) => l.split(' ').slice(21, 23).join(' '));

  it('moves the checks (the checker\'s target) and shows the new address and port in show servers state', () => {
    assert.deepEqual(columns(), ['0 -', '0 -', '18809 127.0.0.3']);
    assert.equal(run('set server b/s1 check-port 18005'), '\n');
    assert.deepEqual(b.checker.target('s1'), { addr: undefined, port: 18005 });
    assert.equal(run('set server b/s1 check-addr 127.0.0.9'), '\n');
    assert.equal(run('set server b/s3 check-addr 0:0::1 port 99'), '\n');
    assert.deepEqual(columns(), ['18005 127.0.0.9', '0 -', '99 ::1']);
    // port 0: the server's own port again, shown as 0; an unknown word after the address is ignored.
    assert.equal(run('set server b/s1 check-addr 127.0.0.7 port 0'), '\n');
    assert.equal(run('set server b/s3 check-addr 127.0.0.8 prt 5'), '\n');
    assert.deepEqual(b.checker.target('s1'), { addr: '127.0.0.7', port: undefined });
    assert.deepEqual(columns(), ['0 127.0.0.7', '0 -', '99 127.0.0.8']);
  });

  it("answers errors with HAProxy's words and changes nothing then", () => {
    const before = columns();
    const recorded: [string, string][] = [
      ['set server b/s1 check-port', 'set server <b>/<s> check-port requires a port.\n\n'],
      ['set server b/s1 check-port abc', 'provided port is not an integer\n'],
      ['set server b/s1 check-port 12x', 'provided port is not an integer\n'],
      ['set server b/s1 check-port +7', 'provided port is not an integer\n'],
      ['set server b/s1 check-port -5', 'provided port is invalid\n'],
      ['set server b/s1 check-port 70000', 'provided port is invalid\n'],
      ['set server b/s2 check-port 18005', 'health checks are not enabled on this server\n'],
      ['set server b/s2 check-port abc', 'health checks are not enabled on this server\n'],
      ['set server b/s1 check-addr', 'set server <b>/<s> check-addr requires an address and optionally a port.\n\n'],
      ['set server b/s1 check-addr foo', "invalid addr 'foo'\n"],
      ['set server b/s1 check-addr localhost', "invalid addr 'localhost'\n"],
      ['set server b/s1 check-addr 127.0.0.9 port x', 'provided port is not an integer\n'],
      ['set server b/s1 check-addr 127.0.0.9 port', 'provided port is not an integer\n'],
      ['set server b/s1 check-addr 127.0.0.9 port 65536', 'provided port is invalid\n'],
      ['set server b/s2 check-addr 127.0.0.9', 'health checks are not enabled on this server\n'],
      ['set server b/s2 check-addr foo', 'health checks are not enabled on this server\n'],
    ];
    assert.deepEqual(recorded.map(([c]) => [c, run(c)]), recorded);
    assert.deepEqual(columns(), before);
  });

  it('answers ssl as HAProxy does for a server without ssl settings (switchyard servers have none)', () => {
    const reply = "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n\n";
    for (const c of ['set server b/s1 ssl on', 'set server b/s1 ssl off', 'set server b/s1 ssl', 'set server b/s2 ssl x']) assert.equal(run(c), reply);
  });
});
