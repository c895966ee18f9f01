import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../../../src/errors.js';
import type { ConfigDiagnostic } from '../../../src/haproxy/config/diagnostics.js';
import { probeOf } from '../../../src/haproxy/config/library-options.js';
import { parseHaproxyConfig } from '../../../src/haproxy/config/parser.js';
import type { CheckKind, HaproxyConfig } from '../../../src/haproxy/config/types.js';

const TIMEOUTS = 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n';

const parse = (text: string): HaproxyConfig => parseHaproxyConfig(text, { fileName: 't.cfg', env: {} });
const check = (lines: string): CheckKind => {
  const b = parse(`${TIMEOUTS}backend b\n${lines}  server s1 127.0.0.1:1 check\n`).backends[0];
  assert.ok(b);
  return b.check;
};
function alerts(lines: string): string[] {
  try {
    parse(`${TIMEOUTS}backend b\n${lines}`);
  } catch (err) {
    assert.ok(LbError.is(err));
    return (err.details['diagnostics'] as readonly ConfigDiagnostic[]).filter((d) => d.severity === 'alert').map((d) => d.text);
  }
  return assert.fail('expected the configuration to be rejected');
}

describe('protocol check options (issue 12 item 13)', () => {
  it('reads mysql-check, pgsql-check, redis-check, smtpchk, ldap-check, ssl-hello-chk', () => {
    assert.deepEqual(check('  option mysql-check\n'), { kind: 'protocol', check: { name: 'mysql-check', protocol: 'post-41' } });
    assert.deepEqual(check('  option mysql-check user haproxy pre-41\n'), { kind: 'protocol', check: { name: 'mysql-check', user: 'haproxy', protocol: 'pre-41' } });
    assert.deepEqual(check('  option pgsql-check user postgres\n'), { kind: 'protocol', check: { name: 'pgsql-check', user: 'postgres' } });
    assert.deepEqual(check('  option smtpchk\n'), { kind: 'protocol', check: { name: 'smtpchk', command: 'HELO', domain: 'localhost' } });
    assert.deepEqual(check('  option smtpchk EHLO my.domain\n'), { kind: 'protocol', check: { name: 'smtpchk', command: 'EHLO', domain: 'my.domain' } });
    assert.deepEqual(check('  option smtpchk FOO bar\n'), { kind: 'protocol', check: { name: 'smtpchk', command: 'HELO', domain: 'localhost' } });
    for (const name of ['redis-check', 'ldap-check', 'ssl-hello-chk'] as const) assert.deepEqual(check(`  option ${name}\n`), { kind: 'protocol', check: { name } });
    assert.equal(typeof probeOf(check('  option redis-check\n')), 'function');
  });

  it("the last check option wins, as in HAProxy; defaults pass theirs on", () => {
    assert.deepEqual(check('  option redis-check\n  option tcp-check\n'), { kind: 'tcp-check', rules: [] });
    const b = parse(`${TIMEOUTS}  option ldap-check\nbackend b\n  server s1 127.0.0.1:1 check\n`).backends[0];
    assert.deepEqual(b?.check, { kind: 'protocol', check: { name: 'ldap-check' } });
  });

  it("refuses bad arguments with HAProxy's messages", () => {
    assert.deepEqual(alerts('  option mysql-check usr x\n'), ["parsing [t.cfg:7] : 'option mysql-check' only supports optional values: 'user' (got 'usr')."]);
    assert.deepEqual(alerts('  option mysql-check user x post-42\n'), ["parsing [t.cfg:7] : keyword 'user' only supports 'post-41' and 'pre-41' (got 'post-42')."]);
    assert.deepEqual(alerts('  option pgsql-check\n'), ["parsing [t.cfg:7] : 'option pgsql-check' expects 'user <username>' as argument."]);
    assert.deepEqual(alerts('  option pgsql-check login x\n'), ["parsing [t.cfg:7] : 'option pgsql-check' only supports optional values: 'user'."]);
    assert.deepEqual(alerts('  option redis-check x\n'), ["parsing [t.cfg:7] : 'option redis-check' cannot handle unexpected argument 'x'."]);
  });
});

