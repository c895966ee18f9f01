/**
 * Server state files at start-up (`server-state-file`, `server-state-base`, `load-server-state-from-file`,
 * `server-state-file-name`): the rules and the exact `config :` warnings of Debian's HAProxy 2.6.12, measured on
 * the same files (issue 12 notes, item 15). Loading is driven through the instance's `_loadServerState()`, which
 * `start()` and `switchyard -c` call, with real files in a temporary directory.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkConfigFiles } from '../../../src/cli/check.js';
import { LbError } from '../../../src/errors.js';
import { parseHaproxyConfig } from '../../../src/haproxy/config/parser.js';
import { buildFromHaproxyConfig } from '../../../src/haproxy/from-config.js';
import { showServersState } from '../../../src/haproxy/runtime/views.js';

const DEFAULTS = 'defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n';
const HEADER = '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n';

/** Builds the configuration and loads its state files; the `config :` lines printed, and the instance. */
async function load(config: string) {
  const stderr: string[] = [];
  const instance = buildFromHaproxyConfig(parseHaproxyConfig(config), { pid: 7, statsSockets: false, stderr: (t) => stderr.push(t.replace(/\n$/, '')) });
  await instance._loadServerState();
  instance.destroy();
  return { instance, lines: stderr.map((l) => l.replace(/^\[WARNING\] {2}\(7\) : config : /, '')) };
}

const status = (instance: Awaited<ReturnType<typeof load>>['instance'], backend: string) =>
  instance.backend(backend).pool.servers.map((s) => `${s.name} ${s.status} w=${s.weight} h=${s.health}${s.checksEnabled || !s.check ? '' : ' checks-off'}`);

