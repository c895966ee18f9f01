import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { buildFromHaproxyConfig } from '../../../src/haproxy/from-config.js';
import type { HaproxyInstance } from '../../../src/haproxy/build/instance.js';
import { parseHaproxyConfig } from '../../../src/haproxy/config/parser.js';
import { type CliSession, type CommandHost, runCommand } from '../../../src/haproxy/runtime/commands.js';
import { splitCommands, splitWords } from '../../../src/haproxy/runtime/parse.js';

const CONFIG = `defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
listen fe
  bind 127.0.0.1:18600
  server s1 127.0.0.1:18601 check inter 1h
  server s2 127.0.0.1:18602 check inter 1h
  server s3 127.0.0.1:18603
backend st
  balance static-rr
  server a1 127.0.0.1:18611
`;

function commandHost(): { host: CommandHost; instance: HaproxyInstance; stderr: string[] } {
  const stderr: string[] = [];
  const instance = buildFromHaproxyConfig(parseHaproxyConfig(CONFIG), { pid: 7, stderr: (t) => stderr.push(t), statsSockets: false });
  return { host: { instance, now: () => 0, notice: (m) => instance._notice(m), alert: (m) => instance._alert(m) }, instance, stderr };
}

const admin = (): CliSession => ({ level: 'admin', prompt: false, quit: false });

