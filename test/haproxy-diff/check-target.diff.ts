/**
 * Differential scenarios for issue 12 round 2: `set server … check-addr|check-port|ssl` on the runtime API, state
 * restored to a server whose port changed since it was saved, and the non-fatal `[ALERT]` of a second
 * `server-state-file` — against Debian's haproxy 2.6.12.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffScenarios, listen, maskServersState, pause, type Scenario, sequence, stat } from './harness.js';

/** The configuration file's path differs between the two engines' runs. */
const CFG_PATH: readonly [RegExp, string] = [/\[\/[^\]]*\/test\.cfg:/, '[test.cfg:'];

const scenarios: Scenario[] = [
  {
    name: 'set server check-port and check-addr move the checks from the next one on; the errors; ssl on a server without ssl settings',
    config: listen('', ['check inter 100 rise 1 fall 1', '', 'check inter 1h addr 127.0.0.3 port 9']),
    backends: ['s1', { name: 's2', running: false }, 's3'],
    steps: async (ctx) => {
      await pause(300);
      const [s1, s2] = [ctx.backends[0]!.port, ctx.backends[1]!.port];
      // s2's port has nothing listening: the checks of s1 fail there and s1 goes DOWN.
      await ctx.cli(`set server fe/s1 check-port ${s2}`);
      await ctx.instance.waitLines(/^Server fe\/s1 is DOWN/, 1);
      ctx.note(maskServersState(await ctx.instance.command('show servers state fe')));
      await ctx.cli(`set server fe/s1 check-addr 127.0.0.1 port ${s1}`);
      await ctx.instance.waitLines(/^Server fe\/s1 is UP/, 1);
      await ctx.cli('set server fe/s3 check-addr 0:0::1 port 0');
      for (const c of ['set server fe/s1 check-port', 'set server fe/s1 check-port abc', 'set server fe/s1 check-port +7', 'set server fe/s1 check-port -5',
        'set server fe/s1 check-port 70000', 'set server fe/s2 check-port 8', 'set server fe/s1 check-addr', 'set server fe/s1 check-addr localhost',
        'set server fe/s1 check-addr 127.0.0.9 port x', 'set server fe/s1 check-addr 127.0.0.9 port 65536', 'set server fe/s2 check-addr 127.0.0.9',
        'set server fe/s1 ssl on', 'set server fe/s1 ssl off', 'set server fe/s2 ssl']) {
        await ctx.cli(c);
      }
      ctx.note(maskServersState(await ctx.instance.command('show servers state fe')));
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'check_status']));
    },
  },
  {
    name: 'state saved for another port: the state and the saved port are applied, the configured address stays, nothing is logged',
    global: 'global\n  stats socket ${CLI} level admin\n  log stderr format raw local0 debug\n  server-state-file ${DIR}/state\n',
    // Checked servers: an unchecked one's srv_check_health after a restore differs (4 in HAProxy, rise in switchyard; not about ports).
    config: listen('  load-server-state-from-file global\n', ['weight 10 check inter 1h', 'weight 10 check inter 1h', 'weight 10 check inter 1h']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => {
      await ctx.cli('set server fe/s1 weight 3');
      await ctx.cli('set server fe/s2 state drain');
      const s3 = String(ctx.backends[2]!.port);
      // As if the configuration had moved s1 and s2 since: s1 saved at 127.0.0.5 on s3's port, s2 on port 1.
      const state = (await ctx.instance.command('show servers state')).split('\n').map((l) => {
        const f = l.split(' ');
        if (f[3] === 's1') [f[4], f[18]] = ['127.0.0.5', s3];
        if (f[3] === 's2') f[18] = '1';
        return f.join(' ');
      }).join('\n');
      await writeFile(join(ctx.dir, 'state'), state);
      await ctx.restart();
      ctx.note(...ctx.instance.lines.filter((l) => /config : /.test(l)).map((l) => l.replace(/'\/tmp\/[^']+'/, "'PATH'")));
      ctx.note(maskServersState(await ctx.instance.command('show servers state')));
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'weight']));
      // s1 (weight 3) now dials s3's port; s2 is draining.
      ctx.note(...(await sequence(ctx.port, 4)));
    },
  },
  {
    name: 'a second server-state-file, server-state-base, spread-checks, log-send-hostname: an [ALERT] each, the configuration runs; the missing global file is said',
    global: 'global\n  stats socket ${CLI} level admin\n  log stderr format raw local0 debug\n  server-state-file ${DIR}/a\n  server-state-file ${DIR}/b\n' +
      '  server-state-base ${DIR}\n  server-state-base /nonexistent\n  spread-checks 5\n  spread-checks 6\n  log-send-hostname one\n  log-send-hostname two\n',
    config: listen('', ['', '']),
    backends: ['s1', 's2'],
    mask: [CFG_PATH],
    steps: async (ctx) => {
      ctx.note(...(await sequence(ctx.port, 2)));
      // No backend loads the state, yet HAProxy reads the (missing) global file and says so.
      ctx.note(...ctx.instance.lines.filter((l) => /config : /.test(l)).map((l) => l.replace(/'\/tmp\/[^']+'/, "'PATH'").replace(CFG_PATH[0], CFG_PATH[1])));
    },
  },
];

diffScenarios('differential: set server check-addr|check-port|ssl, state for a moved server, non-fatal alerts (issue 12 round 2)', scenarios);
