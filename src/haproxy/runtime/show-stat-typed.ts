/**
 * `show stat typed` and `show stat json`: the rows of `show stat` as HAProxy 2.6's typed fields. Each line of the
 * typed form is `<F|B|S>.<iid>.<sid>.<pos>.<name>.1:<tags>:<type>:<value>`; the JSON form is one array per row of
 * `{ objType, proxyId, id, field: { pos, name }, processNum, tags, value }`. Only the columns with a value are
 * printed, as HAProxy does. Tags and types are those HAProxy 2.6.12 prints (recorded from `show stat typed` on
 * Debian's build, with frontends, backends, servers with checks, agents, tracking, slow start and limits); a few
 * columns are tagged differently on a BACKEND row.
 */
import { SHOW_STAT_FIELDS, type ShowStatRecord } from '../../metrics/show-stat.js';
import { type FieldTags, type FieldType, type TypedField, jsonTags, jsonValue, typedTail } from './typed-fields.js';

type Spec = readonly [tags: FieldTags, type: FieldType];

const U64_COUNTERS = [
  'stot', 'bin', 'bout', 'dreq', 'dresp', 'ereq', 'econ', 'eresp', 'wretr', 'wredis', 'chkfail', 'chkdown', 'lbtot', 'hanafail',
  'req_tot', 'cli_abrt', 'srv_abrt', 'comp_in', 'comp_out', 'comp_byp', 'comp_rsp', 'conn_tot', 'dcon', 'dses', 'wrew', 'connect',
  'reuse', 'eint',
];

/** Column name → tags and type, for every row kind unless {@link BACKEND_SPEC} says otherwise. */
const SPEC: Readonly<Record<string, Spec>> = {
  ...Object.fromEntries(U64_COUNTERS.map((n) => [n, ['MCP', 'u64'] as Spec])),
  pxname: ['KNS', 'str'], svname: ['KNS', 'str'], qcur: ['MGP', 'u32'], qmax: ['MMP', 'u32'], scur: ['MGP', 'u32'], smax: ['MMP', 'u32'],
  slim: ['CLP', 'u32'], status: ['SGP', 'str'], weight: ['MaP', 'u32'], act: ['SGP', 'u32'], bck: ['SGP', 'u32'], lastchg: ['MAP', 'u32'],
  downtime: ['MCP', 'u32'], qlimit: ['CGS', 'u32'], pid: ['KGP', 'u32'], iid: ['KGS', 'u32'], sid: ['KGS', 'u32'], throttle: ['MaP', 'u32'],
  tracked: ['CNS', 'str'], type: ['CGS', 'u32'], rate: ['MRP', 'u32'], rate_lim: ['CLP', 'u32'], rate_max: ['MMP', 'u32'],
  check_status: ['MOP', 'str'], check_code: ['MOP', 'u32'], check_duration: ['MDP', 'u64'], req_rate: ['MRP', 'u32'],
  req_rate_max: ['MMP', 'u32'], lastsess: ['MAP', 's32'], last_chk: ['MOP', 'str'], last_agt: ['MOP', 'str'], qtime: ['MaP', 'u32'],
  ctime: ['MaP', 'u32'], rtime: ['MaP', 'u32'], ttime: ['MaP', 'u32'], agent_status: ['MOP', 'str'],
  // Not seen in HAProxy's output (its agent statuses carry no code); typed as check_code is.
  agent_code: ['MOP', 'u32'],
  agent_duration: ['MDP', 'u64'], check_desc: ['MOP', 'str'], agent_desc: ['MOP', 'str'], check_rise: ['CGS', 'u32'],
  check_fall: ['CGS', 'u32'], check_health: ['CGS', 'u32'], agent_rise: ['CGS', 'u32'], agent_fall: ['CGS', 'u32'],
  agent_health: ['CGS', 'u32'], addr: ['CGS', 'str'], cookie: ['CNS', 'str'], mode: ['CGS', 'str'], algo: ['CGS', 'str'],
  conn_rate: ['MRP', 'u32'], conn_rate_max: ['MMP', 'u32'], srv_icur: ['MGP', 'u32'], qtime_max: ['MMP', 'u32'],
  ctime_max: ['MMP', 'u32'], rtime_max: ['MMP', 'u32'], ttime_max: ['MMP', 'u32'], idle_conn_cur: ['MGP', 'u32'],
  safe_conn_cur: ['MGP', 'u32'], used_conn_cur: ['MGP', 'u32'], need_conn_est: ['MGP', 'u32'], uweight: ['MaP', 'u32'],
  agg_server_status: ['MGP', 'u32'], agg_server_check_status: ['MGP', 'u32'], agg_check_status: ['MGP', 'u32'],
};

/** Where a BACKEND row's tags differ from a server's. */
const BACKEND_SPEC: Readonly<Record<string, Spec>> = {
  act: ['MGP', 'u32'], bck: ['MGP', 'u32'], rate: ['MGP', 'u32'], rate_max: ['MGP', 'u32'],
};

const POSITION: ReadonlyMap<string, number> = new Map(SHOW_STAT_FIELDS.map((f, i) => [f, i]));

const KIND = [
  { letter: 'F', objType: 'Frontend' },
  { letter: 'B', objType: 'Backend' },
  { letter: 'S', objType: 'Server' },
] as const;

/** The tags and type HAProxy 2.6.12 gives column `name` on a row of `type` (0 frontend, 1 backend, 2 server). */
export function statFieldSpec(name: string, type: number): Spec | undefined {
  return (type === 1 ? BACKEND_SPEC[name] : undefined) ?? SPEC[name];
}

/** The typed fields of one row: its columns that hold a value, in column order. */
export function typedStatFields(r: ShowStatRecord): TypedField[] {
  const type = Number(r.type);
  const out: TypedField[] = [];
  for (const name of SHOW_STAT_FIELDS) {
    const value = r[name];
    const spec = statFieldSpec(name, type);
    if (value === undefined || value === '' || spec === undefined) continue;
    out.push({ pos: POSITION.get(name) ?? 0, name, tags: spec[0], type: spec[1], value });
  }
  return out;
}

/** `show stat typed` or `show stat json` over `rows` (already filtered), ending with a newline. */
export function showStatTyped(rows: readonly ShowStatRecord[], format: 'typed' | 'json'): string {
  if (format === 'json') {
    const json = rows.map((r) => {
      const kind = KIND[Number(r.type)] ?? KIND[2];
      const proxyId = Number(r.iid);
      const id = Number(r.sid);
      return typedStatFields(r).map((f) => ({
        objType: kind.objType, proxyId, id, field: { pos: f.pos, name: f.name }, processNum: 1, tags: jsonTags(f.tags), value: jsonValue(f),
      }));
    });
    return `${JSON.stringify(json)}\n`;
  }
  let out = '';
  for (const r of rows) {
    const prefix = `${(KIND[Number(r.type)] ?? KIND[2]).letter}.${r.iid}.${r.sid}.`;
    for (const f of typedStatFields(r)) out += `${prefix}${f.pos}.${f.name}.1:${typedTail(f)}\n`;
  }
  return out;
}
