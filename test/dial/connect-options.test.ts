import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { resolveConnectOptions } from '../../src/dial/connect-options.js';
import { CONNECT_DEFAULTS } from '../../src/dial/dialer.js';
import { LbError } from '../../src/errors.js';
import type { OutcomeSink } from '../../src/outcome.js';
import { Pool } from '../../src/pool.js';

const clock = new ManualClock();
const balancer = new Balancer(new Pool('be', { clock, servers: [{ name: 's1', host: '127.0.0.1', port: 1 }] }));

function invalid(options: object, message: RegExp): void {
  assert.throws(
    () => resolveConnectOptions(balancer, options),
    (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message),
  );
}

describe('the options of balancer.connect() and createConnection()', () => {
  it("take HAProxy's defaults and the pool's clock, with Node's socket defaults", () => {
    const o = resolveConnectOptions(balancer, {});
    assert.equal(o.policy.timeoutConnectMs, CONNECT_DEFAULTS.timeoutConnectMs);
    assert.equal(o.policy.retries, CONNECT_DEFAULTS.retries);
    assert.equal(o.policy.redispatchInterval, 0);
    assert.equal(o.policy.turnAroundMs, 1000, 'min(timeoutConnectMs, 1000)');
    assert.equal(o.policy.timeoutQueueMs, undefined, "the balancer's own queue timeout");
    assert.equal(o.policy.clock, clock);
    assert.equal(o.policy.observer, undefined);
    assert.deepEqual([o.clientAddress, o.key, o.signal], [undefined, undefined, undefined]);
    assert.deepEqual(o.socket, { port: 0, allowHalfOpen: false, noDelay: false, keepAlive: false, keepAliveInitialDelay: 0 });
    assert.ok(Object.isFrozen(o.policy));
  });

  it('map redispatch as HAProxy does: true is the last retry, a positive P every P-th, -N the N-th from the end', () => {
    const interval = (redispatch: boolean | number): number => resolveConnectOptions(balancer, { redispatch }).policy.redispatchInterval;
    assert.equal(interval(true), -1);
    assert.equal(interval(false), 0);
    assert.equal(interval(3), 3);
    assert.equal(interval(-2), -2);
    invalid({ redispatch: 1.5 }, /^redispatch must be a boolean or an integer from -1000 to 1000, got 1.5$/);
    invalid({ redispatch: 'yes' }, /^redispatch must be a boolean or an integer from -1000 to 1000, got "yes"$/);
  });

  it('shorten the turn-around to a connect timeout under one second', () => {
    assert.equal(resolveConnectOptions(balancer, { timeoutConnectMs: 200 }).policy.turnAroundMs, 200);
    assert.equal(resolveConnectOptions(balancer, { timeoutConnectMs: Infinity }).policy.turnAroundMs, 1000);
  });

  it('keep the affinity and socket settings they are given, validated once', () => {
    const signal = new AbortController().signal;
    const observer: OutcomeSink = { reportOutcome() {} };
    const o = resolveConnectOptions(balancer, {
      clientAddress: '10.0.0.1', key: 42, signal, observer, noDelay: true, keepAlive: true, keepAliveInitialDelayMs: 500, allowHalfOpen: true,
    });
    assert.deepEqual([o.clientAddress, o.key, o.signal, o.policy.observer], ['10.0.0.1', 42, signal, observer]);
    assert.deepEqual(o.socket, { port: 0, allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: 500 });
    assert.equal(o.allowHalfOpen, true);
  });

  it('refuse bad values with a message naming the option and the value', () => {
    invalid({ key: Number.NaN }, /^key must be a string or a finite number, got NaN$/);
    invalid({ clientAddress: 7 }, /^clientAddress must be a string, got 7$/);
    invalid({ retries: 1001 }, /^retries must be an integer from 0 to 1000, got 1001$/);
    invalid({ timeoutConnectMs: 0 }, /^timeoutConnectMs /);
    invalid({ observer: {} }, /^observer must have a reportOutcome\(server, outcome\) method/);
    invalid({ clock: {} }, /^clock must be a Clock with now\(\) and setTimeout\(\)/);
    invalid({ noDelay: 'yes' }, /^noDelay /);
    invalid({ timeoutConectMs: 5 }, /timeoutConectMs is not a known option/);
  });

  it('refuse something that is not a balancer', () => {
    assert.throws(
      () => resolveConnectOptions({} as never, {}),
      (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && err.message.startsWith('balancer must be a Balancer'),
    );
  });
});
