import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { DnsSource } from '../../src/discovery/dns-source.js';
import { followServers } from '../../src/discovery/follow-servers.js';
import { LbError } from '../../src/errors.js';
import { buildFromHaproxyConfig } from '../../src/haproxy/from-config.js';
import { parseHaproxyConfig } from '../../src/haproxy/config/parser.js';
import { type CliLevel, type CliSession, type CommandHost, runCommand } from '../../src/haproxy/runtime/commands.js';
import { splitCommands } from '../../src/haproxy/runtime/parse.js';
import { ActiveChecker } from '../../src/health/active-checker.js';
import { PassiveObserver } from '../../src/health/passive-observer.js';
import { httpProbe } from '../../src/health/probes/http.js';
import { sendExpectProbe } from '../../src/health/probes/send-expect.js';
import { tcpConnectProbe } from '../../src/health/probes/tcp-connect.js';
import { Pool } from '../../src/pool.js';
import { type ProxyEndpoint, PROXY_V2_SIGNATURE, encodeProxyV1, encodeProxyV2 } from '../../src/proxy/proxy-protocol.js';
import { TcpProxy } from '../../src/proxy/tcp-proxy.js';
import { anyText, configLike, mutatedWalkthrough, parsesOrRejectsCleanly } from '../helpers/config-fuzz.js';
import { report, size } from './support.js';

/**
 * Fuzzing with fast-check: the PROXY protocol encoders, parseHaproxyConfig (its property and generators are shared
 * with test/haproxy/config/fuzz.test.ts, which `npm test` runs at a few hundred inputs), the runtime API's command
 * parser and every public constructor.
 */
const RUNS = size(2_000, 50_000);
/** Hang guard per input, ms: anything slower means a super-linear path. */
const MAX_MS_PER_INPUT = 500;
const tried: Record<string, number> = {};

// --- An independent PROXY protocol decoder, from haproxy.org/download/2.6/doc/proxy-protocol.txt ---------------

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

