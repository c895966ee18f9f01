/**
 * The runtime API's commands: what each one does to the instance and the reply it gives, with HAProxy 2.6's
 * wording (recorded from `haproxy` 2.6.12 on the same commands). A reply is the command's output followed by
 * the empty line that ends every CLI response. Any words give a reply; nothing here throws.
 */
import net from 'node:net';
import type { Server } from '../../server.js';
import { parseAddress } from '../config/address.js';
import type { HaproxyBackend, HaproxyInstance } from '../build/instance.js';
import { serverOptionsOf } from '../config/library-options.js';
import { type HelpEntry, usageMessage } from './help.js';
import { splitWords, strtol } from './parse.js';
import { type ShowInfoFormat, showInfo } from './show-info.js';
import { parseShowStatArgs } from './show-stat-args.js';
import { showStatTyped } from './show-stat-typed.js';
import { filteredStatRecords, showServersState, showStat } from './views.js';
import { setServerAgent } from './agent-commands.js';
import { setServerCheck, setServerSsl } from './check-commands.js';
import { HAPROXY_SERVER_DEFAULTS } from '../config/draft.js';
import { invalidNameChar } from '../config/server-line.js';
import { parseServerKeywords } from '../config/server-keywords.js';
import type { DefaultServerSettings, ServerConfig } from '../config/types.js';

/** Access levels of a stats socket, lowest first. */
export type CliLevel = 'user' | 'operator' | 'admin';

const RANK: Readonly<Record<CliLevel, number>> = { user: 0, operator: 1, admin: 2 };

/** One connection's state: its level (lowered by `user`/`operator`), prompt mode, and whether it asked to quit. */
export interface CliSession {
  level: CliLevel;
  prompt: boolean;
  quit: boolean;
}

/** What commands need from the process around them. */
export interface CommandHost {
  readonly instance: HaproxyInstance;
  /** Clock time, ms. */
  now(): number;
  /** `[NOTICE]   (<pid>) : <message>` on stderr. */
  notice(message: string): void;
  /** `[ALERT]    (<pid>) : <message>` on stderr. */
  alert(message: string): void;
}

interface Command extends HelpEntry {
  readonly level: CliLevel;
  /** Returns the output (without the final empty line). */
  run(args: readonly string[], host: CommandHost, session: CliSession): string;
}

const PERMISSION_DENIED = 'Permission denied\n';
const REQUIRE_SERVER = "Require 'backend/server'.\n";
const SET_SERVER_USAGE =
  'usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n';

type Found = { readonly backend: HaproxyBackend; readonly server: Server } | { readonly error: 'require' | 'backend' | 'server' };

/** HAProxy's `cli_find_server()`: `<backend>/<server>`, split at the first slash. */
function findServer(host: CommandHost, arg: string | undefined): Found {
  const slash = arg === undefined ? -1 : arg.indexOf('/');
  if (arg === undefined || slash <= 0 || slash === arg.length - 1) return { error: 'require' };
  const backend = host.instance.backends.get(arg.slice(0, slash));
  if (backend === undefined) return { error: 'backend' };
  const server = backend.pool.find(arg.slice(slash + 1));
  if (server === undefined) return { error: 'server' };
  return { backend, server };
}

function notFound(f: { readonly error: 'require' | 'backend' | 'server' }, final = '\n'): string {
  if (f.error === 'require') return REQUIRE_SERVER.slice(0, -1) + final;
  return (f.error === 'backend' ? 'No such backend.' : 'No such server.') + final;
}

/** `set weight` / `set server … weight`: HAProxy's `server_parse_weight_change_request()`. */
function setWeight(backend: HaproxyBackend, server: Server, text: string | undefined): string {
  if (text === undefined || text === '') return 'Require <weight> or <weight%>.\n';
  const { value, rest } = strtol(text);
  if (value === undefined) return 'Empty weight string empty or preceded by garbage';
  let w = value;
  if (rest === '%') {
    if (w < 0) return 'Relative weight must be positive.\n';
    w = Math.min(256, Math.floor((server.initialWeight * Math.min(w, 25_600)) / 100));
  } else if (w < 0 || w > 256) {
    return 'Absolute weight can only be between 0 and 256 inclusive.\n';
  } else if (rest !== '') {
    return 'Trailing garbage in weight string';
  }
  if (w !== 0 && w !== server.initialWeight && !backend.dynamic) {
    return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n";
  }
  backend.pool.setWeight(server.name, w);
  return '';
}

