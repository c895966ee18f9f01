import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { preferredProber } from '../../src/etcd/prober-preference.js';

const servers = Array.from({ length: 1000 }, (_, i) => `s${i}`);
const owners = (members: readonly string[]): Map<string, string> => new Map(servers.map((s) => [s, preferredProber(s, members)!]));

describe('preferredProber (rendezvous hashing)', () => {
  it('gives every member a fair share of the servers', () => {
    const members = ['web-1:4101', 'web-1:4102', 'web-2:977', 'web-3:12', 'web-3:13'];
    const counts = new Map<string, number>();
    for (const owner of owners(members).values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [...members].sort());
    for (const [member, n] of counts) assert.ok(n > 140 && n < 260, `${member} preferred for ${n} of 1000 (expected about 200)`);
  });

  it('gives the same answer whatever the order of the members', () => {
    const a = owners(['A', 'B', 'C', 'D']);
    const b = owners(['D', 'B', 'A', 'C']);
    assert.deepEqual(a, b);
  });

  it('moves only the servers of a member that leaves, and gives a member that joins only servers it takes', () => {
    const before = owners(['A', 'B', 'C', 'D']);
    const without = owners(['A', 'B', 'D']);
    for (const s of servers) if (before.get(s) !== 'C') assert.equal(without.get(s), before.get(s), `${s} moved though its prober stayed`);
    const joined = owners(['A', 'B', 'C', 'D', 'E']);
    let taken = 0;
    for (const s of servers) {
      if (joined.get(s) === 'E') taken++;
      else assert.equal(joined.get(s), before.get(s), `${s} moved between members that stayed`);
    }
    assert.ok(taken > 120 && taken < 280, `the new member takes about a fifth: ${taken}`);
  });

  it('has no answer without members', () => {
    assert.equal(preferredProber('s1', []), undefined);
    assert.equal(preferredProber('s1', ['only']), 'only');
  });
});
