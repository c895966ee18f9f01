/**
 * Differential scenarios: every `balance` algorithm, against Debian's haproxy 2.6 (reference cases A.1–A.16).
 */
import { diffScenarios, listen, pause, type Scenario, sequence, stat, visit } from './harness.js';

const scenarios: Scenario[] = [
  {
    name: 'roundrobin, equal weights: s1 s2 s3 in turn',
    config: listen('  balance roundrobin\n', ['', '', '']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => ctx.note(...(await sequence(ctx.port, 9))),
  },
  {
    name: 'roundrobin, weights 1,2,3 and 2,3 (smooth weighted interleave, heaviest first)',
    config: listen('  balance roundrobin\n', ['weight 1', 'weight 2', 'weight 3']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => {
      ctx.note(...(await sequence(ctx.port, 12)));
      await ctx.cli('set weight fe/s1 2');
      await ctx.cli('set weight fe/s2 3');
      await ctx.cli('set weight fe/s3 0');
      ctx.note(...(await sequence(ctx.port, 10)));
    },
  },
  {
    name: 'roundrobin, weights 5,1 and a weight-0 server that is never picked',
    config: listen('  balance roundrobin\n', ['weight 5', 'weight 1', 'weight 0']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => ctx.note(...(await sequence(ctx.port, 12))),
  },
  {
    name: 'static-rr, weights 1,2,3 then 3,2,1 via the map',
    config: listen('  balance static-rr\n', ['weight 1', 'weight 2', 'weight 3']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => {
      ctx.note(...(await sequence(ctx.port, 12)));
      await ctx.cli('set weight fe/s3 50%');
      await ctx.cli('set weight fe/s3 0%');
      ctx.note(...(await sequence(ctx.port, 6)));
      await ctx.cli('set weight fe/s3 100%');
      ctx.note(...(await sequence(ctx.port, 6)));
    },
  },
  {
    name: 'leastconn, short sessions: round robin among idle servers whatever the weights',
    config: listen('  balance leastconn\n', ['weight 1', 'weight 2', 'weight 3']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => ctx.note(...(await sequence(ctx.port, 9))),
  },
  {
    name: 'leastconn, held connections with weights 1,2,3: (conns+1)/weight order',
    config: listen('  balance leastconn\n', ['weight 1', 'weight 2', 'weight 3']),
    backends: [{ name: 's1', mode: 'hold' }, { name: 's2', mode: 'hold' }, { name: 's3', mode: 'hold' }],
    steps: async (ctx) => {
      const held = [];
      for (let i = 0; i < 12; i++) {
        const v = await visit(ctx.port);
        held.push(v);
        ctx.note(v.line);
        await pause(15);
      }
      for (const v of held) v.socket.destroy();
    },
  },
  {
    name: 'first + maxconn 2: fill s1, then s2, then s3; a freed slot on s1 is reused',
    config: listen('  balance first\n', ['maxconn 2', 'maxconn 2', 'maxconn 2']),
    backends: [{ name: 's1', mode: 'hold' }, { name: 's2', mode: 'hold' }, { name: 's3', mode: 'hold' }],
    steps: async (ctx) => {
      const held = [];
      for (let i = 0; i < 6; i++) {
        const v = await visit(ctx.port);
        held.push(v);
        ctx.note(v.line);
        await pause(15);
      }
      held[0]!.socket.destroy();
      await held[0]!.closed;
      await pause(100);
      const again = await visit(ctx.port);
      ctx.note('after freeing one s1 slot:', again.line);
      again.socket.destroy();
      for (const v of held) v.socket.destroy();
    },
  },
  {
    name: 'roundrobin skips saturated servers (s1, s2 maxconn 1)',
    config: listen('  balance roundrobin\n', ['maxconn 1', 'maxconn 1', '']),
    backends: [{ name: 's1', mode: 'hold' }, { name: 's2', mode: 'hold' }, { name: 's3', mode: 'hold' }],
    steps: async (ctx) => {
      const held = [];
      for (let i = 0; i < 6; i++) {
        const v = await visit(ctx.port);
        held.push(v);
        ctx.note(v.line);
        await pause(15);
      }
      for (const v of held) v.socket.destroy();
    },
  },
  {
    name: 'source (map-based): client 127.0.0.x → table[key mod 3]; a server down rebuilds the map',
    config: listen('  balance source\n', ['', '', '']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => {
      const pick = async (): Promise<string[]> => {
        const out = [];
        for (let i = 2; i <= 9; i++) {
          const v = await visit(ctx.port, { localAddress: `127.0.0.${i}` });
          out.push(`127.0.0.${i}→${v.line}`);
          v.socket.destroy();
          await v.closed;
          await pause(10);
        }
        return out;
      };
      ctx.note(...(await pick()));
      // The state-change line counts the sessions still open: wait (bounded) until every closed client's session has
      // ended in the engine under test (at load 7–18 switchyard once said "1 sessions active" where HAProxy said 0).
      for (let i = 0; i < 200 && /scur=[1-9]/.test(stat(await ctx.instance.command('show stat'), ['scur'])); i++) await pause(10);
      await ctx.cli('set server fe/s2 state maint');
      ctx.note(...(await pick()));
    },
  },
  {
    name: 'source with hash-type consistent: only the departing server\'s clients move',
    config: listen('  balance source\n  hash-type consistent\n', ['', '', '']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => {
      const pick = async (): Promise<string[]> => {
        const out = [];
        for (let i = 2; i <= 13; i++) {
          const v = await visit(ctx.port, { localAddress: `127.0.0.${i}` });
          out.push(`127.0.0.${i}→${v.line}`);
          v.socket.destroy();
          await v.closed;
          await pause(10);
        }
        return out;
      };
      ctx.note(...(await pick()));
      // The state-change line counts the sessions still open: wait (bounded) until every closed client's session has
      // ended in the engine under test (at load 7–18 switchyard once said "1 sessions active" where HAProxy said 0).
      for (let i = 0; i < 200 && /scur=[1-9]/.test(stat(await ctx.instance.command('show stat'), ['scur'])); i++) await pause(10);
      await ctx.cli('set server fe/s2 state maint');
      ctx.note(...(await pick()));
    },
  },
  {
    name: 'random(2): never a server in maintenance or with weight 0 (draws are not reproducible)',
    config: listen('  balance random(2)\n', ['', 'weight 0', '', '']),
    backends: ['s1', 's2', 's3', 's4'],
    steps: async (ctx) => {
      await ctx.cli('set server fe/s4 state maint');
      const seen = new Set(await sequence(ctx.port, 20, 5));
      ctx.note('servers used:', [...seen].sort().join(' '));
    },
  },
];

diffScenarios('differential: balance algorithms (haproxy 2.6 vs switchyard -f)', scenarios);