function setAdmin(b: HaproxyBackend, s: Server, state: 'ready' | 'drain' | 'maint'): void {
  b.pool.setAdminState(s.name, state);
}

/** `set server <b>/<s> <what> …`. */
function setServer(args: readonly string[], host: CommandHost): string {
  const f = findServer(host, args[2]);
  if ('error' in f) return notFound(f);
  const { backend: b, server: s } = f;
  const value = args[4];
  switch (args[3]) {
    case 'state':
      if (value !== 'ready' && value !== 'drain' && value !== 'maint') return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
      setAdmin(b, s, value);
      return '';
    case 'health':
      if (value !== 'up' && value !== 'stopping' && value !== 'down') return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n";
      b.pool.setHealth(s.name, value);
      return '';
    case 'weight':
      return setWeight(b, s, value);
    case 'agent': case 'agent-addr': case 'agent-port': case 'agent-send':
      return setServerAgent(b, s, args[3], args.slice(4));
    case 'addr':
      return setAddr(b, s, args);
    case 'fqdn':
      // switchyard's config face has no resolvers: HAProxy's answer for a server without them.
      if (value === undefined || value === '') return 'set server <b>/<s> fqdn requires a FQDN.\n';
      return 'set server <b>/<s> fqdn failed because no resolution is configured.\n';
    case 'check-addr': case 'check-port':
      return setServerCheck(b, s, args[3], args.slice(4));
    case 'ssl':
      return setServerSsl();
    default:
      return SET_SERVER_USAGE;
  }
}

/**
 * `set server <b>/<s> addr <ip> [port <p>]`: HAProxy's `srv_update_addr_port()` and its reply, e.g.
 * `IP changed from '127.0.0.1' to '127.0.0.2', port changed from '8001' to '8002' by 'stats socket command'`. A
 * numeric address only; the port is C's `strtol()` kept to 16 bits (99999 gives 34463), as HAProxy does.
 */
function setAddr(b: HaproxyBackend, s: Server, args: readonly string[]): string {
  const addr = args[4];
  if (addr === undefined || addr === '') return 'set server <b>/<s> addr requires an address and optionally a port.\n';
  const by = " by 'stats socket command'\n";
  if (net.isIP(addr) === 0) return `Invalid addr '${addr}'${by}`;
  let host = s.host;
  let msg: string;
  if (canonicalIp(s.host) === canonicalIp(addr)) {
    msg = 'no need to change the addr';
  } else {
    host = addr;
    msg = `IP changed from '${s.host}' to '${addr}'`;
  }
  let port = s.port;
  const text = args[5] === 'port' ? (args[6] ?? '') : undefined;
  if (text !== undefined) {
    msg += ', ';
    const { value } = strtol(text);
    const sign = text.trimStart()[0];
    if (value === undefined) msg += `problem converting port '${text}' to an int`;
    else if (sign === '+' || sign === '-') msg += 'port offsets (+N, -N) are not supported in switchyard';
    else if ((value & 0xffff) === 0) msg += "port 0 (the client's destination port) is not supported in switchyard";
    else if ((value & 0xffff) === s.port) msg += 'no need to change the port';
    else {
      port = value & 0xffff;
      msg += `port changed from '${s.port}' to '${port}'`;
    }
  }
  // The pool keeps the server's counters, health and leases; open connections stay where they are.
  b.pool.setAddress(s.name, host, port);
  return msg + by;
}

