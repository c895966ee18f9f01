/**
 * The stats page's admin actions (HAProxy's "Choose the action to perform on the checked servers"): set state to
 * READY / DRAIN / MAINT, force the health UP / NOLB / DOWN, set the weight. Every selected server is checked
 * before any is changed, so a refused request changes nothing; each change goes through the server's `Pool`
 * (the one writer) with the cause `{ source: 'admin', via: 'web' }`, so HAProxy's line for it reads
 * "changed from Web interface".
 */
import type { StateCause } from '../state/check-result.js';
import { haproxyLog } from '../haproxy/log/format.js';
import type { Pool } from '../pool.js';
import type { AdminTarget, ResolvedSource } from './stats-source.js';

/** The action values of the page's buttons (HAProxy's names). */
export const ADMIN_ACTIONS = ['ready', 'drain', 'maint', 'hrunn', 'hnolb', 'hdown', 'weight'] as const;

/** One of {@link ADMIN_ACTIONS}. */
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** The cause of every change made from the page. */
export const WEB_ADMIN_CAUSE: StateCause = Object.freeze({ source: 'admin', via: 'web' });

/** A form post, read. */
export interface ActionForm {
  readonly action: AdminAction;
  readonly backend: string;
  readonly servers: readonly string[];
  readonly weight: string | undefined;
  readonly token: string | undefined;
}

/** The outcome of a post: applied (with the log lines it produced), or refused with a status and why. */
export type ActionResult =
  | { readonly ok: true; readonly lines: readonly string[] }
  | { readonly ok: false; readonly status: 400 | 404 | 409; readonly message: string };

const FIELDS = new Set(['action', 'b', 's', 'weight', 'token']);
const MAX_SERVERS = 10_000;

/** Reads an `application/x-www-form-urlencoded` body; a string is the reason it is refused. */
export function readActionForm(body: string): ActionForm | string {
  const params = new URLSearchParams(body);
  let count = 0;
  for (const key of params.keys()) {
    if (!FIELDS.has(key)) return `unknown form field '${key.slice(0, 40)}'`;
    if (++count > MAX_SERVERS + 4) return 'too many form fields';
  }
  const single = (name: string): string | undefined | null => {
    const all = params.getAll(name);
    return all.length > 1 ? null : all[0];
  };
  const action = single('action');
  const backend = single('b');
  const weight = single('weight');
  const token = single('token');
  if (action === null || backend === null || weight === null || token === null) return 'a form field other than s was given twice';
  if (action === undefined || action === '') return 'no action given';
  if (!(ADMIN_ACTIONS as readonly string[]).includes(action)) return `unknown action '${action.slice(0, 40)}': expected one of ${ADMIN_ACTIONS.join(', ')}`;
  if (backend === undefined || backend === '') return 'no backend given (field b)';
  const servers = params.getAll('s');
  if (servers.length === 0) return 'no server selected: check at least one server';
  return { action: action as AdminAction, backend, servers, weight: weight === '' ? undefined : weight, token };
}

/** HAProxy's weight rules: `0`–`256`, or `<n>%` of the initial weight; static algorithms take only 0 and the initial weight. */
function resolveWeight(text: string | undefined, t: AdminTarget): number | string {
  if (text === undefined) return 'no weight given: type a weight (0-256, or a percentage) next to the button';
  const m = /^(\d{1,5})(%?)$/.exec(text.trim());
  if (m === null) return `weight must be an integer from 0 to 256 or a percentage such as 50%, got '${text.slice(0, 20)}'`;
  let w = Number(m[1]);
  if (m[2] === '%') w = Math.min(256, Math.floor((t.server.initialWeight * Math.min(w, 25_600)) / 100));
  else if (w > 256) return `weight must be an integer from 0 to 256, got ${w}`;
  if (!t.dynamicWeights && w !== 0 && w !== t.server.initialWeight) {
    return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.";
  }
  return w;
}

/** Validates the whole request, then applies it; `log` receives HAProxy's lines of the changes. */
export function applyAction(source: ResolvedSource, form: ActionForm, log: ((line: string) => void) | undefined): ActionResult {
  const targets: AdminTarget[] = [];
  const weights: number[] = [];
  for (const name of new Set(form.servers)) {
    const t = source.target(form.backend, name);
    if (t === undefined) return { ok: false, status: 404, message: `no server '${name.slice(0, 100)}' in backend '${form.backend.slice(0, 100)}' that can be changed` };
    // HAProxy's page forces health only on servers whose checks run (`CHK_ST_ENABLED`).
    if (form.action.startsWith('h') && !t.server.checksEnabled) {
      return { ok: false, status: 409, message: `server ${form.backend}/${name} has no running health check: health actions need one` };
    }
    if (form.action === 'weight') {
      const w = resolveWeight(form.weight, t);
      if (typeof w === 'string') return { ok: false, status: 400, message: w };
      weights.push(w);
    }
    targets.push(t);
  }
  const lines: string[] = [];
  const pools = new Set<Pool>(targets.map((t) => t.pool));
  // Pool events are synchronous: the lines written while the changes run are exactly the lines of the changes.
  const stops = log === undefined ? [] : [...pools].map((pool) => haproxyLog(pool, (line) => lines.push(line)));
  try {
    targets.forEach((t, i) => change(form.action, t, weights[i]));
  } finally {
    for (const stop of stops) stop();
  }
  for (const line of lines) log?.(line);
  return { ok: true, lines };
}

function change(action: AdminAction, t: AdminTarget, weight: number | undefined): void {
  const name = t.server.name;
  switch (action) {
    case 'ready':
    case 'drain':
    case 'maint':
      t.pool.setAdminState(name, action, WEB_ADMIN_CAUSE);
      return;
    case 'hrunn':
      t.pool.setHealth(name, 'up', WEB_ADMIN_CAUSE);
      return;
    case 'hnolb':
      t.pool.setHealth(name, 'stopping', WEB_ADMIN_CAUSE);
      return;
    case 'hdown':
      t.pool.setHealth(name, 'down', WEB_ADMIN_CAUSE);
      return;
    case 'weight':
      t.pool.setWeight(name, weight ?? t.server.weight);
      return;
  }
}