function ipv6Bytes(text: string): number[] | undefined {
  let head = text;
  const tailWords: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = ipv4Bytes(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tailWords.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((h) => (/^[0-9a-fA-F]{1,4}$/.test(h) ? parseInt(h, 16) : NaN)));
  const a = words(halves[0]!);
  const b = halves.length === 2 ? words(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - a.length - b.length - tailWords.length : 0;
  if (fill < (halves.length === 2 ? 1 : 0)) return undefined;
  const all = [...a, ...new Array<number>(fill).fill(0), ...b, ...tailWords];
  if (all.length !== 8 || all.some((w) => Number.isNaN(w))) return undefined;
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** What the spec says the endpoint is: family and 4 or 16 address bytes, or undefined when it cannot be sent. */
function expected(end: ProxyEndpoint): { family: 4 | 6; bytes: number[]; port: number } | undefined {
  const { port } = end;
  let address = end.address;
  if (address === undefined || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  address = address.split('%')[0]!;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const v4 = ipv4Bytes(mapped?.[1] ?? address);
  if (v4 !== undefined) return { family: 4, bytes: v4, port };
  const v6 = ipv6Bytes(address);
  return v6 === undefined ? undefined : { family: 6, bytes: v6, port };
}

function decodeV1(buf: Buffer): { proto: string; src?: number[] | undefined; dst?: number[] | undefined; sport?: number; dport?: number } {
  assert.ok(buf.length <= 107, 'a v1 line is at most 107 bytes');
  const m = /^PROXY (TCP4|TCP6|UNKNOWN)(?: (\S+) (\S+) (\d{1,5}) (\d{1,5}))?\r\n$/.exec(buf.toString('latin1'));
  assert.ok(m !== null, `a v1 line: ${JSON.stringify(buf.toString('latin1'))}`);
  if (m[1] === 'UNKNOWN') return { proto: 'UNKNOWN' };
  const parse = m[1] === 'TCP4' ? ipv4Bytes : ipv6Bytes;
  for (const p of [m[4]!, m[5]!]) assert.ok(/^(0|[1-9]\d*)$/.test(p) && Number(p) <= 65535, `a port without leading zeros: ${p}`);
  return { proto: m[1]!, src: parse(m[2]!), dst: parse(m[3]!), sport: Number(m[4]), dport: Number(m[5]) };
}

function decodeV2(buf: Buffer): { command: 'LOCAL' | 'PROXY'; family: number; src?: number[]; dst?: number[]; sport?: number; dport?: number } {
  assert.ok(buf.subarray(0, 12).equals(PROXY_V2_SIGNATURE), 'the signature');
  const verCmd = buf[12]!;
  assert.equal(verCmd >> 4, 2, 'version 2');
  const famProto = buf[13]!;
  const len = buf.readUInt16BE(14);
  assert.equal(buf.length, 16 + len, 'the length field covers the rest');
  if ((verCmd & 0xf) === 0) return { command: 'LOCAL', family: famProto };
  assert.equal(verCmd & 0xf, 1, 'PROXY command');
  if (famProto === 0x11) {
    assert.ok(len >= 12);
    return { command: 'PROXY', family: 4, src: [...buf.subarray(16, 20)], dst: [...buf.subarray(20, 24)], sport: buf.readUInt16BE(24), dport: buf.readUInt16BE(26) };
  }
  assert.equal(famProto, 0x21, 'TCP over IPv6');
  assert.ok(len >= 36);
  return { command: 'PROXY', family: 6, src: [...buf.subarray(16, 32)], dst: [...buf.subarray(32, 48)], sport: buf.readUInt16BE(48), dport: buf.readUInt16BE(50) };
}

const mapped4 = (b: number[]): number[] => [...new Array<number>(10).fill(0), 0xff, 0xff, ...b];

const port = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 65535 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 65536, 1.5, NaN, undefined) });
const address = fc.oneof(
  { weight: 4, arbitrary: fc.ipV4() },
  { weight: 4, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4().map((a) => `::ffff:${a}`) },
  { weight: 1, arbitrary: fc.ipV4().map((a) => `::FFFF:${a}`) },
  { weight: 1, arbitrary: fc.tuple(fc.ipV6(), fc.stringMatching(/^[a-z0-9]{1,8}$/)).map(([a, z]) => `${a}%${z}`) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 50 }), fc.ipV4Extended(), fc.constant(undefined)) },
);
const endpoint = fc.record({ address, port }) as fc.Arbitrary<ProxyEndpoint>;

describe('fuzz: PROXY protocol encoders against an independent decoder', () => {
  it('v1: any two endpoints give a line the spec decodes back to the same addresses and ports, or UNKNOWN when they cannot be sent', () => {
    fc.assert(fc.property(endpoint, endpoint, (src, dst) => {
      tried['proxy-v1'] = (tried['proxy-v1'] ?? 0) + 1;
      const d = decodeV1(encodeProxyV1(src, dst));
      const es = expected(src);
      const ed = expected(dst);
      if (es === undefined || ed === undefined || es.family !== ed.family) {
        assert.equal(d.proto, 'UNKNOWN');
        return;
      }
      assert.equal(d.proto, es.family === 4 ? 'TCP4' : 'TCP6');
      assert.deepEqual([d.src, d.dst, d.sport, d.dport], [es.bytes, ed.bytes, es.port, ed.port]);
    }), { numRuns: RUNS });
  });

  it('v2: any two endpoints give a header the spec decodes back (mixed families as IPv4-mapped IPv6), or LOCAL when they cannot be sent', () => {
    fc.assert(fc.property(endpoint, endpoint, (src, dst) => {
      tried['proxy-v2'] = (tried['proxy-v2'] ?? 0) + 1;
      const d = decodeV2(encodeProxyV2(src, dst));
      const es = expected(src);
      const ed = expected(dst);
      if (es === undefined || ed === undefined) {
        assert.equal(d.command, 'LOCAL');
        assert.equal(d.family, 0);
        return;
      }
      const family = es.family === 4 && ed.family === 4 ? 4 : 6;
      assert.equal(d.family, family);
      const bytes = (e: typeof es): number[] => (family === 6 && e.family === 4 ? mapped4(e.bytes) : e.bytes);
      assert.deepEqual([d.src, d.dst, d.sport, d.dport], [bytes(es), bytes(ed), es.port, ed.port]);
    }), { numRuns: RUNS });
  });
});