/** An IP address in one spelling (IPv6 compressed, lower case), or the text itself when it is not one. */
function canonicalIp(text: string): string {
  return net.isIPv6(text) ? new URL(`http://[${text}]/`).hostname : text;
}

/** Keywords a server added at runtime cannot take in switchyard (its checker and proxy settings are fixed at build). */
const ADD_SERVER_FIXED: readonly (keyof DefaultServerSettings)[] = [
  'interMs', 'fastinterMs', 'downinterMs', 'checkPort', 'checkAddr', 'observe', 'errorLimit', 'onError',
];

/** `add server <b>/<s> <addr>[:<port>] [keywords…]`: created in maintenance, checks off until `enable health`. */
function addServer(args: readonly string[], host: CommandHost): string {
  const arg = args[2];
  const slash = arg === undefined ? -1 : arg.indexOf('/');
  if (arg === undefined || slash <= 0 || slash === arg.length - 1) return REQUIRE_SERVER.slice(0, -1);
  const backend = host.instance.backends.get(arg.slice(0, slash));
  if (backend === undefined) return 'No such backend.';
  if (!backend.dynamic) return 'Backend must use a dynamic load balancing to support dynamic servers.';
  const name = arg.slice(slash + 1);
  const who = `'server ${backend.name}/${name}'`;
  const fail = (message: string): string => {
    host.alert(`CLI : ${who} : ${message}`);
    return `${message}\n`;
  };
  const bad = invalidNameChar(name);
  if (bad !== undefined) return fail(`character '${bad}' is not permitted in server name '${name}'.`);
  const addr = args[3];
  if (addr === undefined || addr === '') {
    host.alert("CLI : 'server' expects <name> and <addr>[:<port>] as arguments.");
    return "'server' expects <name> and <addr>[:<port>] as arguments.\n";
  }
  if (backend.pool.find(name) !== undefined) return fail('Already exists a server with the same name in backend.');
  const parsed = parseAddress(addr, { allowRange: false, prefix: '' });
  if (!parsed.ok) return fail(parsed.missingPort === true ? `a port is required in switchyard for '${addr}' (HAProxy would use the client's destination port).` : `${parsed.message}\n`);
  const errors: string[] = [];
  const kw = parseServerKeywords(args.slice(4), name, (_k, message) => errors.push(message));
  if (errors[0] !== undefined) return fail(errors[0]);
  for (const key of ADD_SERVER_FIXED) {
    if (kw.settings[key] !== undefined) {
      return fail(`this keyword is not supported on 'add server' in switchyard (${String(key)}): a server added at runtime takes the backend's checker and proxy settings.`);
    }
  }
  const settings = { ...HAPROXY_SERVER_DEFAULTS, ...kw.settings };
  const config = {
    ...settings, name, host: parsed.host, port: parsed.port, ...(kw.id === undefined ? {} : { id: kw.id }),
    source: { file: 'CLI', line: 0 },
  } as ServerConfig;
  try {
    const server = backend.pool.add({ ...serverOptionsOf(config), disabled: true });
    // HAProxy's `add server` forces maintenance (an admin state, not the configuration's `disabled`) and leaves
    // the checks off until `enable health`.
    backend.pool.setAdminState(server.name, 'maint');
    if (server.check) backend.pool.setChecksEnabled(server.name, false);
  } catch (err) {
    return fail(`${(err as Error).message}.`);
  }
  host.notice(`CLI : ${who} : New server registered.`);
  return 'New server registered.\n';
}

/** `del server <b>/<s>`: only a server in maintenance with no connection. */
function delServer(args: readonly string[], host: CommandHost): string {
  const f = findServer(host, args[2]);
  if ('error' in f) return notFound(f, '');
  const { backend, server } = f;
  if (server.adminState !== 'maint') return 'Only servers in maintenance mode can be deleted.';
  if (server.currentConnections > 0 || server.queued > 0) return 'Server still has connections attached to it, cannot remove it.';
  backend.pool.remove(server.name);
  host.notice('CLI : Server deleted.');
  return 'Server deleted.';
}