describe('server state files (HAProxy 2.6.12 rules and warnings)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a global file: down, drain, stopping, weights, disabled checks, unknown servers ignored', async () => {
    const file = join(dir, 'global.state');
    await writeFile(file, HEADER +
      '2 fe 1 s1 127.0.0.1 0 8 10 1 100 8 2 0 6 0 0 0 - 19311 - 0 0 - - 0\n' +
      '2 fe 2 s2 127.0.0.1 3 0 7 1 100 6 3 3 6 0 0 0 - 19312 - 0 0 - - 0\n' +
      '2 fe 3 s3 127.0.0.1 2 8 1 0 100 6 3 4 2 0 0 0 - 19313 - 0 0 - - 0\n' +
      '2 fe 4 s4 127.0.0.1 2 0 5 0 100 6 3 4 6 0 0 0 - 19314 - 0 0 - - 0\n' +
      '2 fe 9 s9 127.0.0.1 0 1 1 1 100 6 3 4 6 0 0 0 - 19314 - 0 0 - - 0\n' +
      '3 be2 1 t1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 19321 - 0 0 - - 0\n');
    const { instance, lines } = await load(`global\n  server-state-file ${file}\n${DEFAULTS}  load-server-state-from-file global\n` +
      'listen fe\n  bind 127.0.0.1:19301\n  server s1 127.0.0.1:19311 check inter 1h weight 10\n  server s2 127.0.0.1:19312 check inter 1h\n' +
      '  server s3 127.0.0.1:19313 check inter 1h\n  server s4 127.0.0.1:19314 check inter 1h weight 0\nbackend be2\n  server t1 127.0.0.1:19321 check inter 1h\n');
    assert.deepEqual(lines, [
      'Server fe/s1 is DOWN, changed from server-state after a reload. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
      'Server fe/s1 remains in forced drain mode.',
      'Server fe/s2 is stopping, changed from server-state after a reload. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
      'Server be2/t1 is DOWN, changed from server-state after a reload. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    ]);
    assert.deepEqual(status(instance, 'fe'), [
      's1 DOWN w=10 h=0', // saved iweight 1, configured 10: the saved weight is not applied
      's2 NOLB 2/3 w=7 h=3',
      's3 no check w=1 h=4 checks-off', // drained with iweight 0, weight 1 now: the drain is dropped
      's4 UP w=5 h=4', // iweight 0 both times: weight 5 applies
    ]);
    assert.equal(instance.backend('fe').pool.get('s1').adminState, 'drain');
    assert.equal(instance.backend('fe').pool.get('s1').lastCheck?.status, 'L4CON');
  });

  it('says what HAProxy says about a missing, empty, versionless or corrupted global file, and applies nothing from it', async () => {
    const config = (path: string) => `global\n  server-state-file ${path}\n${DEFAULTS}backend be\n  load-server-state-from-file global\n  server s1 127.0.0.1:1 check\n`;
    const missing = join(dir, 'missing.state');
    assert.deepEqual((await load(config(missing))).lines, [`config: Can't open global server state file '${missing}': No such file or directory`]);
    const cases: [string, string][] = [
      ['', `config: Can't get version of the global server state file 'PATH'.`],
      ['x\n', `config: Can't get version of the global server state file 'PATH'.`],
      [`${HEADER}3 be 1 s1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 1\n`, `config: corrupted global server state file 'PATH' at line 2.`],
      [`${HEADER}3 be 1 s1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 1 - 0 0 - - 0`, `config: corrupted global server state file 'PATH' at line 2.`],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const path = join(dir, `bad${i}.state`);
      await writeFile(path, text);
      const { instance, lines } = await load(config(path));
      assert.deepEqual(lines, [message.replace('PATH', path)], JSON.stringify(text));
      assert.equal(instance.backend('be').pool.get('s1').status, 'UP 1/3');
    }
  });

  it('refuses the line of a server with invalid values (every one named) and applies the others', async () => {
    const file = join(dir, 'invalid.state');
    await writeFile(file, `${HEADER}2 be 1 s1 127.0.0.1 x 8 10 1 100 8 2 0 6 0 0 0 - 1 - 0 0 - - 0\n` +
      '2 be 2 s2 127.0.0.1 0 x y 1 100 8 2 0 6 0 0 0 - 2 - 0 0 - - 0\n2 be 3 s3 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 3 - 0 0 - - 0\n');
    const { instance, lines } = await load(`global\n  server-state-file ${file}\n${DEFAULTS}backend be\n  load-server-state-from-file global\n` +
      '  server s1 127.0.0.1:1 check\n  server s2 127.0.0.1:2 check\n  server s3 127.0.0.1:3 check\n');
    assert.deepEqual(lines, [
      "server-state application failed for server 'be/s1', invalid srv_op_state value 'x'",
      "server-state application failed for server 'be/s2', invalid srv_admin_state value 'x', invalid srv_uweight value 'y'",
      'Server be/s3 is DOWN, changed from server-state after a reload. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    ]);
    assert.deepEqual(status(instance, 'be'), ['s1 UP 1/3 w=1 h=2', 's2 UP 1/3 w=1 h=2', 's3 DOWN w=1 h=0']);
  });

  it('reads local files under server-state-base: the backend name or server-state-file-name, id and name checks, unknown servers', async () => {
    const base = join(dir, 'base');
    await writeFile(join(dir, 'abs.state'), `${HEADER}9 other 1 u1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 31 - 0 0 - - 0\n` +
      '4 be3x 1 u1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 31 - 0 0 - - 0\n');
    await import('node:fs/promises').then((fs) => fs.mkdir(base, { recursive: true }));
    await writeFile(join(base, 'fe'), `${HEADER}2 fe 1 s1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 11 - 0 0 - - 0\n` +
      '2 fe 9 s9 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 11 - 0 0 - - 0\n7 fe 2 s2 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 12 - 0 0 - - 0\n' +
      '2 zz 2 s2 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 12 - 0 0 - - 0\n');
    const { instance, lines } = await load(`global\n  server-state-base ${base}/\n${DEFAULTS}` +
      'listen fe\n  bind 127.0.0.1:19301\n  load-server-state-from-file local\n  server s1 127.0.0.1:11 check\n  server s2 127.0.0.1:12 check\n' +
      `backend be2\n  load-server-state-from-file local\n  server-state-file-name\n  server t1 127.0.0.1:21 check\n` +
      `backend be3\n  load-server-state-from-file local\n  server-state-file-name ${join(dir, 'abs.state')}\n  server u1 127.0.0.1:31 check\n`);
    assert.deepEqual(lines, [
      "Proxy 'fe': backend ID mismatch: from server state file: '7', from running config '2'",
      "Proxy 'fe': backend name mismatch: from server state file: 'zz', from running config 'fe'",
      'Server fe/s1 is DOWN, changed from server-state after a reload. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
      'Server fe/s2 is DOWN, changed from server-state after a reload. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
      "Proxy 'fe': can't find server 's9' in backend 'fe'",
      `Proxy 'be2': Can't open server state file '${base}/be2': No such file or directory.`,
      "Proxy 'be3': backend name mismatch: from server state file: 'be3x', from running config 'be3'",
    ]);
    assert.deepEqual([...status(instance, 'fe'), ...status(instance, 'be3')], ['s1 DOWN w=1 h=0', 's2 DOWN w=1 h=0', 'u1 UP 1/3 w=1 h=2']);
  });

  it('applies the state and the saved port to a server whose port changed, keeps the configured address (as HAProxy 2.6.12)', async () => {
    const file = join(dir, 'moved.state');
    await writeFile(file, `${HEADER}2 be 1 s1 127.0.0.5 0 0 1 1 100 8 2 0 6 0 0 0 - 99 - 0 0 - - 0\n2 be 2 s2 127.0.0.6 2 0 7 1 100 1 0 0 0 0 0 0 - 2 - 0 0 - - 0\n`);
    const { instance, lines } = await load(`global\n  server-state-file ${file}\n${DEFAULTS}backend be\n  load-server-state-from-file global\n  server s1 127.0.0.1:1 check\n  server s2 127.0.0.1:2\n`);
    assert.deepEqual(lines, ['Server be/s1 is DOWN, changed from server-state after a reload. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.']);
    const pool = instance.backend('be').pool;
    assert.deepEqual([pool.get('s1').status, pool.get('s1').host, pool.get('s1').port], ['DOWN', '127.0.0.1', 99]);
    assert.deepEqual([pool.get('s2').weight, pool.get('s2').host, pool.get('s2').port], [7, '127.0.0.1', 2]);
  });

  it("loads back what its own show servers state wrote: weight, drain, maintenance, health, disabled checks", async () => {
    const file = join(dir, 'roundtrip.state');
    const config = `global\n  server-state-file ${file}\n${DEFAULTS}backend be\n  load-server-state-from-file global\n` +
      '  server s1 127.0.0.1:1 check weight 10\n  server s2 127.0.0.1:2 check\n  server s3 127.0.0.1:3 check\n  server s4 127.0.0.1:4 check\n  server s5 127.0.0.1:5 check\n';
    const first = buildFromHaproxyConfig(parseHaproxyConfig(config), { warnings: false, statsSockets: false });
    const pool = first.backend('be').pool;
    pool.setWeight('s1', 3);
    pool.setAdminState('s2', 'drain');
    pool.setAdminState('s3', 'maint');
    pool.setHealth('s4', 'down');
    pool.setChecksEnabled('s5', false);
    const saved = showServersState(first, undefined, 0)!;
    first.destroy();
    await writeFile(file, saved);
    const { instance } = await load(config);
    assert.deepEqual(status(instance, 'be'), ['s1 UP w=3 h=4', 's2 DRAIN w=1 h=4', 's3 MAINT w=1 h=0', 's4 DOWN w=1 h=0', 's5 no check w=1 h=4 checks-off']);
    const mask = (t: string) => t.split('\n').map((l) => l.replace(/^(\d+ (?:\S+ ){8})\S+/, '$1T')).join('\n');
    // As HAProxy: identical but the health counters of the running servers s1, s2 and s5, now full.
    const expected = mask(saved).replace(/^(2 be [125] s[125] 127\.0\.0\.1 2 \d+ \d+ \d+ T 1 0) 2 /gm, '$1 4 ');
    assert.notEqual(expected, mask(saved));
    assert.equal(mask(showServersState(instance, undefined, 0)!), expected);
  });

  it('parses the keywords with HAProxy\'s messages and warnings', () => {
    const config = parseHaproxyConfig(`global\n  server-state-file a\n  server-state-file b\n  server-state-base /x\n${DEFAULTS}  load-server-state-from-file local\n  server-state-file-name dflt\n` +
      'frontend f\n  bind :80\n  load-server-state-from-file global\n  default_backend b1\nbackend b1\n  server s1 127.0.0.1:1\nbackend b2\n  server-state-file-name use-backend-name\n  server s1 127.0.0.1:1\n');
    assert.deepEqual([config.global.serverStateFile, config.global.serverStateBase], ['a', '/x']);
    assert.deepEqual(config.backends.map((b) => [b.name, b.loadServerState, b.serverStateFileName]), [['b1', 'local', 'dflt'], ['b2', 'local', undefined]]);
    assert.deepEqual(config.warnings.map((w) => w.printedAs), ['alert', undefined]);
    assert.deepEqual(config.warnings.map((w) => w.text), [
      "parsing [haproxy.cfg:3] : 'server-state-file' already specified. Continuing.",
      "parsing [haproxy.cfg:14] : 'load-server-state-from-file' ignored because frontend 'f' has no backend capability.",
    ]);
    const bad = (text: string): string[] => {
      try {
        parseHaproxyConfig(text);
        return [];
      } catch (e) {
        return (LbError.is(e) ? (e.details['diagnostics'] as { severity: string; text: string }[]) : []).filter((d) => d.severity === 'alert').map((d) => d.text);
      }
    };
    assert.deepEqual(bad(`global\n  server-state-base\n  server-state-file\n${DEFAULTS}backend b\n  load-server-state-from-file bogus\n  load-server-state-from-file\n  server-state-file-name a b\n`), [
      "parsing [haproxy.cfg:2] : 'server-state-base' expects one argument: a directory path.",
      "parsing [haproxy.cfg:3] : 'server-state-file' expect one argument: a file path.",
      "parsing [haproxy.cfg:10] : 'load-server-state-from-file' expects 'global', 'local' or 'none'. Got 'bogus'",
      "parsing [haproxy.cfg:11] : 'load-server-state-from-file' expects 'global', 'local' or 'none'. Got ''",
      "parsing [haproxy.cfg:12] : 'server-state-file-name' cannot handle unexpected argument 'b'.",
    ]);
    const noFile = parseHaproxyConfig(`${DEFAULTS}backend be4\n  load-server-state-from-file global\n  server v1 127.0.0.1:1\n`);
    assert.deepEqual(noFile.warnings.map((w) => w.text), ["backend 'be4' configured to load server state file from global section 'server-state-file' directive. Unfortunately, 'server-state-file' is not set!"]);
  });

  it('switchyard -c loads the state files as haproxy -c does: their lines on stderr, "Warnings were found."', async () => {
    const file = join(dir, 'check.cfg');
    const state = join(dir, 'check.state');
    await writeFile(state, `${HEADER}2 web 1 s1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 1 - 0 0 - - 0\n`);
    await writeFile(file, `global\n  server-state-file ${state}\n${DEFAULTS}listen web\n  bind 127.0.0.1:18099\n  load-server-state-from-file global\n  server s1 127.0.0.1:1 check\n`);
    const report = await checkConfigFiles([file], { pid: 3, version: 'x', executable: 'switchyard' });
    assert.deepEqual(report.stdout, ['Warnings were found.', 'Configuration file is valid']);
    assert.deepEqual(report.stderr.slice(2), ['[WARNING]  (3) : config : Server web/s1 is DOWN, changed from server-state after a reload. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.']);
    assert.equal(report.exitCode, 0);
  });

  it('reads the global file even when no backend loads from it, and says when it cannot (as HAProxy 2.6.12)', async () => {
    const file = join(dir, 'unused.cfg');
    const missing = join(dir, 'no-such.state');
    await writeFile(file, `global\n  server-state-file ${missing}\n${DEFAULTS}listen web\n  bind 127.0.0.1:18099\n  server s1 127.0.0.1:1\n`);
    const report = await checkConfigFiles([file], { pid: 3, version: 'x', executable: 'switchyard' });
    assert.deepEqual([report.exitCode, report.stdout], [0, ['Warnings were found.', 'Configuration file is valid']]);
    assert.deepEqual(report.stderr.slice(2), [`[WARNING]  (3) : config : config: Can't open global server state file '${missing}': No such file or directory`]);
  });
});
