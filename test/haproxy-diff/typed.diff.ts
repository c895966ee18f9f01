/**
 * Differential scenarios: `show stat typed|json` (with the `<iid> <type> <sid>` filter and `up`) and
 * `show info float` against Debian's haproxy 2.6.12. The build-dependent columns after HAProxy's `-` column
 * (positions 103 and up: its stats modules) are left out; values that differ by nature are masked.
 */
import { diffScenarios, listen, type Scenario, sequence, stat } from './harness.js';

/** Positions of HAProxy's stats-module columns (after `-`), which describe its build. */
const FIRST_MODULE_POS = 103;

/**
 * The columns switchyard fills in the CSV for each row kind (HAProxy fills more: docs/haproxy.md); both engines'
 * output is cut to these, so every field switchyard prints is compared: position, tags, type and value.
 */
const COMMON = ['pxname', 'svname', 'scur', 'stot', 'bin', 'bout', 'status', 'pid', 'iid', 'sid', 'type', 'mode'];
const SERVER = [...COMMON, 'qcur', 'qmax', 'econ', 'wretr', 'wredis', 'weight', 'act', 'bck', 'lbtot', 'uweight'];
const COMPARED: Readonly<Record<string, ReadonlySet<string>>> = {
  F: new Set([...COMMON, 'conn_tot']),
  S: new Set([...SERVER, 'smax', 'chkfail', 'chkdown', 'lastchg', 'downtime', 'check_status', 'check_duration', 'check_desc', 'check_rise', 'check_fall', 'check_health', 'addr', 'srv_abrt']),
  B: new Set([...SERVER, 'chkdown', 'algo']),
};

/** Values that differ by nature: ages, durations, and the frontend's session limit (derived from the fd limit). */
const MASKED = new Set(['lastchg', 'lastsess', 'check_duration', 'downtime']);

/** `show stat typed` lines without the module columns, the values of {@link MASKED} columns replaced by `*`. */
function typed(reply: string): string[] {
  return reply.split('\n').filter((l) => l !== '').flatMap((l) => {
    const m = /^([FBS])\.(\d+)\.(\d+)\.(\d+)\.([^.]+)\.1:(\w+):(\w+):(.*)$/.exec(l);
    if (m === null) return [`unparsed: ${l}`];
    if (Number(m[4]) >= FIRST_MODULE_POS || COMPARED[m[1] ?? '']?.has(m[5] ?? '') !== true) return [];
    return [MASKED.has(m[5] ?? '') ? l.slice(0, l.length - (m[8] ?? '').length) + '*' : l];
  });
}

interface JsonField { objType: string; proxyId: number; id: number; field: { pos: number; name: string }; value: { type: string; value: unknown } }

/** `show stat json` the same way: one line per row, its fields as compact JSON. */
function json(reply: string): string[] {
  const rows = JSON.parse(reply) as JsonField[][];
  const kept = (f: JsonField): boolean => f.field.pos < FIRST_MODULE_POS && COMPARED[f.objType[0] ?? '']?.has(f.field.name) === true;
  return rows.map((row) => JSON.stringify(row.filter(kept).map((f) =>
    MASKED.has(f.field.name) ? { ...f, value: { ...f.value, value: '*' } } : f)));
}

const scenarios: Scenario[] = [
  {
    name: 'show stat typed and json: fields, positions, tags and types as HAProxy 2.6.12 (filters and up too)',
    config: listen('', ['check inter 1h', 'disabled', '']),
    backends: ['s1', 's2', 's3'],
    steps: async (ctx) => {
      ctx.note(...(await sequence(ctx.port, 4)));
      for (const l of typed(await ctx.instance.command('show stat typed'))) ctx.note(l);
      for (const l of json(await ctx.instance.command('show stat json'))) ctx.note(l);
      for (const l of typed(await ctx.instance.command('show stat 2 4 1 typed'))) ctx.note(l);
      for (const l of typed(await ctx.instance.command('show stat typed up'))) ctx.note(l);
      for (const l of json(await ctx.instance.command('show stat 2 2 -1 json no-maint'))) ctx.note(l);
    },
  },
  {
    name: 'show stat up|no-maint: up keeps DRAIN, the BACKEND status counts the servers neither down nor in maintenance, UP (n/m)',
    config: listen('', ['check inter 1h', 'check inter 1h', '', 'backup', 'disabled']),
    backends: ['s1', 's2', 's3', 's4', 's5'],
    steps: async (ctx) => {
      await ctx.cli('set server fe/s2 health down');
      await ctx.cli('set server fe/s3 state drain');
      for (const c of ['show stat', 'show stat up', 'show stat no-maint', 'show stat 2 -1 -1 up']) ctx.note(c, stat(await ctx.instance.command(c), ['status']));
      await ctx.cli('set server fe/s1 state maint');
      ctx.note(stat(await ctx.instance.command('show stat no-maint'), ['status']));
    },
  },
  {
    name: 'show stat arguments: three words are the filter (a proxy name or id, No such proxy.), the last format named wins',
    config: listen('', ['', '']) + 'backend other\n  server o1 127.0.0.1:${S1}\n',
    backends: ['s1', 's2'],
    steps: async (ctx) => {
      for (const c of ['show stat fe 4 -1', 'show stat other -1 -1', 'show stat 3 2 -1', 'show stat 9 -1 -1', 'show stat 2 -1', 'show stat up 2']) {
        ctx.note(c, stat(await ctx.instance.command(c), ['status', 'sid']));
      }
      for (const c of ['show stat typed 2 -1 -1', 'show stat up no-maint typed', 'show stat 0 -1 -1', 'show stat 2 4 x typed']) await ctx.cli(c);
      // `desc` changes only the typed form (descriptions: not in switchyard); the CSV and the JSON stay as they are.
      ctx.note('show stat 2 4 1 desc', stat(await ctx.instance.command('show stat 2 4 1 desc'), ['status']));
      for (const l of json(await ctx.instance.command('show stat 2 4 1 json desc'))) ctx.note(l);
      for (const c of ['show stat json typed', 'show stat 2 -1 -1 bogus typed', 'show stat fe 2 -1 up']) ctx.note(c, typed(await ctx.instance.command(c)).length);
      for (const l of json(await ctx.instance.command('show stat other 1 -1 typed json'))) ctx.note(l);
    },
  },
  {
    name: 'show info float: the rates and times HAProxy 2.6.12 prints as floats, with their tags (typed and json)',
    config: listen('', ['']),
    backends: ['s1'],
    steps: async (ctx) => {
      // The float fields only (the others are `show info typed`, compared elsewhere); times masked to their shape.
      const shape = (v: string): string => (/^\d+(\.\d{1,6})?$/.test(v) ? 'float' : v);
      for (const l of (await ctx.instance.command('show info float typed')).split('\n').filter((x) => x.includes(':flt:'))) {
        const i = l.lastIndexOf(':');
        ctx.note(/Uptime_sec|Start_time_sec/.test(l) ? `${l.slice(0, i)}:${shape(l.slice(i + 1))}` : l);
      }
      const fields = JSON.parse(await ctx.instance.command('show info desc json float')) as { field: { name: string }; tags: unknown; value: { type: string; value: unknown } }[];
      ctx.note(fields.filter((f) => f.value.type === 'flt').map((f) => `${f.field.name} ${JSON.stringify(f.tags)} ${typeof f.value.value}`).join(' | '));
    },
  },
];

diffScenarios('show stat typed|json, show info float', scenarios);
