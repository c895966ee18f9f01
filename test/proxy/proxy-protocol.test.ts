import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROXY_V2_SIGNATURE, encodeProxyV1, encodeProxyV2 } from '../../src/proxy/proxy-protocol.js';

const hex = (b: Buffer): string => b.toString('hex');
const SIG = '0d0a0d0a000d0a515549540a';

describe('PROXY protocol encoders', () => {
  it('writes the v1 TCP4 line of the spec example', () => {
    assert.equal(
      encodeProxyV1({ address: '192.168.0.1', port: 56324 }, { address: '192.168.0.11', port: 443 }).toString('latin1'),
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n',
    );
  });

  it('writes v1 TCP6, and treats IPv4-mapped addresses as IPv4', () => {
    assert.equal(
      encodeProxyV1({ address: '2001:db8::1', port: 1 }, { address: '::1', port: 2 }).toString('latin1'),
      'PROXY TCP6 2001:db8::1 ::1 1 2\r\n',
    );
    assert.equal(
      encodeProxyV1({ address: '::ffff:10.0.0.1', port: 1 }, { address: '::FFFF:10.0.0.2', port: 2 }).toString('latin1'),
      'PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n',
    );
  });

  it('writes v1 UNKNOWN for mixed families or a missing address', () => {
    assert.equal(encodeProxyV1({ address: '10.0.0.1', port: 1 }, { address: '::1', port: 2 }).toString(), 'PROXY UNKNOWN\r\n');
    assert.equal(encodeProxyV1({ address: undefined, port: undefined }, { address: '::1', port: 2 }).toString(), 'PROXY UNKNOWN\r\n');
  });

  it('writes the v2 IPv4 header: signature, 0x21, 0x11, length 12, addresses, ports', () => {
    const b = encodeProxyV2({ address: '192.168.0.1', port: 56324 }, { address: '10.1.2.3', port: 443 });
    assert.equal(hex(b), `${SIG}2111000cc0a800010a010203dc0401bb`);
    assert.ok(b.subarray(0, 12).equals(PROXY_V2_SIGNATURE));
  });

  it('writes the v2 IPv6 header with 36 address bytes, compressed and embedded-IPv4 forms included', () => {
    const b = encodeProxyV2({ address: '2001:db8::ff00:42:8329', port: 1 }, { address: '64:ff9b::1.2.3.4', port: 65535 });
    assert.equal(
      hex(b),
      `${SIG}21210024` + '20010db8000000000000ff0000428329' + '0064ff9b000000000000000001020304' + '0001ffff',
    );
  });

  it('maps the IPv4 end into IPv6 when v2 families differ, as HAProxy does', () => {
    const b = encodeProxyV2({ address: '127.0.0.1', port: 80 }, { address: '::1', port: 81 });
    assert.equal(hex(b), `${SIG}21210024` + '00000000000000000000ffff7f000001' + '00000000000000000000000000000001' + '00500051');
  });

  it('writes a v2 LOCAL header without addresses when one is unknown', () => {
    assert.equal(hex(encodeProxyV2({ address: undefined, port: undefined }, { address: '::1', port: 1 })), `${SIG}20000000`);
  });
});
