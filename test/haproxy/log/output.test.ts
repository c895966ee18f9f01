import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { parseHaproxyConfig } from '../../../src/haproxy/config/parser.js';
import type { LogTarget } from '../../../src/haproxy/config/types.js';
import { LogOutput, formatLogLine } from '../../../src/haproxy/log/output.js';
import { withTimeout } from '../../helpers/timeout.js';

const at = { file: 't.cfg', line: 1 };
const udp = (port: number, format = 'rfc3164'): LogTarget => ({
  address: { kind: 'udp', host: '127.0.0.1', port }, facility: 'local0', level: 'debug', format, maxLength: 1024, source: at,
});
const DATE = new Date(2026, 11, 2, 9, 22, 18, 5);

describe('syslog headers (HAProxy 2.6.12 log-send-hostname)', () => {
  it('has no host field by default, on UDP too: <129>Dec  2 09:22:18 haproxy[pid]: …', () => {
    assert.equal(formatLogLine(udp(514), 1, 'msg', DATE, 42, 'haproxy'), '<129>Dec  2 09:22:18 haproxy[42]: msg');
    assert.equal(formatLogLine(udp(514, 'rfc5424'), 6, 'msg', DATE, 42, 'haproxy').replace(/ \S+T\S+ /, ' DATE '), '<134>1 DATE - haproxy 42 - - msg');
  });

  it('puts the log-send-hostname name after the date (rfc3164) or in the host field (rfc5424), never in local', () => {
    assert.equal(formatLogLine(udp(514), 1, 'msg', DATE, 42, 'haproxy', 'lb1.example'), '<129>Dec  2 09:22:18 lb1.example haproxy[42]: msg');
    assert.equal(formatLogLine(udp(514, 'rfc5424'), 6, 'msg', DATE, 42, 'haproxy', 'lb1').replace(/ \S+T\S+ /, ' DATE '), '<134>1 DATE lb1 haproxy 42 - - msg');
    assert.equal(formatLogLine(udp(514, 'local'), 1, 'msg', DATE, 42, 'haproxy', 'lb1'), '<129>Dec  2 09:22:18 haproxy[42]: msg');
  });

  it('sends one datagram per line, ending with its newline', async () => {
    const receiver = dgram.createSocket('udp4');
    receiver.bind(0, '127.0.0.1');
    await once(receiver, 'listening');
    const received: string[] = [];
    const two = new Promise<void>((resolve) => receiver.on('message', (m) => received.push(m.toString('latin1')) === 2 && resolve()));
    const log = new LogOutput({ stderr: () => {}, stdout: () => {}, pid: 7, warnings: false, date: () => DATE, tag: 'haproxy', hostname: 'vm' });
    try {
      const target = udp(receiver.address().port);
      log.send([target], 'alert', 'Server fe/s1 is DOWN.');
      log.send([target], 'info', 'a tcplog line');
      await withTimeout(two, 5000, 'two datagrams');
      assert.deepEqual(received.sort(), ['<129>Dec  2 09:22:18 vm haproxy[7]: Server fe/s1 is DOWN.\n', '<134>Dec  2 09:22:18 vm haproxy[7]: a tcplog line\n']);
    } finally {
      await log.close();
      receiver.close();
    }
  });

  it('reads global log-send-hostname with a name or none (the system host name), once', () => {
    const g = (text: string) => parseHaproxyConfig(`global\n${text}`, { fileName: 't.cfg' }).global.logSendHostname;
    assert.equal(g('  log-send-hostname lb1.example\n'), 'lb1.example');
    assert.equal(g('  log-send-hostname\n'), true);
    assert.equal(g('  log stderr local0\n'), undefined);
    // HAProxy 2.6.12: an [ALERT] that does not fail the configuration; the first name stays.
    const twice = parseHaproxyConfig('global\n  log-send-hostname a\n  log-send-hostname b\n', { fileName: 't.cfg' });
    assert.equal(twice.global.logSendHostname, 'a');
    assert.deepEqual(twice.warnings.map((w) => [w.severity, w.printedAs, w.text]), [['warning', 'alert', "parsing [t.cfg:3] : 'log-send-hostname' already specified. Continuing."]]);
    assert.throws(() => parseHaproxyConfig('listen fe\n  log-send-hostname a\n', { fileName: 't.cfg' }), /unknown keyword 'log-send-hostname' in 'listen' section/);
  });
});
