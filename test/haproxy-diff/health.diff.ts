/**
 * Differential scenarios: active health checks (initial state, fall/rise, inter/fastinter/downinter,
 * log-health-checks, tcp-check and httpchk texts) and passive `observe layer4` with each `on-error`, against
 * Debian's haproxy 2.6 (reference cases B.21–B.32).
 */
import { diffScenarios, listen, maskServersState, type Scenario, sequence, stat, statColumns, visit } from './harness.js';

const CHECK_COLUMNS = ['status', 'check_status', 'check_health', 'chkfail', 'chkdown', 'hanafail', 'last_chk', 'check_desc', 'act', 'bck'];

const scenarios: Scenario[] = [
  {
    name: 'a checked server starts UP 1/3 (INI); one failed first check marks it DOWN',
    // inter 2s: s2 is first checked ~1 s after start (HAProxy's spread), so the first snapshot is not a race.
    config: listen('', ['check inter 2s', 'check inter 2s']),
    backends: ['s1', { name: 's2', running: false }],
    steps: async (ctx) => {
      ctx.note(...statColumns(await ctx.instance.command('show stat'), ['status', 'check_status', 'check_health']).slice(1, 2));
      await ctx.instance.waitLines(/Server fe\/s2 is DOWN/, 2);
      ctx.note(stat(await ctx.instance.command('show stat'), CHECK_COLUMNS));
    },
  },
  {
    name: 'fall 3 from full health, rise 2 back, with option log-health-checks (fastinter 50, downinter 200)',
    config: listen('  option log-health-checks\n', ['check inter 150 fastinter 50 downinter 200 rise 2 fall 3']),
    backends: ['s1'],
    steps: async (ctx) => {
      await ctx.instance.waitLines(/Health check for server fe\/s1 succeeded.*status: 3\/3 UP/, 2);
      await ctx.backends[0]!.stop();
      await ctx.instance.waitLines(/^Server fe\/s1 is DOWN/);
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'check_status', 'chkfail', 'chkdown']));
      await ctx.backends[0]!.start();
      await ctx.instance.waitLines(/^Server fe\/s1 is UP/);
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'check_status', 'chkfail', 'chkdown']));
    },
  },
  {
    name: 'DOWN and UP lines carry the check reason without log-health-checks',
    config: listen('', ['check inter 100', 'check inter 100']),
    backends: ['s1', 's2'],
    steps: async (ctx) => {
      await ctx.instance.command('show info');
      await ctx.backends[1]!.stop();
      await ctx.instance.waitLines(/^Server fe\/s2 is DOWN/);
      ctx.note(...(await sequence(ctx.port, 3)));
      await ctx.backends[1]!.start();
      await ctx.instance.waitLines(/^Server fe\/s2 is UP/);
    },
  },
  {
    name: 'tcp-check send/expect: L7RSP on a wrong reply, L7OK on the expected one',
    // inter (the check's timeout too) 500 ms: at 100 ms both engines timed out once waiting for this process's reply at load 11.
    config: listen('  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect string +PONG\n', ['check inter 500']),
    backends: [{ name: 's1', mode: 'hold', reply: '-ERR\r\n' }],
    steps: async (ctx) => {
      await ctx.instance.waitLines(/^Server fe\/s1 is DOWN/);
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'check_status', 'last_chk', 'check_code']));
      ctx.backends[0]!.reply = '+PONG\r\n';
      await ctx.instance.waitLines(/^Server fe\/s1 is UP/);
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'check_status', 'last_chk', 'check_code']));
    },
  },
  {
    name: 'option httpchk in TCP mode: 503 is L7STS with the reason phrase, 200 passes',
    // inter (the check's timeout too) 500 ms: at 100 ms switchyard's check timed out once at load 11.
    config: listen('  option httpchk GET /health\n', ['check inter 500']),
    backends: [{ name: 's1', mode: 'close', reply: 'HTTP/1.0 503 Service Unavailable\r\n\r\n' }],
    steps: async (ctx) => {
      await ctx.instance.waitLines(/^Server fe\/s1 is DOWN/);
      ctx.backends[0]!.reply = 'HTTP/1.0 200 OK\r\n\r\n';
      await ctx.instance.waitLines(/^Server fe\/s1 is UP/);
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'check_status', 'check_code']));
    },
  },
  {
    name: 'observe layer4, on-error fail-check (error-limit 3, retries 0): one simulated failed check',
    config: listen('  retries 0\n  option log-health-checks\n', ['check port ${S2} inter 10s observe layer4 error-limit 3']),
    backends: [{ name: 's1', running: false }, 'checkport'],
    steps: async (ctx) => {
      await ctx.instance.waitLines(/Health check for server fe\/s1 succeeded/);
      for (let i = 0; i < 5; i++) {
        const v = await visit(ctx.port);
        ctx.note(`client ${i + 1}:`, v.line === '' ? 'closed' : v.line);
        await v.closed;
      }
      await ctx.instance.waitLines(/Health check for server fe\/s1 failed/);
      ctx.note(stat(await ctx.instance.command('show stat'), CHECK_COLUMNS));
    },
  },
  {
    name: 'observe layer4, on-error sudden-death: UP 1/3 at once, down on the next error burst',
    config: listen('  retries 0\n  option log-health-checks\n', ['check port ${S2} inter 10s observe layer4 error-limit 2 on-error sudden-death']),
    backends: [{ name: 's1', running: false }, 'checkport'],
    steps: async (ctx) => {
      // The first check comes before the clients, as in HAProxy (on a loaded machine switchyard's came after one once).
      await ctx.instance.waitLines(/Health check for server fe\/s1 succeeded/);
      for (let i = 0; i < 2; i++) await (await visit(ctx.port)).closed;
      await ctx.instance.waitLines(/Health check for server fe\/s1 failed/);
      ctx.note(stat(await ctx.instance.command('show stat'), CHECK_COLUMNS));
      for (let i = 0; i < 2; i++) await (await visit(ctx.port)).closed;
      await ctx.instance.waitLines(/Server fe\/s1 is DOWN/, 2);
      ctx.note(stat(await ctx.instance.command('show stat'), CHECK_COLUMNS));
    },
  },
  {
    name: 'observe layer4, on-error mark-down: DOWN at the error limit',
    config: listen('  retries 0\n  option log-health-checks\n', ['check port ${S2} inter 10s observe layer4 error-limit 2 on-error mark-down']),
    backends: [{ name: 's1', running: false }, 'checkport'],
    steps: async (ctx) => {
      // The first check comes before the clients, as in HAProxy (on a loaded machine switchyard's came after one once).
      await ctx.instance.waitLines(/Health check for server fe\/s1 succeeded/);
      for (let i = 0; i < 2; i++) await (await visit(ctx.port)).closed;
      await ctx.instance.waitLines(/Server fe\/s1 is DOWN/, 2);
      ctx.note(stat(await ctx.instance.command('show stat'), CHECK_COLUMNS));
      ctx.note(maskServersState(await ctx.instance.command('show servers state fe')));
    },
  },
  {
    name: 'observe layer4, on-error fastinter: only the next check moves (hanafail counts, health stays)',
    config: listen('  retries 0\n  option log-health-checks\n', ['check port ${S2} inter 10s fastinter 100 observe layer4 error-limit 2 on-error fastinter']),
    backends: [{ name: 's1', running: false }, 'checkport'],
    steps: async (ctx) => {
      // The first check comes before the clients, as in HAProxy (on a loaded machine switchyard's came after one once).
      await ctx.instance.waitLines(/Health check for server fe\/s1 succeeded/);
      for (let i = 0; i < 2; i++) await (await visit(ctx.port)).closed;
      ctx.note(stat(await ctx.instance.command('show stat'), ['status', 'hanafail', 'chkfail']));
    },
  },
];

diffScenarios('differential: health checks and observe layer4 (haproxy 2.6 vs switchyard -f)', scenarios);
