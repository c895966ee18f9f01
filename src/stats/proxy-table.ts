/**
 * One proxy's table on the stats page, HAProxy's layout: a title bar with the proxy name, two header rows
 * (Queue, Session rate, Sessions, Bytes, Denied, Errors, Warnings, Server), a `Frontend` row, a row per server
 * coloured by state, a `Backend` row; then the pager and, for an admin, the action buttons. Every cell comes
 * from the `show stat` row of the same object, so the page and `;csv` cannot disagree.
 */
import type { ShowStatRecord } from '../metrics/show-stat.js';
import { esc, grouped, humanTime } from './html-format.js';

/** One proxy: its rows in `show stat` order. */
export interface ProxyRows {
  readonly name: string;
  readonly iid: number;
  readonly frontend: ShowStatRecord | undefined;
  readonly servers: readonly ShowStatRecord[];
  readonly backend: ShowStatRecord | undefined;
}

/** What the table needs besides the rows. */
export interface TableContext {
  /** Link to the page with the current display options, for the pager (`page` is added). */
  readonly link: (page: string | undefined) => string;
  /** 1-based page of this proxy's servers. */
  readonly page: number;
  readonly pageSize: number;
  /** Hide servers that are not up (`;up`). */
  readonly upOnly: boolean;
  /** `cap: …` of the proxy's tooltip; with it, servers get an address tooltip too (`stats show-legends`). Undefined: no tooltips. */
  readonly capability: string | undefined;
  /** Render the checkboxes and action buttons, posting to `action` with this token. */
  readonly admin: { readonly action: string; readonly token: string } | undefined;
}

/** Groups `show stat` rows by proxy (consecutive rows with the same `iid` and `pxname`). */
export function groupRows(records: readonly ShowStatRecord[]): ProxyRows[] {
  const out: { name: string; iid: number; frontend: ShowStatRecord | undefined; servers: ShowStatRecord[]; backend: ShowStatRecord | undefined }[] = [];
  for (const r of records) {
    const name = String(r.pxname ?? '');
    const iid = Number(r.iid ?? 0);
    let last = out[out.length - 1];
    if (last === undefined || last.name !== name || last.iid !== iid) {
      last = { name, iid, frontend: undefined, servers: [], backend: undefined };
      out.push(last);
    }
    if (r.type === 0) last.frontend = r;
    else if (r.type === 1) last.backend = r;
    else last.servers.push(r);
  }
  return out;
}

/** HAProxy's row class for a server's status (`active_up`, `backup_going_down`, `maintain`…). */
export function serverClass(r: ShowStatRecord): string {
  const status = String(r.status ?? '');
  if (status.startsWith('MAINT')) return 'maintain';
  const side = Number(r.bck) === 1 ? 'backup' : 'active';
  if (status === 'no check') return `${side}_no_check`;
  const m = /^(UP|DOWN|NOLB|DRAIN)( \d+\/\d+)?/.exec(status);
  if (m === null) return `${side}_no_check`;
  const moving = m[2] !== undefined;
  switch (m[1]) {
    case 'UP':
      return `${side}_${moving ? 'going_down' : 'up'}`;
    case 'DOWN':
      return `${side}_${moving ? 'going_up' : 'down'}`;
    case 'NOLB':
      return `${side}_${moving ? 'going_down' : 'nolb'}`;
    default:
      return `${side}_${moving ? 'going_down' : 'draining'}`;
  }
}

/** Servers shown with `;up`: HAProxy's "Hide 'DOWN' servers" keeps the ones that are up (or unchecked). */
function isShownUp(r: ShowStatRecord): boolean {
  const status = String(r.status ?? '');
  return status.startsWith('UP') || status === 'no check' || status.startsWith('NOLB') || status.startsWith('DRAIN');
}

const GROUPS = '<th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th>'
  + '<th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th>';
const HEADS = ['Cur', 'Max', 'Limit', 'Cur', 'Max', 'Limit', 'Cur', 'Max', 'Limit', 'Total', 'LbTot', 'Last', 'In', 'Out', 'Req', 'Resp',
  'Req', 'Conn', 'Resp', 'Retr', 'Redis', 'Status', 'LastChk', 'Wght', 'Act', 'Bck', 'Chk', 'Dwn', 'Dwntme', 'Thrtle'].map((h) => `<th>${h}</th>`).join('');

