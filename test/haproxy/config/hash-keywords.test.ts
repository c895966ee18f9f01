import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../../../src/errors.js';
import { buildFromHaproxyConfig } from '../../../src/haproxy/from-config.js';
import { parseHaproxyConfig } from '../../../src/haproxy/config/parser.js';
import { strategyOf } from '../../../src/haproxy/config/library-options.js';
import type { HaproxyConfig } from '../../../src/haproxy/config/types.js';
import { SourceHash } from '../../../src/strategies/source.js';

const DEFAULTS = 'defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n';

function parse(text: string): HaproxyConfig {
  return parseHaproxyConfig(text, { fileName: 't.cfg', env: {} });
}

function alerts(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(LbError.is(err) && err.code === 'ERR_LB_CONFIG');
    return (err.details['diagnostics'] as { severity: string; text: string }[]).filter((d) => d.severity === 'alert').map((d) => d.text);
  }
  return assert.fail('expected the configuration to be rejected');
}

describe('haproxy.cfg: hash-balance-factor (HAProxy 1.9+) and hash-key (HAProxy 3.0+)', () => {
  it('reads hash-balance-factor in a backend and from defaults, into the consistent source strategy', () => {
    const config = parse(`${DEFAULTS}  hash-balance-factor 150\nbackend a\n  balance source\n  hash-type consistent\nbackend b\n  balance source\n  hash-type consistent\n  hash-balance-factor 0\nbackend c\n  balance random(3)\n`);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => config.backends.find((x) => x.name === n)!);
    assert.deepEqual([a!.hashBalanceFactor, b!.hashBalanceFactor, c!.hashBalanceFactor], [150, 0, 150]);
    assert.deepEqual(strategyOf(a!), { name: 'source', hashType: 'consistent', hashBalanceFactor: 150 });
    assert.deepEqual(strategyOf(b!), { name: 'source', hashType: 'consistent' });
    assert.deepEqual(strategyOf(c!), { name: 'random', draws: 3, hashBalanceFactor: 150 });
  });

  it('refuses what HAProxy 2.6 refuses: no argument, 1 to 100; and what is not an integer', () => {
    assert.deepEqual(alerts(`${DEFAULTS}backend b\n  hash-balance-factor 100\n`), ["parsing [t.cfg:7] : 'hash-balance-factor' must be 0 or greater than 100."]);
    assert.match(alerts(`${DEFAULTS}backend b\n  hash-balance-factor\n`)[0]!, /'hash-balance-factor' expects an integer argument\./);
    assert.match(alerts(`${DEFAULTS}backend b\n  hash-balance-factor 1.5\n`)[0]!, /expects an integer from 0 to 100000, got '1\.5'/);
  });

  it('reads hash-key on server and default-server lines and refuses other values', () => {
    const config = parse(`${DEFAULTS}backend b\n  balance source\n  hash-type consistent\n  default-server hash-key addr-port\n  server s1 10.0.0.1:80\n  server s2 10.0.0.2:80 hash-key addr\n  server s3 10.0.0.3:80 hash-key id\n`);
    assert.deepEqual(config.backends[0]!.servers.map((s) => s.hashKey), ['addr-port', 'addr', 'id']);
    const spec = strategyOf(config.backends[0]!) as unknown as { hashKey: (s: { name: string }) => string };
    assert.deepEqual(['s1', 's2', 's3', 'added-later'].map((name) => spec.hashKey({ name })), ['addr-port', 'addr', 'id', 'id']);
    assert.match(alerts(`${DEFAULTS}backend b\n  server s1 10.0.0.1:80 hash-key guid\n`)[0]!, /hash-key/);
  });

  it('builds a backend whose two copies, listing the servers in another order, agree on every key with hash-key addr', () => {
    const cfg = (order: number[]) =>
      `${DEFAULTS}backend be\n  balance source\n  hash-type consistent\n  hash-balance-factor 125\n  default-server hash-key addr\n${order.map((i) => `  server s${i} 10.0.0.${i}:6379\n`).join('')}`;
    const one = buildFromHaproxyConfig(parse(cfg([1, 2, 3, 4])), { warnings: false });
    const two = buildFromHaproxyConfig(parse(cfg([3, 1, 4, 2])), { warnings: false });
    const strategy = one.backend('be').balancer.strategy;
    assert.ok(strategy instanceof SourceHash && strategy.hashBalanceFactor === 125);
    for (let i = 0; i < 300; i++) {
      const a = one.backend('be').balancer.tryAcquire({ clientAddress: `192.0.2.${i % 250}`, key: `k${i}` })!;
      const b = two.backend('be').balancer.tryAcquire({ clientAddress: `192.0.2.${i % 250}`, key: `k${i}` })!;
      assert.equal(a.server.name, b.server.name, `k${i}`);
      a.release();
      b.release();
    }
    one.destroy();
    two.destroy();
  });
});