describe('option httpchk with headers in the version string', () => {
  it('reads the headers, warns as HAProxy 2.6 does, and the probe writes them in lower case', () => {
    const config = parse(`${TIMEOUTS}backend b\n  option httpchk OPTIONS * HTTP/1.1\\r\\nHost:\\ www\n  server s1 127.0.0.1:1 check\n`);
    assert.deepEqual(config.backends[0]?.check, { kind: 'httpchk', request: { method: 'OPTIONS', uri: '*', version: 'HTTP/1.1', headers: [{ name: 'Host', value: 'www' }] } });
    assert.deepEqual(config.warnings.map((w) => w.text), [
      "parsing [t.cfg:7]: 'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.",
    ]);
  });
});

describe('tcp-check expect keywords', () => {
  it('reads error-status, ok-status, tout-status, on-success, on-error, status-code and comment in any order', () => {
    const kind = check('  option tcp-check\n  tcp-check expect error-status L7STS string READY on-error "bad: %[res.payload(0,0),cut_crlf]" on-success fine tout-status L6TOUT ok-status l7okc status-code res.payload(0,3) comment c\n');
    assert.equal(kind.kind, 'tcp-check');
    const rule = kind.kind === 'tcp-check' ? kind.rules[0] : undefined;
    assert.ok(rule?.type === 'expect');
    const { source: _source, ...rest } = rule;
    assert.deepEqual(rest, {
      type: 'expect', match: 'string', pattern: 'READY', negate: false, minRecv: -1, errorStatus: 'L7STS', onError: 'bad: %[res.payload(0,0),cut_crlf]',
      onSuccess: 'fine', timeoutStatus: 'L6TOUT', okStatus: 'L7OKC', statusCode: 'res.payload(0,3)', comment: 'c',
    });
  });

  it("refuses bad statuses with HAProxy's messages, and log-format it does not implement", () => {
    assert.deepEqual(alerts('  option tcp-check\n  tcp-check expect string x error-status L9\n'), [
      "parsing [t.cfg:8] : 'tcp-check expect' : 'error-status' only supports 'L4CON', 'L6RSP', 'L7RSP' or 'L7STS' status (got 'L9').",
    ]);
    assert.match(alerts('  option tcp-check\n  tcp-check expect string x on-error %[var(a)]\n')[0] ?? '', /'on-error' '%\[var\(a\)\]' is not supported in switchyard/);
  });

  it('accepts connect linger and default', () => {
    const kind = check('  option tcp-check\n  tcp-check connect default linger\n');
    const rule = kind.kind === 'tcp-check' ? kind.rules[0] : undefined;
    assert.ok(rule?.type === 'connect');
    assert.equal(rule.linger, true);
  });
});

describe('agent-check server keywords (issue 12 item 12)', () => {
  it('reads agent-check, agent-port, agent-inter, agent-addr, agent-send and maps them onto the agent checker', async () => {
    const { agentCheckerOptionsOf, serverOptionsOf } = await import('../../../src/haproxy/config/library-options.js');
    const b = parse(`${TIMEOUTS}backend b\n  server s1 127.0.0.1:1 weight 10 agent-check agent-port 9999 agent-inter 100 agent-addr 127.0.0.2 agent-send "ping\\n"\n  server s2 127.0.0.1:2\n`).backends[0];
    assert.ok(b);
    const s1 = b.servers[0]!;
    assert.deepEqual([s1.agentCheck, s1.agentPort, s1.agentInterMs, s1.agentAddr, s1.agentSend], [true, 9999, 100, '127.0.0.2', 'ping\n']);
    assert.equal(serverOptionsOf(s1).agent, true);
    assert.equal(serverOptionsOf(b.servers[1]!).agent, undefined);
    assert.deepEqual(agentCheckerOptionsOf(b), { servers: { s1: { interMs: 100, port: 9999, addr: '127.0.0.2', send: 'ping\n' } }, autoStart: false });
  });

  it("refuses agent-check without agent-port and a bad agent-inter with HAProxy's messages", () => {
    assert.deepEqual(alerts('  server s1 127.0.0.1:9 agent-check\n  server s3 127.0.0.1:9 agent-check agent-port 10 agent-inter 0\n'), [
      "[t.cfg:7] : 'server b/s1' : server s1 does not have agent port. Agent check has been disabled.",
      "[t.cfg:8] : 'server b/s3' : invalid value 0 for argument 'agent-inter' of server s3.",
    ]);
  });
});
