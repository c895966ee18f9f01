import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LbError } from '../src/errors.js';
import { haproxyLog } from '../src/haproxy/log/format.js';
import type { ServerOptions } from '../src/server.js';
import { closeMode, setup } from './helpers/picks.js';

/** Reference §10 A cases 19 and 20: a1, a2 active, b1, b2 backup, all checked (`check inter 1h`). */
function backupHarness(allBackups: boolean) {
  const list: ServerOptions[] = ['a1', 'a2', 'b1', 'b2'].map((name, i) => ({
    name,
    host: '127.0.0.1',
    port: 19001 + i,
    check: true,
    backup: name.startsWith('b'),
  }));
  const { pool, balancer } = setup(list, { strategy: 'roundrobin' }, { allBackups });
  const lines: string[] = [];
  haproxyLog(pool, (line) => lines.push(line));
  return { pool, balancer, lines };
}

describe('backup servers (HAProxy reference §10 A cases 19 and 20)', () => {
  it('case 19: sends everything to the first usable backup when no active server is left, then to the next one', () => {
    const { pool, balancer, lines } = backupHarness(false);
    assert.deepEqual(closeMode(balancer, 4), ['a1', 'a2', 'a1', 'a2']);
    pool.setHealth('a1', 'down');
    pool.setHealth('a2', 'down');
    assert.equal(
      lines.at(-1),
      'Server fe/a2 is DOWN, changed from CLI. 0 active and 2 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.',
    );
    assert.deepEqual(closeMode(balancer, 4), ['b1', 'b1', 'b1', 'b1']);
    pool.setHealth('b1', 'down');
    assert.deepEqual(closeMode(balancer, 3), ['b2', 'b2', 'b2']);
    pool.setHealth('b2', 'down');
    assert.equal(lines.at(-1), 'backend fe has no server available!');
    assert.throws(() => balancer.tryAcquire(), (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_NO_SERVER');
    pool.setHealth('a2', 'up');
    assert.deepEqual(closeMode(balancer, 2), ['a2', 'a2'], 'an active server back takes over from the backups');
  });

  it('case 20: balances over all usable backups with allBackups when no active server is left', () => {
    const { pool, balancer } = backupHarness(true);
    pool.setHealth('a1', 'down');
    pool.setHealth('a2', 'down');
    assert.deepEqual(closeMode(balancer, 4), ['b1', 'b2', 'b1', 'b2']);
    pool.setHealth('b1', 'down');
    assert.deepEqual(closeMode(balancer, 2), ['b2', 'b2']);
  });
});
