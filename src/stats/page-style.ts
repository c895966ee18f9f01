/**
 * The stats page's one stylesheet, sent inline in a single `<style>` element and allowed by its SHA-256 hash in
 * the page's Content-Security-Policy (no `unsafe-inline`, no nonce to generate per response, no second
 * request). The row colours are HAProxy 2.6's, so an operator reads states the way they always have.
 */
import { createHash } from 'node:crypto';

/** The CSS of the stats page. Constant: its hash is {@link STATS_STYLE_HASH}. */
export const STATS_PAGE_CSS = `
body{font:12px arial,helvetica,sans-serif;color:#000;background:#fff;margin:8px}
h1{font-size:x-large;margin:0 0 .5em;color:#0000ee}
h2{font:italic bold x-large helvetica,arial,sans-serif;color:#6020a0;margin:0}
h3{font:bold 16px helvetica,arial,sans-serif;color:#b00040;background:#e8e8d0;margin:0}
hr{border:0;border-bottom:2px solid #000;margin:.25em 0}
a{color:#0000ee}
.info{display:flex;gap:3em;align-items:flex-start;flex-wrap:wrap;margin:.5em 0 1em}
.info p{margin:.5em 0}
.info ul{margin:.25em 0;padding-left:1.5em}
.info li{margin-top:.25em}
table.lgd{border-collapse:collapse}
table.lgd td{border:1px solid gray;padding:1px 2px;width:8px}
table.lgd td.noborder{border:0;width:auto;white-space:nowrap;padding:1px 6px 1px 3px}
.msg{padding:3px 6px;margin:.5em 0;display:inline-block}
.px{margin-top:1em}
table.tbl{border-collapse:collapse;width:100%}
table.tbl td,table.tbl th{font-size:10px;border:1px solid gray;padding:2px 3px;white-space:nowrap}
table.tbl td{text-align:right}
table.tbl td.ac{text-align:center}
table.tbl td.al{text-align:left}
table.tbl th.pxname{background:#b00040;color:#ffff40;font-weight:bold;text-align:left;border-bottom:0;width:10%}
table.tbl th.pxname a{color:#ffff40;text-decoration:none}
table.tbl th.empty{border:0;background:transparent}
table.tbl th.desc{background:#fff;text-align:left;font-weight:normal;border-bottom:0}
table.tbl a.lfsb{color:#000;text-decoration:none}
.titre{background:#20d0d0;color:#000;font-weight:bold;text-align:center}
.frontend,.backend{background:#e8e8d0}
.active_down,.backup_down{background:#ff9090}
.active_going_up{background:#ffd020}
.active_going_down{background:#ffffa0}
.active_up{background:#c0ffc0}
.active_nolb,.active_draining{background:#20a0ff}
.active_no_check,.backup_no_check{background:#e0e0e0}
.backup_going_up{background:#ff80ff}
.backup_going_down{background:#c060ff}
.backup_up{background:#b0d0ff}
.backup_nolb{background:#90b0e0}
.backup_draining{background:#cc9900}
.maintain{background:#c07820}
.nochk{font-style:italic}
.pager{margin:2px 0;font-size:11px}
.pager a,.pager b{margin-right:.6em}
.admin{margin:3px 0 0;font-size:11px}
.admin button{font-size:11px;margin-right:2px}
.admin input[type=text]{width:3em}
.err{background:#ff9090}
@media (prefers-color-scheme:dark){
body{color:#e8e6e3;background:#131516}
h1,h2{color:#a265e0}
h3{color:#ff5190;background:#3e3e1f}
a{color:#3391ff}
hr{border-color:#8c8273}
table.tbl td,table.tbl th{border-color:#808080}
table.tbl th.pxname{background:#8d0033;color:#ffff46}
table.tbl th.pxname a{color:#ffff46}
table.tbl th.desc{background:#181a1b}
table.tbl a.lfsb{color:#e8e6e3}
.titre{background:#1aa6a6;color:#e8e6e3}
.frontend,.backend{background:#2f3437}
.active_down,.backup_down,.err{background:#760000}
.active_going_up{background:#b99200}
.active_going_down{background:#6c6c00}
.active_up{background:#165900}
.active_nolb,.active_draining{background:#006ab9}
.active_no_check,.backup_no_check{background:#2a2d2f}
.backup_going_up{background:#7f007f}
.backup_going_down{background:#580092}
.backup_up{background:#2e3234}
.backup_nolb{background:#1e3c6a}
.backup_draining{background:#a37a00}
.maintain{background:#9a601a}
}
`;

/** The CSP source that allows {@link STATS_PAGE_CSS} (`'sha256-…'`), for a policy set in front of the handler. */
export const STATS_STYLE_HASH = `'sha256-${createHash('sha256').update(STATS_PAGE_CSS, 'utf8').digest('base64')}'`;

/**
 * The Content-Security-Policy the handler sends with every response: nothing may load but the hashed style
 * (the page has no script at all: refresh is the `Refresh` header, admin actions are plain form posts), forms
 * post only to the page's own origin, and no other site may frame it.
 */
export const STATS_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${STATS_STYLE_HASH}`,
  'img-src data:',
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');