/** Renders one proxy. */
export function renderProxy(p: ProxyRows, ctx: TableContext): string {
  const servers = ctx.upOnly ? p.servers.filter(isShownUp) : p.servers;
  const pages = Math.max(1, Math.ceil(servers.length / ctx.pageSize));
  const page = Math.min(Math.max(1, ctx.page), pages);
  const shown = servers.slice((page - 1) * ctx.pageSize, page * ctx.pageSize);
  const name = esc(p.name);
  const admin = ctx.admin !== undefined && p.backend !== undefined && p.servers.length > 0 ? ctx.admin : undefined;
  const out: string[] = [];
  out.push(`<div class=px id="${name}">`);
  if (admin !== undefined) out.push(`<form method=post action="${esc(admin.action)}">`);
  out.push(`<table class=tbl><tr class=titre><th class=pxname><a href="#${name}"${ctx.capability === undefined ? '' : ` title="cap: ${esc(ctx.capability)}, mode: tcp, id: ${p.iid}"`}>${name}</a></th><th class=empty></th></tr></table>`);
  out.push(`<table class=tbl><tr class=titre><th rowspan=2></th><th rowspan=2></th>${GROUPS}</tr><tr class=titre>${HEADS}</tr>`);
  if (p.frontend !== undefined) out.push(frontendRow(p.frontend));
  for (const r of shown) out.push(serverRow(p.name, r, admin !== undefined, ctx.capability !== undefined));
  if (p.backend !== undefined) out.push(backendRow(p.backend));
  out.push('</table>');
  if (pages > 1) out.push(pager(p.name, page, pages, servers.length, ctx));
  if (admin !== undefined) out.push(adminControls(p.name, admin.token), '</form>');
  out.push('</div>');
  return out.join('');
}

function cells(values: readonly string[]): string {
  let s = '';
  for (const v of values) s += v.startsWith('<td') ? v : `<td>${v}</td>`;
  return s;
}

function num(r: ShowStatRecord, f: keyof ShowStatRecord): string {
  return grouped(r[f]);
}

function frontendRow(r: ShowStatRecord): string {
  return `<tr class=frontend><td></td><td class=ac>Frontend</td>${cells([
    '', '', '', num(r, 'rate'), num(r, 'rate_max'), num(r, 'rate_lim'), num(r, 'scur'), num(r, 'smax'), num(r, 'slim'), num(r, 'stot'), '', '',
    num(r, 'bin'), num(r, 'bout'), num(r, 'dreq'), num(r, 'dresp'), num(r, 'ereq'), '', '', '', '', `<td class=ac>${esc(r.status)}</td>`,
    '', '', '', '', '', '', '', '',
  ])}</tr>`;
}

function serverRow(proxy: string, r: ShowStatRecord, admin: boolean, legends: boolean): string {
  const sv = esc(r.svname);
  const id = `${esc(proxy)}/${sv}`;
  const status = String(r.status ?? '');
  const since = r.lastchg === undefined ? '' : `${humanTime(Number(r.lastchg))} `;
  // HAProxy prints an unchecked server's status alone, in italics.
  const statusCell = status === 'no check' ? '<td class="ac nochk">no check</td>' : `<td class=ac>${since}${esc(status)}</td>`;
  let check = '';
  if (r.check_status !== undefined) {
    const code = r.check_code === undefined ? '' : `/${esc(r.check_code)}`;
    const took = r.check_duration === undefined ? '' : ` in ${esc(r.check_duration)}ms`;
    const tip = [r.check_desc, r.last_chk].filter((x) => x !== undefined && x !== '').map(String).join(': ');
    check = `<span title="${esc(tip)}">${esc(r.check_status)}${code}${took}</span>`;
  }
  const box = admin ? `<td><input type=checkbox name=s value="${sv}" aria-label="select ${sv}"></td>` : '<td></td>';
  return `<tr class=${serverClass(r)} id="${id}">${box}<td class=al><a class=lfsb href="#${id}"${legends ? ` title="${esc(r.addr)}, id: ${esc(r.sid)}"` : ''}>${sv}</a></td>${cells([
    num(r, 'qcur'), num(r, 'qmax'), r.qlimit === undefined ? '-' : num(r, 'qlimit'), num(r, 'rate'), num(r, 'rate_max'), '',
    num(r, 'scur'), num(r, 'smax'), r.slim === undefined ? '-' : num(r, 'slim'), num(r, 'stot'), num(r, 'lbtot'), '',
    num(r, 'bin'), num(r, 'bout'), '', num(r, 'dresp'), '', num(r, 'econ'), num(r, 'eresp'), num(r, 'wretr'), num(r, 'wredis'),
    statusCell, `<td class=ac>${check}</td>`, `<td class=ac>${esc(r.weight)}/${esc(r.uweight)}</td>`,
    `<td class=ac>${Number(r.act) === 1 ? 'Y' : '-'}</td>`, `<td class=ac>${Number(r.bck) === 1 ? 'Y' : '-'}</td>`,
    num(r, 'chkfail'), num(r, 'chkdown'), r.downtime === undefined ? '' : humanTime(Number(r.downtime)),
    `<td class=ac>${r.throttle === undefined ? '-' : `${esc(r.throttle)} %`}</td>`,
  ])}</tr>`;
}