// --- The configuration parser ------------------------------------------------------------------------------------

describe('fuzz: parseHaproxyConfig returns or throws an ERR_LB_CONFIG LbError with line numbers, in bounded time', () => {
  const cases = [
    ['config-any-text', 'any string', anyText],
    ['config-word-soup', 'configuration-like word soup', configLike],
    ['config-mutated', 'mutated copies of the walk-through', mutatedWalkthrough],
  ] as const;
  for (const [name, what, arbitrary] of cases) {
    it(what, () => {
      fc.assert(fc.property(arbitrary, (text: string) => {
        tried[name] = (tried[name] ?? 0) + 1;
        parsesOrRejectsCleanly(text);
      }), { numRuns: RUNS });
    });
  }
});

// --- The runtime API's command parser ---------------------------------------------------------------------------

/** Never started: nothing listens on these ports. */
const CONFIG = `
global
    stats socket ipv4@127.0.0.1:9 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend be
    balance roundrobin
    server s1 127.0.0.1:1 check inter 1s
    server s2 127.0.0.1:2 weight 3
backend other
    server o1 127.0.0.1:3
frontend fe
    bind 127.0.0.1:9
    default_backend be
`;

const CLI_WORDS = [
  'show', 'stat', 'info', 'servers', 'state', 'help', 'prompt', 'quit', 'user', 'operator', 'admin', 'set', 'get', 'weight', 'server',
  'enable', 'disable', 'health', 'agent', 'addr', 'port', 'maint', 'drain', 'ready', 'up', 'down', 'stopping', 'add', 'del', 'shutdown',
  'sessions', 'clear', 'counters', 'all', 'maxconn', 'frontend', 'backend', 'be/s1', 'be/s2', 'other/o1', 'be/', '/s1', 'be', 'fe', 'nope/x',
  '0', '1', '256', '257', '-1', '50%', '999999999999999999999', '127.0.0.1', '::1', 'check', 'inter', '10', 'typed', 'json', '-1 2 3',
  ';', '\\;', '\\', '"', "'", '\t', '', ' ', '\u0000', '\u00ff', '\ud800', 'é', '%s%n', '${x}', '__proto__', 'constructor',
];
const cliLine = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...CLI_WORDS), { maxLength: 14 }).map((ws) => ws.join(' ')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')) },
);

function instance() {
  const clock = new ManualClock(1_000_000);
  const haproxy = buildFromHaproxyConfig(parseHaproxyConfig(CONFIG), {
    clock, statsSockets: false, warnings: false, stderr: () => {}, stdout: () => {}, date: () => new Date(0), pid: 1,
  });
  const host: CommandHost = { instance: haproxy, now: () => clock.now(), notice: () => {}, alert: () => {} };
  return { haproxy, host };
}

function stateOf(haproxy: ReturnType<typeof instance>['haproxy']): string {
  return JSON.stringify([...haproxy.backends.values()].map((b) => b.pool.snapshot()));
}

/** Runs a request line as the runtime API does; every command must give a reply, in bounded time. */
function runLine(host: CommandHost, session: CliSession, line: string): string {
  const start = performance.now();
  let reply = '';
  for (const command of splitCommands(line)) {
    const out = runCommand(command, host, session);
    assert.equal(typeof out, 'string');
    reply += out;
    if (session.quit) break;
  }
  const ms = performance.now() - start;
  assert.ok(ms < MAX_MS_PER_INPUT, `${ms.toFixed(0)} ms for ${JSON.stringify(line.slice(0, 80))}`);
  return reply;
}

