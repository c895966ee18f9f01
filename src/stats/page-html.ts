/**
 * The stats page as one HTML document: HAProxy's header (version, pid, uptime), the colour legend, the display
 * options, an optional message, then one table per proxy ({@link renderProxy}). No script, one hashed style
 * element (`page-style.ts`), no external resource: it renders offline and under `default-src 'none'`.
 */
import type { ShowStatRecord } from '../metrics/show-stat.js';
import { esc, uptime } from './html-format.js';
import { STATS_PAGE_CSS } from './page-style.js';
import { groupRows, renderProxy } from './proxy-table.js';

/** Everything one rendering needs. */
export interface PageModel {
  readonly records: readonly ShowStatRecord[];
  /** `switchyard version …` in the title; undefined hides it (`stats hide-version`). */
  readonly version: string | undefined;
  readonly pid: number;
  readonly uptimeSec: number | undefined;
  readonly connections: number | undefined;
  /** The page's own URI (`stats uri`), the base of every link. */
  readonly uri: string;
  /** The Prometheus URI, or undefined when not served. */
  readonly metricsUri: string | undefined;
  readonly upOnly: boolean;
  readonly noRefresh: boolean;
  /** Seconds between refreshes, when the page refreshes. */
  readonly refreshSec: number | undefined;
  /** The proxy being paged and its page (`;page=<proxy>:<n>`). */
  readonly page: { readonly proxy: string; readonly n: number } | undefined;
  readonly pageSize: number;
  /** `;st=DONE`: the last admin action was applied. */
  readonly done: boolean;
  /** Add `cap/mode/id` and address tooltips (`stats show-legends`). */
  readonly showLegends: boolean;
  readonly capability: (proxy: string) => string;
  /** Present when the user may act: where forms post and the token they carry. */
  readonly admin: { readonly action: string; readonly token: string } | undefined;
}

/** A link to the page with the given options (`;up`, `;norefresh`, `;page=…`). */
export function pageLink(uri: string, options: { readonly up?: boolean; readonly norefresh?: boolean; readonly page?: string | undefined; readonly extra?: string }): string {
  let link = uri;
  if (options.up === true) link += ';up';
  if (options.norefresh === true) link += ';norefresh';
  if (options.page !== undefined) link += `;page=${encodeURIComponent(options.page).replace(/%3A/gi, ':')}`;
  if (options.extra !== undefined) link += `;${options.extra}`;
  return link;
}

const LEGEND = [
  ['active_up', 'active UP', 'backup_up', 'backup UP'],
  ['active_going_down', 'active UP, going down', 'backup_going_down', 'backup UP, going down'],
  ['active_going_up', 'active DOWN, going up', 'backup_going_up', 'backup DOWN, going up'],
  ['active_down', 'active or backup DOWN', 'active_no_check', 'not checked'],
  ['maintain', 'active or backup DOWN for maintenance (MAINT)'],
  ['active_draining', 'active or backup SOFT STOPPED for maintenance'],
] as const;

function legend(): string {
  const rows = LEGEND.map((r) => r.length === 4
    ? `<tr><td class=${r[0]}></td><td class=noborder>${r[1]}</td><td class=${r[2]}></td><td class=noborder>${r[3]}</td></tr>`
    : `<tr><td class=${r[0]}></td><td class=noborder colspan=3>${r[1]}</td></tr>`);
  return `<div><table class=lgd>${rows.join('')}</table>Note: "NOLB"/"DRAIN" = UP with load-balancing disabled.</div>`;
}

/** Renders the whole page. */
export function renderPage(m: PageModel): string {
  const keep = { up: m.upOnly, norefresh: m.noRefresh };
  const title = m.version === undefined ? 'switchyard' : `switchyard version ${esc(m.version)}`;
  const out: string[] = [];
  out.push('<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Statistics Report for switchyard</title>',
    '<meta name=viewport content="width=device-width"><meta name=referrer content=same-origin><link rel=icon href="data:,">',
    `<style>${STATS_PAGE_CSS}</style></head><body>`);
  out.push(`<h1>${title}</h1><h2>Statistics Report for pid ${m.pid}</h2><hr><h3>&gt; General process information</h3><div class=info>`);
  const info = [`<b>pid = </b> ${m.pid}`];
  if (m.uptimeSec !== undefined) info.push(`<b>uptime = </b> ${uptime(m.uptimeSec)}`);
  if (m.connections !== undefined) info.push(`current conns = ${m.connections}`);
  info.push(m.refreshSec === undefined || m.noRefresh ? 'refresh: off' : `refresh: every ${m.refreshSec}s`);
  out.push(`<p>${info.join('<br>')}</p>`, legend());
  const options = [
    m.upOnly ? `<a href="${esc(pageLink(m.uri, { ...keep, up: false }))}">Show all servers</a>` : `<a href="${esc(pageLink(m.uri, { ...keep, up: true }))}">Hide 'DOWN' servers</a>`,
  ];
  if (m.refreshSec !== undefined) {
    options.push(m.noRefresh ? `<a href="${esc(pageLink(m.uri, { ...keep, norefresh: false }))}">Enable refresh</a>` : `<a href="${esc(pageLink(m.uri, { ...keep, norefresh: true }))}">Disable refresh</a>`);
  }
  options.push(`<a href="${esc(pageLink(m.uri, keep))}">Refresh now</a>`, `<a href="${esc(pageLink(m.uri, { extra: 'csv' }))}">CSV export</a>`,
    `<a href="${esc(pageLink(m.uri, { extra: 'json' }))}">JSON export</a>`);
  if (m.metricsUri !== undefined) options.push(`<a href="${esc(m.metricsUri)}">Prometheus metrics</a>`);
  out.push(`<div><b>Display option:</b><ul>${options.map((o) => `<li>${o}`).join('')}</ul></div></div>`);
  if (m.done) out.push(`<div class="msg active_up"><a class=lfsb href="${esc(pageLink(m.uri, keep))}" title="Remove this message">[X]</a> Action processed successfully.</div>`);
  const link = (page: string | undefined): string => pageLink(m.uri, { ...keep, page });
  for (const p of groupRows(m.records)) {
    out.push(renderProxy(p, {
      link,
      page: m.page !== undefined && m.page.proxy === p.name ? m.page.n : 1,
      pageSize: m.pageSize,
      upOnly: m.upOnly,
      capability: m.showLegends ? m.capability(p.name) : undefined,
      admin: m.admin,
    }));
  }
  out.push('</body></html>\n');
  return out.join('');
}