describe('runtime API commands (replies recorded from haproxy 2.6.12)', () => {
  const { host, instance, stderr } = commandHost();
  after(() => instance.destroy());
  const run = (command: string, session: CliSession = admin()): string => runCommand(command, host, session);

  it('changes server states and answers with HAProxy\'s empty reply', () => {
    assert.equal(run('set server fe/s2 state drain'), '\n');
    assert.equal(instance.backend('fe').pool.get('s2').adminState, 'drain');
    assert.equal(run('set server fe/s2 state ready'), '\n');
    assert.equal(run('set server fe/s2 health down'), '\n');
    assert.equal(instance.backend('fe').pool.get('s2').status, 'DOWN');
    assert.equal(run('set server fe/s2 health up'), '\n');
    assert.ok(stderr.includes('[WARNING]  (7) : Server fe/s2 enters drain state. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.\n'));
  });

  it('gives HAProxy\'s error messages, byte for byte', () => {
    const recorded: [string, string][] = [
      ['set server fe/s2 state bogus', "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"],
      ['set server fe/s2 health bogus', "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n"],
      ['set server fe/s2 weight 300', 'Absolute weight can only be between 0 and 256 inclusive.\n\n'],
      ['set server fe/s2 weight abc', 'Empty weight string empty or preceded by garbage\n'],
      ['set server fe/s2 weight 3x', 'Trailing garbage in weight string\n'],
      ['set server fe/s2 weight -5%', 'Relative weight must be positive.\n\n'],
      ['set server fe/s2 weight', 'Require <weight> or <weight%>.\n\n'],
      ['set server st/a1 weight 2', "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n"],
      ['set weight fe', "Require 'backend/server'.\n\n"],
      ['get weight fe/nope', 'No such server.\n\n'],
      ['get weight nope/s1', 'No such backend.\n\n'],
      ['set server fe/s1/x state ready', 'No such server.\n\n'],
      ['set server fe/s2', 'usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n\n'],
      ['enable health fe/s3', 'Health check was not configured on this server, cannot enable.\n\n'],
      ['set maxconn server fe/s2 abc', 'maxconn string empty or preceded by garbage\n'],
      ['set maxconn server fe/s2', 'Require <maxconn>.\n\n'],
      ['add server st/x1 127.0.0.1:29012', 'Backend must use a dynamic load balancing to support dynamic servers.\n'],
      ['add server nope/x1 127.0.0.1:29012', 'No such backend.\n'],
      ['add server fe/d7', "'server' expects <name> and <addr>[:<port>] as arguments.\n\n"],
      ['add server fe/d13 127.0.0.1:29004 chek', "unknown keyword 'chek'; did you mean 'check' maybe ?\n\n"],
      ['del server fe/s1', 'Only servers in maintenance mode can be deleted.\n'],
      ['del server fe/zz', 'No such server.\n'],
      ['del server', "Require 'backend/server'.\n"],
      ['show servers state nope', "Can't find backend.\n\n"],
      ['get weight fe\\/s1', '1 (initial 1)\n\n'],
    ];
    for (const [command, reply] of recorded) assert.equal(run(command), reply, command);
  });

  it('weights: N% of the initial weight (integer division), get weight shows both', () => {
    assert.equal(run('set server fe/s1 weight 3'), '\n');
    assert.equal(run('get weight fe/s1'), '3 (initial 1)\n\n');
    assert.equal(run('set weight fe/s1 50%'), '\n');
    assert.equal(run('get weight fe/s1'), '0 (initial 1)\n\n');
    assert.equal(run('set weight fe/s1 100%'), '\n');
  });

  it('adds a server in maintenance with checks off, and deletes it once in maintenance', () => {
    assert.equal(run('add server fe/s4 127.0.0.1:18604 check weight 2'), 'New server registered.\n\n');
    const s4 = instance.backend('fe').pool.get('s4');
    assert.deepEqual([s4.adminState, s4.weight, s4.checksEnabled, s4.maintFromConfig], ['maint', 2, false, false]);
    assert.equal(run('add server fe/s4 127.0.0.1:18604'), 'Already exists a server with the same name in backend.\n\n');
    assert.equal(run('enable health fe/s4'), '\n');
    assert.equal(run('del server fe/s4'), 'Server deleted.\n');
    assert.equal(instance.backend('fe').pool.find('s4'), undefined);
    assert.ok(stderr.includes("[NOTICE]   (7) : CLI : 'server fe/s4' : New server registered.\n"));
  });

  it('adds a server with its own send-proxy(-v2) and on-marked-* (per-server settings, accepted by HAProxy 2.6 too)', () => {
    assert.equal(run('add server fe/n1 127.0.0.1:18605 send-proxy-v2 on-marked-down shutdown-sessions'), 'New server registered.\n\n');
    assert.equal(run('add server fe/n2 127.0.0.1:18606 send-proxy on-marked-up shutdown-backup-sessions'), 'New server registered.\n\n');
    const pool = instance.backend('fe').pool;
    assert.deepEqual([pool.get('n1').sendProxy, pool.get('n1').onMarkedDown, pool.get('n2').sendProxy, pool.get('n2').onMarkedUp],
      ['v2', 'shutdown-sessions', 'v1', 'shutdown-backup-sessions']);
  });

  it('enforces the level: a user or operator session gets "Permission denied" for changes, reads still work', () => {
    const user: CliSession = { level: 'user', prompt: false, quit: false };
    assert.equal(run('set server fe/s2 state drain', user), 'Permission denied\n\n');
    assert.equal(run('disable server fe/s2', user), 'Permission denied\n\n');
    assert.equal(run('get weight fe/s2', user), '1 (initial 1)\n\n');
    assert.equal(run('operator', user), 'Permission denied\n\n');
    const session = admin();
    assert.equal(run('operator', session), '\n');
    assert.equal(run('show cli level', session), 'operator\n\n');
    assert.equal(run('set weight fe/s2 1', session), 'Permission denied\n\n');
  });

  it('answers an unknown command with the closest commands, and help with the list', () => {
    const unknown = run('shwo stat');
    assert.match(unknown, /^Unknown command, but maybe one of the following ones is a better match:\n/);
    assert.match(unknown, /\n {2}show stat /);
    assert.match(unknown, / {2}quit {36}: disconnect\n\n$/);
    assert.match(run(''), /^Unknown command\. Please enter one of the following commands only:\n/);
    const help = run('help set server');
    assert.equal(help.split('\n')[1], "  set server <bk>/<srv> [opts]            : change a server's state, health, weight or address");
  });

  it("changes a server's address with HAProxy's replies (srv_update_addr_port()), through the pool", () => {
    const s3 = instance.backend('fe').pool.get('s3');
    const moved: string[] = [];
    instance.backend('fe').pool.on('server:address', (server, previous) => moved.push(`${server.name} ${previous.host}:${previous.port}`));
    const recorded: [string, string][] = [
      ['set server fe/s3 addr 127.0.0.1 port 18613', "no need to change the addr, port changed from '18603' to '18613' by 'stats socket command'\n\n"],
      ['set server fe/s3 addr 127.0.0.2', "IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n\n"],
      ['set server fe/s3 addr 127.0.0.2 port 18613', "no need to change the addr, no need to change the port by 'stats socket command'\n\n"],
      ['set server fe/s3 addr', 'set server <b>/<s> addr requires an address and optionally a port.\n\n'],
      ['set server fe/s3 addr bogus', "Invalid addr 'bogus' by 'stats socket command'\n\n"],
      ['set server fe/s3 addr 127.0.0.2 port', "no need to change the addr, problem converting port '' to an int by 'stats socket command'\n\n"],
      ['set server fe/s3 addr 127.0.0.1 port 99999', "IP changed from '127.0.0.2' to '127.0.0.1', port changed from '18613' to '34463' by 'stats socket command'\n\n"],
      ['set server fe/s3 fqdn localhost', 'set server <b>/<s> fqdn failed because no resolution is configured.\n\n'],
      ['set server fe/s3 fqdn', 'set server <b>/<s> fqdn requires a FQDN.\n\n'],
      ['set server fe/nope addr 127.0.0.1', 'No such server.\n\n'],
    ];
    for (const [command, reply] of recorded) assert.equal(run(command), reply, command);
    assert.deepEqual([s3.host, s3.port], ['127.0.0.1', 34463]);
    assert.deepEqual(moved, ['s3 127.0.0.1:18603', 's3 127.0.0.1:18613', 's3 127.0.0.2:18613']);
    assert.match(run('show servers state fe'), /\n2 fe 3 s3 127\.0\.0\.1 .* 34463 /);
    run('set server fe/s3 addr 127.0.0.1 port 18603');
  });

  it('help lists only what switchyard does: no desc for show stat/info, no address or ssl for set server', () => {
    const help = run('help');
    assert.match(help, /^ {2}show stat \[json\|no-maint\|typed\|up\]\* {5}: report counters for each proxy and server$/m);
    assert.match(help, /^ {2}show info \[float\|json\|typed\]\* {11}: report information about the running process$/m);
    assert.doesNotMatch(help, /desc|address or ssl/);
    // What the list leaves out is still answered, and says why.
    assert.equal(run('show stat typed desc'), "'show stat desc' is not supported in switchyard: the descriptions are HAProxy's text.\n\n");
    assert.equal(run('show info desc'), "'show info desc' is not supported in switchyard: the descriptions are HAProxy's text.\n\n");
    assert.equal(run('show info typed desc'), "'show info desc' is not supported in switchyard: the descriptions are HAProxy's text.\n\n");
    // HAProxy's CSV and JSON forms have no descriptions: `desc` leaves them as they are.
    assert.equal(run('show stat desc'), run('show stat'));
    assert.equal(run('show stat json desc'), run('show stat json'));
    assert.equal(run('show info desc json'), run('show info json'));
    assert.equal(run('set server fe/s1 ssl on'), "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n\n");
  });

  it('answers show stat typed and json with HAProxy 2.6.12\'s positions, tags and types, for the columns the CSV fills', () => {
    const typed = run('show stat typed').split('\n').filter((l) => l !== '');
    // Recorded from `show stat typed` on haproxy 2.6.12 (values aside).
    assert.ok(typed.includes('F.2.0.1.svname.1:KNS:str:FRONTEND'));
    assert.ok(typed.some((l) => /^S\.2\.1\.7\.stot\.1:MCP:u64:\d+$/.test(l)));
    assert.ok(typed.some((l) => /^S\.2\.1\.19\.act\.1:SGP:u32:1$/.test(l)));
    assert.ok(typed.some((l) => /^B\.2\.0\.19\.act\.1:MGP:u32:\d+$/.test(l)), 'a BACKEND row tags act as a metric');
    // Every CSV cell with a value is one typed line, in column order; an empty cell is none.
    const csv = run('show stat').split('\n').filter((l) => l !== '');
    const cells = csv.slice(1).reduce((n, l) => n + l.split(',').slice(0, -1).filter((c) => c !== '').length, 0);
    assert.equal(typed.length, cells);
    const json = JSON.parse(run('show stat json')) as { objType: string; proxyId: number; id: number; field: { pos: number; name: string }; tags: unknown; value: { type: string; value: unknown } }[][];
    assert.equal(json.length, csv.length - 1, 'one array per row');
    assert.deepEqual(json[1]?.find((f) => f.field.name === 'lbtot'), {
      objType: 'Server', proxyId: 2, id: 1, field: { pos: 30, name: 'lbtot' }, processNum: 1,
      tags: { origin: 'Metric', nature: 'Counter', scope: 'Process' }, value: { type: 'u64', value: 0 },
    });
    // With `up` or `no-maint`, HAProxy 2.6 adds the count of servers up to the BACKEND's status (CSV and typed).
    assert.match(run('show stat up'), /^fe,BACKEND,(?:[^,]*,){15}UP \(\d+\/\d+\),/m);
    assert.match(run('show stat typed no-maint'), /^B\.2\.0\.17\.status\.1:SGP:str:UP \(\d+\/\d+\)$/m);
    assert.doesNotMatch(run('show stat typed'), /UP \(/);
    // Three words are the filter, as in HAProxy: a proxy name or number, then the keywords.
    assert.equal(run('show stat typed 2 -1 -1'), 'No such proxy.\n\n');
    assert.equal(run('show stat up no-maint typed'), 'No such proxy.\n\n');
    assert.equal(run('show stat fe 4 1 typed'), run('show stat 2 4 1 typed'));
    assert.equal(run('show stat -1 -1 -1 bogus json typed'), run('show stat typed'), 'unknown words ignored, the last form wins');
    assert.deepEqual(run('show stat 2 4 1 typed').split('\n').filter((l) => l !== '').every((l) => l.startsWith('S.2.1.')), true);
  });

  it('answers show info float with HAProxy 2.6.12\'s float fields', () => {
    const lines = run('show info float typed').split('\n').filter((l) => l.includes(':flt:'));
    assert.deepEqual(lines.map((l) => l.split(':').slice(0, 2).join(':')), [
      '8.Uptime_sec.1:MDP', '26.ConnRate.1:MRP', '29.SessRate.1:MRP', '32.SslRate.1:MRP', '35.SslFrontendKeyRate.1:MRP',
      '37.SslFrontendSessionReuse_pct.1:MRP', '38.SslBackendKeyRate.1:MRP', '42.CompressBpsIn.1:MRP', '43.CompressBpsOut.1:MRP',
      '70.Start_time_sec.1:MDP',
    ]);
    assert.match(run('show info float'), /^Uptime_sec: \d+(\.\d{1,6})?$/m);
    assert.match(run('show info'), /^Uptime_sec: \d+$/m);
  });

  it('answers show info json like HAProxy 2.6: one JSON array of typed fields, at HAProxy\'s positions', () => {
    const reply = run('show info json');
    assert.ok(reply.endsWith(']\n\n'), 'one line of JSON, then the empty line');
    const fields = JSON.parse(reply) as { field: { pos: number; name: string }; processNum: number; tags: Record<string, string>; value: { type: string; value: unknown } }[];
    const byName = new Map(fields.map((f) => [f.field.name, f]));
    // Recorded from `show info json` on haproxy 2.6.12 (values aside).
    assert.deepEqual(byName.get('Name'), { field: { pos: 0, name: 'Name' }, processNum: 1, tags: { origin: 'Product', nature: 'Output', scope: 'Service' }, value: { type: 'str', value: 'switchyard' } });
    assert.deepEqual(byName.get('Pid'), { field: { pos: 6, name: 'Pid' }, processNum: 1, tags: { origin: 'Status', nature: 'Gauge', scope: 'Process' }, value: { type: 'u32', value: 7 } });
    assert.deepEqual(byName.get('Idle_pct')?.tags, { origin: 'Metric', nature: 'Avg', scope: 'Process' });
    assert.deepEqual([byName.get('Tasks')?.field.pos, byName.get('node')?.field.pos, byName.get('Tainted')?.field.pos], [47, 50, 71]);
    assert.deepEqual(byName.get('TotalBytesOut')?.value.type, 'u64');
    // The same fields as the text form, in the same order.
    assert.deepEqual(fields.map((f) => `${f.field.name}: ${String(f.value.value)}`).join('\n'), run('show info').trimEnd());
    assert.match(run('show info typed'), /^0\.Name\.1:POS:str:switchyard\n1\.Version\.1:POS:str:/);
    assert.match(run('show info json typed'), /^0\.Name\.1:POS:str:/, 'the last form named wins, as in HAProxy');
  });

  it('never throws, whatever the bytes (fuzzed)', () => {
    const words = fc.constantFrom('show', 'stat', 'set', 'server', 'fe/s1', 'fe/', '/s1', 'weight', 'state', 'health', 'add', 'del', 'get', 'maxconn', 'help', 'prompt', '%', '\\', ';', 'enable', 'disable', '127.0.0.1:1');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(words, { maxLength: 8 }).map((w) => w.join(' '))), (text) => {
        const { host: h, instance: i } = commandHost();
        try {
          for (const command of splitCommands(text)) assert.equal(typeof runCommand(command, h, admin()), 'string');
          assert.ok(splitWords(text).length <= 64);
        } finally {
          i.destroy();
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('runtime API sockets', () => {
  let dir = '';
  let haproxy: HaproxyInstance;
  let tcpPort = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-api-'));
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    tcpPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const feProbe = net.createServer().listen(0, '127.0.0.1');
    await once(feProbe, 'listening');
    const fe = (feProbe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => feProbe.close(() => r()));
    const config = `global\n  stats socket ${join(dir, 'admin.sock')} level admin\n  stats socket ipv4@127.0.0.1:${tcpPort} level user\n` +
      CONFIG.replace('127.0.0.1:18600', `127.0.0.1:${fe}`);
    haproxy = buildFromHaproxyConfig(parseHaproxyConfig(config), { warnings: false });
    await haproxy.start();
  });
  after(async () => {
    await haproxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `input` and collects everything until the server closes. */
  function exchange(connect: () => net.Socket, input: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect();
      let out = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (out += d));
      s.on('error', reject);
      s.on('close', () => resolve(out));
      s.write(input);
    });
  }
  const unix = (): net.Socket => net.connect(join(dir, 'admin.sock'));
  const tcp = (): net.Socket => net.connect(tcpPort, '127.0.0.1');

  it('creates the unix socket with mode 0600', async () => {
    assert.equal((await stat(join(dir, 'admin.sock'))).mode & 0o777, 0o600);
  });

  it('answers one line per connection, then closes (socat style); ; separates commands', async () => {
    assert.equal(await exchange(unix, 'get weight fe/s1;get weight fe/s2\nget weight fe/s3\n'), '1 (initial 1)\n\n1 (initial 1)\n\n');
    const csv = await exchange(unix, 'show stat\n');
    assert.match(csv, /^# pxname,svname,qcur,/);
    assert.match(csv, /\nfe,s1,/);
    assert.match(csv, /\nst,BACKEND,/);
  });

  it('keeps the connection in prompt mode, with "> " after each reply, until quit', async () => {
    const out = await exchange(unix, 'prompt\nget weight fe/s1\nset server fe/s1 weight abc\nquit\n');
    assert.equal(out, '\n> 1 (initial 1)\n\n> Empty weight string empty or preceded by garbage\n> ');
  });

  it('serves a level user TCP socket that refuses changes', async () => {
    assert.equal(await exchange(tcp, 'set server fe/s1 state maint\n'), 'Permission denied\n\n');
    assert.equal(await exchange(tcp, 'show cli level\n'), 'user\n\n');
  });

  it('answers a last line sent without newline', async () => {
    assert.equal(await new Promise<string>((resolve) => {
      const s = unix();
      let out = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (out += d));
      s.on('close', () => resolve(out));
      s.end('show version');
    }), 'switchyard\n\n');
  });
});
