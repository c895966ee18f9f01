import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MalformedDnsMessage, RR_TYPE, decodeMessage, encodeName, encodeQuery } from '../../src/discovery/dns-message.js';
import { LbError } from '../../src/errors.js';

/** A response header + one question for `a.b` type A, then `answers` raw. */
function response(answers: number[][], ancount = answers.length): Buffer {
  const header = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, ancount, 0, 0, 0, 0];
  const question = [1, 0x61, 1, 0x62, 0, 0, 1, 0, 1];
  return Buffer.from([...header, ...question, ...answers.flat()]);
}

const malformed = (buf: Buffer, message: RegExp): void => {
  assert.throws(() => decodeMessage(buf), (err: unknown) => err instanceof MalformedDnsMessage && message.test(err.message));
};

describe('DNS messages', () => {
  it('encodes a recursive query with one question and an EDNS0 OPT record', () => {
    const q = encodeQuery(0xbeef, '_pg._tcp.Example.test.', RR_TYPE.SRV);
    const m = decodeMessage(q);
    assert.equal(m.id, 0xbeef);
    assert.equal(m.response, false);
    assert.deepEqual(m.questions, [{ name: '_pg._tcp.example.test', type: 33, class: 1 }]);
    assert.equal(m.additionals[0]?.type, RR_TYPE.OPT);
    assert.equal(q.readUInt16BE(2) & 0x0100, 0x0100, 'recursion desired');
  });

  it('decodes A, AAAA and SRV records through compression pointers', () => {
    const buf = response([
      [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1],
      [0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 5, 0, 16, 0xfd, 0, ...Array<number>(13).fill(0), 1],
      [0xc0, 12, 0, 33, 0, 1, 0, 0, 1, 0, 0, 8, 0, 10, 0, 20, 0x15, 0x38, 0xc0, 12],
    ]);
    const m = decodeMessage(buf);
    assert.deepEqual(
      m.answers.map((r) => [r.name, r.type, r.ttl, r.data]),
      [
        ['a.b', 1, 60, { kind: 'address', address: '10.0.0.1' }],
        ['a.b', 28, 5, { kind: 'address', address: 'fd00::1' }],
        ['a.b', 33, 256, { kind: 'srv', priority: 10, weight: 20, port: 5432, target: 'a.b' }],
      ],
    );
  });

  it('treats a TTL with the top bit set as 0 (RFC 2181)', () => {
    const m = decodeMessage(response([[0xc0, 12, 0, 1, 0, 1, 0x80, 0, 0, 0, 0, 4, 1, 2, 3, 4]]));
    assert.equal(m.answers[0]?.ttl, 0);
  });

  it('rejects pointer loops, forward pointers, short data and bad lengths', () => {
    malformed(response([[0xc0, 21, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]]), /does not point backwards/);
    malformed(response([[0xc0, 40, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]]), /does not point backwards/);
    malformed(response([[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]]), /A record of 3 bytes/);
    malformed(response([[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2, 3, 4]]), /message ends/);
    malformed(response([], 3), /message ends/);
    malformed(response([[0x80, 0, 1]]), /unsupported label type/);
    malformed(response([[0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 1, 0, 10, 0, 1, 0, 1, 0, 80, 1, 0x61, 0, 0xff]]), /SRV target does not end/);
    malformed(Buffer.from([1, 2, 3]), /message ends/);
  });

  it('never throws anything but MalformedDnsMessage on arbitrary bytes, and always terminates', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, withHeader) => {
        const buf = withHeader ? Buffer.concat([response([], 2), Buffer.from(bytes)]) : Buffer.from(bytes);
        try {
          decodeMessage(buf);
        } catch (err) {
          if (!(err instanceof MalformedDnsMessage)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses names DNS cannot carry', () => {
    for (const bad of ['a..b', 'x'.repeat(64), `${'abc.'.repeat(70)}com`, 'sp ace.test']) {
      assert.throws(() => encodeName(bad), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG', bad);
    }
    assert.deepEqual([...encodeName('.')], [0]);
  });
});