function backendRow(r: ShowStatRecord): string {
  const algo = r.algo === undefined ? '' : ` title="balancing: ${esc(r.algo)}"`;
  return `<tr class=backend><td></td><td class=ac><span${algo}>Backend</span></td>${cells([
    num(r, 'qcur'), num(r, 'qmax'), '', num(r, 'rate'), num(r, 'rate_max'), '', num(r, 'scur'), num(r, 'smax'), num(r, 'slim'), num(r, 'stot'),
    num(r, 'lbtot'), '', num(r, 'bin'), num(r, 'bout'), num(r, 'dreq'), num(r, 'dresp'), '', num(r, 'econ'), num(r, 'eresp'), num(r, 'wretr'),
    num(r, 'wredis'), `<td class=ac>${r.lastchg === undefined ? '' : `${humanTime(Number(r.lastchg))} `}${esc(r.status)}</td>`, '<td class=ac></td>',
    `<td class=ac>${esc(r.weight)}/${esc(r.uweight)}</td>`, `<td class=ac>${esc(r.act)}</td>`, `<td class=ac>${esc(r.bck)}</td>`, '',
    num(r, 'chkdown'), r.downtime === undefined ? '' : humanTime(Number(r.downtime)), '',
  ])}</tr>`;
}

function pager(proxy: string, page: number, pages: number, total: number, ctx: TableContext): string {
  const first = (page - 1) * ctx.pageSize + 1;
  const last = Math.min(total, page * ctx.pageSize);
  const to = (n: number, label: string): string => `<a href="${esc(ctx.link(`${proxy}:${n}`))}#${esc(proxy)}">${label}</a>`;
  const parts = [`<b>servers ${first}–${last} of ${total}</b>`];
  if (page > 1) parts.push(to(1, '« first'), to(page - 1, '‹ previous'));
  if (page < pages) parts.push(to(page + 1, 'next ›'), to(pages, 'last »'));
  parts.push(`page ${page} of ${pages}`);
  return `<div class=pager>${parts.join('')}</div>`;
}

function adminControls(proxy: string, token: string): string {
  const button = (action: string, label: string, title: string): string => `<button type=submit name=action value=${action} title="${title}">${label}</button>`;
  return `<div class=admin><input type=hidden name=b value="${esc(proxy)}"><input type=hidden name=token value="${esc(token)}">Action on the checked servers: `
    + button('ready', 'READY', 'Set state to READY') + button('drain', 'DRAIN', 'Set state to DRAIN') + button('maint', 'MAINT', 'Set state to MAINT')
    + button('hrunn', 'Health UP', 'Health: force UP') + button('hnolb', 'Health NOLB', 'Health: force NOLB') + button('hdown', 'Health DOWN', 'Health: force DOWN')
    + ` weight <input type=text name=weight inputmode=numeric maxlength=4 aria-label="weight">${button('weight', 'Set weight', 'Set the weight (0-256, or a percentage of the initial weight)')}</div>`;
}
