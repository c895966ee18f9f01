import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIME_MS, formatTime, parseTime } from '../../../src/haproxy/config/time-units.js';

describe('HAProxy time values', () => {
  it('read a bare integer as milliseconds and every unit HAProxy knows, rounding up to whole ms', () => {
    const ms = (text: string): number | undefined => {
      const r = parseTime(text);
      return r.ok ? r.ms : undefined;
    };
    assert.equal(ms('4'), 4);
    assert.equal(ms('0'), 0);
    assert.equal(ms('250ms'), 250);
    assert.equal(ms('1us'), 1);
    assert.equal(ms('1500us'), 2);
    assert.equal(ms('5s'), 5000);
    assert.equal(ms('2m'), 120_000);
    assert.equal(ms('1h'), 3_600_000);
    assert.equal(ms('1d'), 86_400_000);
    assert.equal(ms(String(MAX_TIME_MS)), MAX_TIME_MS);
  });

  it('say why a text is not a time value', () => {
    assert.deepEqual(parseTime(''), { ok: false, reason: 'empty' });
    assert.deepEqual(parseTime('s5'), { ok: false, reason: 'unexpected-char', char: 's' });
    assert.deepEqual(parseTime('5x'), { ok: false, reason: 'unexpected-char', char: 'x' });
    assert.deepEqual(parseTime('1m30s'), { ok: false, reason: 'trailing', char: '3' });
    assert.deepEqual(parseTime('25d'), { ok: false, reason: 'overflow' });
    assert.deepEqual(parseTime(String(MAX_TIME_MS + 1)), { ok: false, reason: 'overflow' });
    assert.deepEqual(parseTime('99999999999999999999999d'), { ok: false, reason: 'overflow' });
  });

  it('are written back with the largest unit that divides them exactly', () => {
    assert.deepEqual([0, 250, 4000, 90_000, 120_000, 7_200_000, 86_400_000].map(formatTime), ['0', '250ms', '4s', '90s', '2m', '2h', '1d']);
    for (const text of ['250ms', '4s', '2m', '1d']) {
      const r = parseTime(text);
      assert.ok(r.ok);
      assert.equal(formatTime(r.ms), text, 'round trip');
    }
  });
});