describe('fuzz: runtime API command parser', () => {
  it('answers any line at any level with a reply, never an exception, in bounded time', () => {
    const { haproxy, host } = instance();
    try {
      fc.assert(fc.property(fc.constantFrom<CliLevel>('user', 'operator', 'admin'), fc.array(cliLine, { minLength: 1, maxLength: 4 }), (level, lines) => {
        const session: CliSession = { level, prompt: false, quit: false };
        for (const line of lines) {
          tried['runtime-cli'] = (tried['runtime-cli'] ?? 0) + 1;
          runLine(host, session, line);
        }
      }), { numRuns: RUNS });
    } finally {
      haproxy.destroy();
    }
  });

  it('never changes state from a level user session, whatever it is sent', () => {
    const { haproxy, host } = instance();
    try {
      const before = stateOf(haproxy);
      fc.assert(fc.property(fc.array(cliLine, { minLength: 1, maxLength: 4 }), (lines) => {
        const session: CliSession = { level: 'user', prompt: false, quit: false };
        for (const line of lines) runLine(host, session, line);
        assert.equal(stateOf(haproxy), before);
        assert.equal(session.level, 'user', 'a session never raises its own level');
      }), { numRuns: RUNS });
      // The same commands do change state at level admin: the property above could fail.
      runLine(host, { level: 'admin', prompt: false, quit: false }, 'disable server be/s1');
      assert.notEqual(stateOf(haproxy), before);
    } finally {
      haproxy.destroy();
    }
  });
});

// --- Every public constructor's options -----------------------------------------------------------------------

const ODD_VALUES = [
  undefined, null, NaN, Infinity, -Infinity, -1, 0, 1, 2, 0.5, 2 ** 31, 2 ** 53 + 2, -0, '', 'x', '1', 'roundrobin', 'leastconn', 'source',
  'layer4', 'none', 'fastinter', 'fail-check', 'sudden-death', 'mark-down', 'up', 'down', 'drain', 'maint', 'ready', '127.0.0.1', '::1',
  'v1', 'v2', 'shutdown-sessions', 'A', 'SRV', 'example.com', true, false, [], [1], {}, { a: 1 }, () => {}, 10n, new Date(0),
];
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ODD_VALUES) },
  { weight: 2, arbitrary: fc.integer({ min: -10, max: 100_000 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constant(new ManualClock()) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...ODD_VALUES), { maxLength: 3 }) },
);
function options(keys: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.dictionary(fc.constantFrom(...keys, 'bogus', '__proto__'), value, { maxKeys: 6 }) },
    { weight: 1, arbitrary: value },
  );
}

const SERVER_KEYS = ['name', 'host', 'port', 'id', 'weight', 'backup', 'maxconn', 'maxqueue', 'disabled', 'check', 'rise', 'fall', 'initState', 'slowstartMs'];
const server = fc.dictionary(fc.constantFrom(...SERVER_KEYS), value, { maxKeys: 8 }).map((o) => ({ name: 's', host: '127.0.0.1', port: 1, ...o }));

/**
 * Calls `make`: it returns a working object or throws ERR_LB_INVALID_ARG (or, where `unknownServer` allows it,
 * ERR_LB_UNKNOWN_SERVER about a `servers.<name>` override naming no server of the pool); anything else fails.
 */