function health(args: readonly string[], host: CommandHost, enable: boolean): string {
  const f = findServer(host, args[2]);
  if ('error' in f) return notFound(f);
  if (!f.server.check) return enable ? 'Health check was not configured on this server, cannot enable.\n' : '';
  f.backend.pool.setChecksEnabled(f.server.name, enable);
  return '';
}

/** `enable agent` / `disable agent <b>/<s>` (HAProxy 2.6's replies): the agent's columns go empty while it is off. */
function agent(args: readonly string[], host: CommandHost, enable: boolean): string {
  const f = findServer(host, args[2]);
  if ('error' in f) return notFound(f);
  if (!f.server.agent) return enable ? 'Agent was not configured on this server, cannot enable.\n' : '';
  f.backend.pool.reportAgent(f.server, { enabled: enable });
  return '';
}

function showStatCommand(args: readonly string[], host: CommandHost): string {
  const r = parseShowStatArgs(args.slice(2), host.instance);
  if (typeof r === 'string') return r;
  // HAProxy adds descriptions to the typed form only (the CSV and the JSON stay as they are).
  if (r.desc && r.format === 'typed') return `'show stat desc' is not supported in switchyard: the descriptions are HAProxy's text.\n`;
  return r.format === 'csv' ? showStat(host.instance, r.filter) : showStatTyped(filteredStatRecords(host.instance, r.filter), r.format);
}

/** `show info [json|typed] [float] [desc]`: the last form named wins, as in HAProxy; `desc` is refused but in JSON (which has none). */
function showInfoCommand(args: readonly string[], host: CommandHost): string {
  let [format, float, desc] = ['text' as ShowInfoFormat, false, false];
  for (const a of args.slice(2)) {
    if (a === 'json' || a === 'typed') format = a;
    else if (a === 'float') float = true;
    else if (a === 'desc') desc = true;
  }
  if (desc && format !== 'json') return `'show info desc' is not supported in switchyard: the descriptions are HAProxy's text.\n`;
  return showInfo(host.instance, host.now(), format, float);
}

/**
 * The commands, in the order HAProxy registers them; `help` sorts them. A usage line lists only what switchyard
 * does (HAProxy's `desc` forms of `show stat typed` and `show info` are answered "not supported").
 */
