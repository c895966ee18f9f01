/**
 * HAProxy's log-format for TCP proxies (issue 12 item 14): the syntax (`src/log.c parse_logformat_string()`), the
 * rendering of each TCP variable from a connection record (`sess_build_logline()`), `option tcplog` as one such
 * format, and the configuration keyword.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCPLOG_FORMAT, parseLogFormat } from '../../../src/haproxy/config/log-format-syntax.js';
import { parseHaproxyConfig } from '../../../src/haproxy/config/parser.js';
import { type LogFormatInput, compileLogFormat } from '../../../src/haproxy/log/log-format.js';
import { formatTcplog } from '../../../src/haproxy/log/tcplog.js';
import type { ConnectionRecord } from '../../../src/proxy/tcp-proxy.js';

const record: ConnectionRecord = {
  clientAddress: '127.0.0.1', clientPort: 40000, server: 's1', termination: '--', bytesIn: 5, bytesOut: 3,
  queuedMs: 0, assignedMs: 2.6, connectMs: 1, durationMs: 45, attempts: 1, retries: 0, redispatches: 0, error: undefined,
  serverQueuePosition: 0, balancerQueuePosition: 0,
  localAddresses: { frontendAddress: '127.0.0.1', frontendPort: 8080, sourceAddress: '127.0.0.1', sourcePort: 51000 },
};
const input = (r: Partial<ConnectionRecord> = {}, extra: Partial<LogFormatInput> = {}): LogFormatInput => ({
  record: { ...record, ...r }, frontend: 'fe', backend: 'be', server: 's1', serverAddress: { host: '127.0.0.1', port: 9001 },
  acceptedAt: new Date(Date.UTC(2026, 11, 2, 9, 22, 18, 7)), processConnections: 2, frontendConnections: 2, backendConnections: 1,
  serverConnections: 0, serverQueue: 0, backendQueue: 0, pid: 42, hostname: 'lb1', logCount: 7, ...extra,
});
const render = (format: string, i: LogFormatInput = input()): string => {
  const c = compileLogFormat(format);
  if (!c.ok) throw new Error(c.message);
  return c.format(i);
};

describe('log-format (HAProxy 2.6, TCP mode)', () => {
  it('renders the variables of the reference scenario as HAProxy did', () => {
    assert.equal(render('%ci %f %b %s %ts %ac/%fc/%bc/%sc/%rc %sq/%bq %B %U %bi %si:%sp'), '127.0.0.1 fe be s1 -- 2/2/1/0/0 0/0 3 5 127.0.0.1 127.0.0.1:9001');
  });

  it("renders option tcplog's line through the same engine: Tw = assignment + 1, Tc, Tt, + on a redispatch", () => {
    const line = render(TCPLOG_FORMAT, input({ retries: 1, redispatches: 1 }, { acceptedAt: new Date(2026, 11, 2, 9, 22, 18, 7) }));
    assert.equal(line, '127.0.0.1:40000 [02/Dec/2026:09:22:18.007] fe be/s1 3/1/45 3 -- 2/2/1/0/+1 0/0');
    const counts = { processConnections: 2, frontendConnections: 2, backendConnections: 1, serverConnections: 0, serverQueue: 0, backendQueue: 0 };
    assert.equal(formatTcplog({ ...record, retries: 1, redispatches: 1 }, 'fe', 'be', new Date(2026, 11, 2, 9, 22, 18, 7), counts), line);
  });

  it('renders dates, times, counters and flags (+Q quotes text, +X hex, %o sets the flags of what follows, -M drops the dash)', () => {
    assert.equal(render('[%T] %Ts %ms %{+X}ms %{+X}Ts'), '[02/Dec/2026:09:22:18 +0000] 1796203338 007 07 6B0FE34A');
    assert.equal(render('%{+Q}ci %{+X}ci:%{+X}cp %{+Q}ft %{+Q}s %{+Q}b'), '"127.0.0.1" 7F000001:9C40 "fe" "s1" "be"');
    assert.equal(render('%Th %Td %Tu %ST %tsc %lc %{+X}lc %pid %H %fi:%fp %bi:%bp'), '0 42 45 0 ---- 7 0007 42 lb1 127.0.0.1:8080 127.0.0.1:51000');
    assert.equal(render('%{+Q}o %f %b %{-Q}o %s'), '"fe" "be" s1');
    const { serverAddress: _unused, ...noServerAddress } = input();
    assert.equal(render('%si %{-M}si|', noServerAddress), '- |');
    assert.equal(render('%s %Tw/%Tc', input({ assignedMs: -1, connectMs: -1 }, { server: undefined })), '<NOSRV> -1/-1');
  });

  it('merges spaces, keeps literals and %%, and drops a lone % before another character', () => {
    assert.equal(render('  %f   %b  '), 'fe be ');
    assert.equal(render('x%-y 100%% [%f]'), 'x-y 100% [fe]');
  });

  it("refuses what HAProxy refuses, and what switchyard cannot fill, with HAProxy's words", () => {
    const error = (text: string): string => {
      const p = parseLogFormat(text);
      return p.ok ? 'ok' : p.message;
    };
    assert.equal(error('%nope'), "no such format variable 'nope'. If you wanted to emit the '%' character verbatim, you need to use '%%'");
    assert.equal(error('%HM'), "format variable 'HM' is reserved for HTTP mode");
    assert.equal(error('a % b'), "unexpected variable name near ' ' at position 3 line : 'a % b'. Maybe you want to write a single '%', use the syntax '%%'");
    assert.equal(error('%{+Q}'), "parse argument modifier without variable name near '%{+Q}'");
    assert.match(error('%[src]'), /sample expressions \('%\[src\]'\) are not supported in switchyard/);
    assert.match(error('%rt'), /format variable 'rt' is not supported in switchyard/);
  });

  it('reads log-format and option tcplog as one setting, the last one winning, and checks the format when the file is read', () => {
    const cfg = (lines: string): ReturnType<typeof parseHaproxyConfig> =>
      parseHaproxyConfig(`defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n${lines}`, { fileName: 't.cfg' });
    const fe = (c: ReturnType<typeof parseHaproxyConfig>) => c.frontends[0]!;
    let c = cfg('frontend f\n  bind :80\n  option tcplog\n  log-format "%ci %b"\n  default_backend b\nbackend b\n  server s 127.0.0.1:1\n');
    assert.deepEqual([fe(c).logFormat, fe(c).tcpLog], ['%ci %b', false]);
    c = cfg('frontend f\n  bind :80\n  log-format "%ci %b"\n  option tcplog\n  default_backend b\nbackend b\n  server s 127.0.0.1:1\n');
    assert.deepEqual([fe(c).logFormat, fe(c).tcpLog], [TCPLOG_FORMAT, true]);
    c = parseHaproxyConfig('defaults\n  option tcplog\n  log-format "%ci"\nlisten l\n  bind :80\n  server s 127.0.0.1:1\n', { fileName: 't.cfg' });
    assert.equal(c.listens[0]!.logFormat, '%ci');
    assert.ok(c.warnings.some((w) => w.text === "parsing [t.cfg:3]: 'log-format' overrides previous 'option tcplog' in 'defaults' section."));
    assert.throws(() => cfg('listen l\n  bind :80\n  log-format "%ci %nope"\n  server s 127.0.0.1:1\n'),
      /Parsing \[t\.cfg:8\]: failed to parse log-format : no such format variable 'nope'/);
    assert.throws(() => cfg('listen l\n  bind :80\n  log-format %ci %b\n  server s 127.0.0.1:1\n'), /log-format expects only one argument, don't forget to escape spaces!/);
    const be = cfg('backend b\n  log-format "%ci"\n  server s 127.0.0.1:1\n');
    assert.ok(be.warnings.some((w) => /backend 'b' : 'log-format' directive is ignored in backends\./.test(w.text)));
  });
});