async function validOrInvalidArg(what: string, make: () => unknown, use: (made: any) => unknown = () => {}, unknownServer = false): Promise<void> {
  tried[what] = (tried[what] ?? 0) + 1;
  let made: unknown;
  try {
    made = make();
  } catch (err) {
    assert.ok(LbError.is(err), `${what}: only LbError is thrown, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    if (unknownServer && err.code === 'ERR_LB_UNKNOWN_SERVER') {
      assert.match(err.message, /^servers\..* has no server named /, `${what}: ${err.message}`);
      return;
    }
    assert.equal(err.code, 'ERR_LB_INVALID_ARG', `${what}: ${err.message}`);
    return;
  }
  assert.ok(made !== undefined && made !== null, `${what}: an object`);
  await use(made);
}

/** A pool with one server whose name the generators cannot produce (a duplicate name is a different error). */
function basePool(): Pool {
  return new Pool('p', { servers: [{ name: 'base-server-0', host: '127.0.0.1', port: 1 }] });
}

describe('fuzz: every public constructor takes any options and returns a valid object or throws ERR_LB_INVALID_ARG', () => {
  const runs = { numRuns: Math.max(200, RUNS / 4) };

  it('Pool and Server (through pool.add)', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 5 }), value), options(['servers', 'allBackups', 'clock']), server, async (name, o, s) => {
      await validOrInvalidArg('Pool', () => new Pool(name as string, o as never), (p: Pool) => p.snapshot());
      const pool = basePool();
      await validOrInvalidArg('pool.add', () => pool.add(s as never), () => assert.equal(pool.servers.length, 2));
      await validOrInvalidArg('Pool({ servers })', () => new Pool('q', { servers: [s as never] }), (p: Pool) => p.snapshot());
    }), runs);
  });

  it('Balancer', async () => {
    await fc.assert(fc.asyncProperty(options(['strategy', 'timeoutQueueMs', 'clock', 'random']), async (o) => {
      await validOrInvalidArg('Balancer', () => new Balancer(basePool(), o as never), (b: Balancer) => {
        b.stats();
        b.destroy();
      });
    }), runs);
  });

  it('ActiveChecker and the probe factories', async () => {
    const keys = ['probe', 'interMs', 'fastinterMs', 'downinterMs', 'timeoutCheckMs', 'timeoutConnectMs', 'spreadChecks', 'maxSpreadChecksMs', 'concurrency', 'servers', 'autoStart', 'clock', 'random', 'port', 'addr'];
    await fc.assert(fc.asyncProperty(options(keys), options(['method', 'path', 'version', 'headers', 'expectStatus']), fc.array(options(['kind', 'data', 'hex', 'match', 'pattern', 'port', 'addr']), { maxLength: 3 }), async (o, h, steps) => {
      await validOrInvalidArg('ActiveChecker', () => new ActiveChecker(basePool(), { ...(o as object), clock: new ManualClock() } as never), (c: ActiveChecker) => {
        c.stats();
        return c.close();
      }, true);
      await validOrInvalidArg('httpProbe', () => httpProbe(h as never), (p) => assert.equal(typeof p, 'function'));
      await validOrInvalidArg('sendExpectProbe', () => sendExpectProbe(steps as never), (p) => assert.equal(typeof p, 'function'));
      await validOrInvalidArg('tcpConnectProbe', () => tcpConnectProbe(), (p) => assert.equal(typeof p, 'function'));
    }), runs);
  });

  it('PassiveObserver', async () => {
    await fc.assert(fc.asyncProperty(options(['observe', 'errorLimit', 'onError', 'servers']), async (o) => {
      await validOrInvalidArg('PassiveObserver', () => new PassiveObserver(basePool(), o as never), (p: PassiveObserver) => p.close(), true);
    }), runs);
  });

  it('TcpProxy', async () => {
    const keys = ['timeoutConnectMs', 'retries', 'redispatch', 'timeoutQueueMs', 'observer', 'clock', 'timeoutClientMs', 'timeoutServerMs', 'timeoutTunnelMs', 'sendProxy', 'onMarkedDown', 'onMarkedUp', 'noDelay', 'key'];
    await fc.assert(fc.asyncProperty(options(keys), async (o) => {
      const balancer = new Balancer(basePool());
      await validOrInvalidArg('TcpProxy', () => new TcpProxy(balancer, o as never), (p: TcpProxy) => {
        p.stats();
        return p.close();
      });
      balancer.destroy();
    }), runs);
  });

  it('followServers and DnsSource', async () => {
    const follow = ['defaults', 'nameOf', 'retryMs', 'maxRetryMs', 'allowEmpty', 'adoptExisting', 'clock', 'signal'];
    const dns = ['name', 'type', 'port', 'servers', 'minRefreshMs', 'maxRefreshMs', 'timeoutMs', 'srvPriority', 'clock'];
    await fc.assert(fc.asyncProperty(options(follow), options(dns), async (o, d) => {
      // A source that never yields: the discovery only validates and starts waiting.
      const never = { watch: (signal: AbortSignal) => ({ async *[Symbol.asyncIterator]() { await new Promise((resolve) => signal.addEventListener('abort', resolve)); } }) };
      await validOrInvalidArg('followServers', () => followServers(basePool(), never as never, { ...(o as object), clock: new ManualClock() } as never), (x: { close(): Promise<void> }) => x.close());
      await validOrInvalidArg('DnsSource', () => new DnsSource(d as never), (x: object) => assert.equal(typeof x, 'object'));
    }), runs);
  });

  it('reports the number of inputs tried', () => {
    report('fuzz', { runsPerProperty: RUNS, tried, failures: 0 });
  });
});