const COMMANDS: readonly Command[] = [
  {
    words: ['show', 'stat'], usage: 'show stat [json|no-maint|typed|up]*     : report counters for each proxy and server', level: 'user',
    run: (args, host) => showStatCommand(args, host),
  },
  {
    words: ['show', 'info'], usage: 'show info [float|json|typed]*           : report information about the running process', level: 'user',
    run: (args, host) => showInfoCommand(args, host),
  },
  {
    words: ['show', 'servers', 'state'], usage: 'show servers state [<backend>]          : dump volatile server information (all or for a single backend)', level: 'user',
    run: (args, host) => showServersState(host.instance, args[3], host.now()) ?? "Can't find backend.\n",
  },
  { words: ['show', 'version'], usage: 'show version                            : show version of the current process', level: 'user', run: (_a, host) => `${host.instance.version}\n` },
  { words: ['show', 'cli', 'level'], usage: 'show cli level                          : display the level of the current CLI session', level: 'user', run: (_a, _h, s) => `${s.level}\n` },
  {
    words: ['get', 'weight'], usage: "get weight <bk>/<srv>                   : report a server's current weight", level: 'user',
    run: (args, host) => {
      const f = findServer(host, args[2]);
      return 'error' in f ? notFound(f) : `${f.server.weight} (initial ${f.server.initialWeight})\n`;
    },
  },
  {
    words: ['set', 'weight'], usage: "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)", level: 'admin',
    run: (args, host) => {
      const f = findServer(host, args[2]);
      return 'error' in f ? notFound(f) : setWeight(f.backend, f.server, args[3]);
    },
  },
  { words: ['set', 'server'], usage: "set server <bk>/<srv> [opts]            : change a server's state, health, weight or address", level: 'admin', run: (args, host) => setServer(args, host) },
  {
    words: ['set', 'maxconn', 'server'], usage: "set maxconn server <bk>/<srv>           : change a server's maxconn setting", level: 'admin',
    run: (args, host) => {
      const f = findServer(host, args[3]);
      if ('error' in f) return notFound(f);
      const text = args[4];
      if (text === undefined || text === '') return 'Require <maxconn>.\n';
      const { value, rest } = strtol(text);
      if (value === undefined) return 'maxconn string empty or preceded by garbage';
      if (rest !== '') return 'Trailing garbage in maxconn string';
      f.backend.pool.setLimits(f.server.name, { maxconn: Math.max(0, Math.min(value, 2_147_483_647)) });
      return '';
    },
  },
  {
    words: ['enable', 'server'], usage: "enable server  (DEPRECATED)             : enable a disabled server (use 'set server' instead)", level: 'admin',
    run: (args, host) => {
      const f = findServer(host, args[2]);
      if ('error' in f) return notFound(f);
      setAdmin(f.backend, f.server, 'ready');
      return '';
    },
  },
  {
    words: ['disable', 'server'], usage: "disable server (DEPRECATED)             : disable a server for maintenance (use 'set server' instead)", level: 'admin',
    run: (args, host) => {
      const f = findServer(host, args[2]);
      if ('error' in f) return notFound(f);
      setAdmin(f.backend, f.server, 'maint');
      return '';
    },
  },
  { words: ['enable', 'health'], usage: 'enable health                           : enable health checks', level: 'admin', run: (args, host) => health(args, host, true) },
  { words: ['disable', 'health'], usage: 'disable health                          : disable health checks', level: 'admin', run: (args, host) => health(args, host, false) },
  { words: ['enable', 'agent'], usage: 'enable agent                            : enable agent checks', level: 'admin', run: (args, host) => agent(args, host, true) },
  { words: ['disable', 'agent'], usage: 'disable agent                           : disable agent checks', level: 'admin', run: (args, host) => agent(args, host, false) },
  { words: ['add', 'server'], usage: 'add server <bk>/<srv>                   : create a new server', level: 'admin', run: (args, host) => addServer(args, host) },
  { words: ['del', 'server'], usage: 'del server <bk>/<srv>                   : remove a dynamically added server', level: 'admin', run: (args, host) => delServer(args, host) },
  {
    words: ['operator'], usage: 'operator                                : lower the level of the current CLI session to operator', level: 'operator',
    run: (_a, _h, s) => {
      s.level = 'operator';
      return '';
    },
  },
  {
    words: ['user'], usage: 'user                                    : lower the level of the current CLI session to user', level: 'user',
    run: (_a, _h, s) => {
      s.level = 'user';
      return '';
    },
  },
];

/** Every command's usage line and the `help`/`prompt`/`quit` lines, as `help` prints them at level admin. */
export function commandUsages(): string[] {
  return usageMessage(COMMANDS, [], true).trimEnd().split('\n').slice(1).map((l) => l.trim());
}

/** Runs one command (the text between `;`) and returns its whole reply, final empty line included. */
export function runCommand(text: string, host: CommandHost, session: CliSession): string {
  const words = splitWords(text);
  const first = words[0];
  if (first === 'quit') {
    session.quit = true;
    return '';
  }
  if (first === 'prompt') {
    session.prompt = !session.prompt;
    return '\n';
  }
  if (first === 'help') return `${usageMessage(COMMANDS, words.slice(1), true)}\n`;
  const command = COMMANDS.find((c) => c.words.every((w, i) => words[i] === w));
  if (command === undefined) return `${usageMessage(COMMANDS, words, false)}\n`;
  if (RANK[session.level] < RANK[command.level]) return `${PERMISSION_DENIED}\n`;
  try {
    return `${command.run(words, host, session)}\n`;
  } catch (err) {
    // A state change the objects refuse (it should not happen after the checks above): say so, keep serving.
    return `${(err as Error).message}\n\n`;
  }
}
