import { invalidArg } from '../errors.js';
import * as v from '../internal/validate.js';
import { type PoolStats, type ServerStatsSnapshot, type StatsInput, collectStats } from './stats-input.js';

/** The `Content-Type` of the Prometheus text exposition format that {@link toPrometheus} renders. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Options of {@link toPrometheus}. */
export interface PrometheusOptions {
  /** Prepended to every metric name; may be empty. @defaultValue 'switchyard_' */
  readonly prefix?: string;
  /** Constant labels added to every sample (`{ instance: 'api-1' }`). @defaultValue {} */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Default values of {@link PrometheusOptions}. */
export const PROMETHEUS_DEFAULTS = Object.freeze({ prefix: 'switchyard_' });

const OPTION_KEYS = ['prefix', 'labels'] as const;
const RESERVED_LABELS = new Set(['pool', 'server', 'group', 'state', 'address', 'tier', 'limit', 'gate']);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Kind = 'gauge' | 'counter';
type Labels = readonly (readonly [string, string])[];

interface Family {
  readonly name: string;
  readonly kind: Kind;
  readonly help: string;
  readonly samples: [Labels, number][];
}

interface ServerMetric {
  readonly name: string;
  readonly kind: Kind;
  readonly help: string;
  /** The value, or `undefined` to leave the server out (a counter nobody reports yet). */
  readonly value: (s: ServerStatsSnapshot) => number | undefined;
}

const SERVER_METRICS: readonly ServerMetric[] = [
  { name: 'server_up', kind: 'gauge', help: 'Whether the server is up (1) or down or in maintenance (0).', value: (s) => (isUp(s) ? 1 : 0) },
  { name: 'server_usable', kind: 'gauge', help: 'Whether the strategies may pick the server now (1) or not (0).', value: (s) => (s.usable ? 1 : 0) },
  { name: 'server_weight', kind: 'gauge', help: 'Current user weight, 0 to 256 (HAProxy uweight).', value: (s) => s.weight },
  { name: 'server_current_connections', kind: 'gauge', help: 'Connections held now (HAProxy scur).', value: (s) => s.currentConnections },
  { name: 'server_max_connections', kind: 'gauge', help: 'Highest number of connections held at once (HAProxy smax).', value: (s) => s.maxConnections },
  { name: 'server_connection_limit', kind: 'gauge', help: 'Configured maxconn, 0 for unlimited (HAProxy slim).', value: (s) => s.maxconn },
  { name: 'server_connections_total', kind: 'counter', help: 'Connections handed out (leases granted).', value: (s) => s.totalConnections },
  {
    name: 'server_connect_attempts_total',
    kind: 'counter',
    help: 'Connection attempts, retries on the same server included (HAProxy stot).',
    value: (s) => s.connectAttempts,
  },
  { name: 'server_lb_selections_total', kind: 'counter', help: 'Times the strategy picked the server (HAProxy lbtot).', value: (s) => s.lbSelections },
  { name: 'server_queue_current', kind: 'gauge', help: "Callers waiting in the server's own queue (HAProxy qcur).", value: (s) => s.queued },
  { name: 'server_queue_max', kind: 'gauge', help: "Highest number of callers in the server's own queue (HAProxy qmax).", value: (s) => s.maxQueued },
  { name: 'server_check_health', kind: 'gauge', help: 'Health counter of a checked server, 0 to rise+fall-1.', value: (s) => (s.check ? s.health : undefined) },
  { name: 'server_bytes_in_total', kind: 'counter', help: 'Bytes sent from clients to the server (HAProxy bin).', value: (s) => s.bytesIn },
  { name: 'server_bytes_out_total', kind: 'counter', help: 'Bytes sent from the server to clients (HAProxy bout).', value: (s) => s.bytesOut },
  { name: 'server_check_failures_total', kind: 'counter', help: 'Failed health checks while up (HAProxy chkfail).', value: (s) => s.checkFailures },
  { name: 'server_check_downs_total', kind: 'counter', help: 'Transitions from up to down (HAProxy chkdown).', value: (s) => s.downTransitions },
  { name: 'server_observe_failures_total', kind: 'counter', help: 'Passive-observation triggers (HAProxy hanafail).', value: (s) => s.observeFailures },
  {
    name: 'server_downtime_seconds_total',
    kind: 'counter',
    help: 'Total time spent down, in seconds (HAProxy downtime).',
    value: (s) => (s.downtimeMs === undefined ? undefined : s.downtimeMs / 1000),
  },
  { name: 'server_connect_errors_total', kind: 'counter', help: 'Connections that could not be established (HAProxy econ).', value: (s) => s.connectErrors },
  { name: 'server_retries_total', kind: 'counter', help: 'Connect retries (HAProxy wretr).', value: (s) => s.retries },
  { name: 'server_redispatches_total', kind: 'counter', help: 'Redispatches away from the server (HAProxy wredis).', value: (s) => s.redispatches },
  { name: 'server_aborts_total', kind: 'counter', help: 'Connections the server aborted during the transfer (HAProxy srv_abrt).', value: (s) => s.serverAborts },
  {
    name: 'server_outlier_ejected',
    kind: 'gauge',
    help: 'Whether an outlier detector holds the server out now (1) or not (0).',
    value: (s) => (s.outlierEjected === undefined ? undefined : s.outlierEjected ? 1 : 0),
  },
  { name: 'server_outlier_ejections_total', kind: 'counter', help: 'Times an outlier detector ejected the server.', value: (s) => s.outlierEjections },
];

/**
 * Renders pools (or balancers, or snapshots) in the Prometheus text exposition format 0.0.4: one `# HELP` and
 * `# TYPE` per metric, every sample of a metric together, label values escaped. Serve it with
 * {@link PROMETHEUS_CONTENT_TYPE}.
 *
 * Per server (labels `pool`, `server`): up, usable, admin state, weight, current/max/total connections, the
 * maxconn limit, LB selections, queue, check health, and `server_info` (always 1, labels `address` and the server's
 * tags as `tag_<key>`: join it to another metric to group by locality); and, when the snapshot carries them, bytes in/out, check
 * failures, downs, downtime, passive-observation triggers, connect errors, retries, redispatches and server aborts. Per pool: servers, usable servers by
 * group, availability; with a `Balancer`: leases, queue and queue timeouts. With priority tiers: load, usable
 * servers and panic per tier (label `tier`), panic picks. Joined with an `OutlierDetector` (`{ pool, outlier }`):
 * ejected now and ejections per server and per pool, and the ejections `maxEjectionPercent` refused. A balancer's
 * `CircuitBreaker`: overflows by limit, retries under way; joined `retryBudget` and `rebalancer` (`{ pool, retryBudget,
 * rebalancer }`): the budget's limit, retries under way and refusals; rebalancing rounds and recycles per server.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE)
 *   res.end(toPrometheus([webBalancer, dbBalancer], { labels: { instance: hostname() } }))
 * })
 * ```
 */
export function toPrometheus(input: StatsInput | readonly StatsInput[], options: PrometheusOptions = {}): string {
  const o = v.plainObject('prometheus options', options);
  v.knownKeys('prometheus options', o, OPTION_KEYS);
  const prefix = o['prefix'] ?? PROMETHEUS_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
    throw invalidArg('prefix', 'must be empty or start a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)', prefix);
  }
  const constant = constantLabels(o['labels'] ?? {});
  const pools = collectStats(input);

  const families: Family[] = [];
  const family = (name: string, kind: Kind, help: string): Family => {
    const f: Family = { name: prefix + name, kind, help, samples: [] };
    families.push(f);
    return f;
  };

  for (const metric of SERVER_METRICS) {
    const f = family(metric.name, metric.kind, metric.help);
    for (const p of pools) {
      for (const s of p.pool.servers) {
        const value = metric.value(s);
        if (value !== undefined) f.samples.push([[...constant, ['pool', p.pool.name], ['server', s.name]], value]);
      }
    }
  }
  const info = family('server_info', 'gauge', 'Always 1: where a server is (address) and came from (its tags, as tag_<key> labels).');
  for (const p of pools) {
    for (const s of p.pool.servers) info.samples.push([[...constant, ['pool', p.pool.name], ['server', s.name], ...infoLabels(s)], 1]);
  }
  const admin = family('server_admin_state', 'gauge', 'Administrative state of the server: 1 for the current one of ready, drain, maint.');
  for (const p of pools) {
    for (const s of p.pool.servers) {
      for (const state of ['ready', 'drain', 'maint'] as const) {
        admin.samples.push([[...constant, ['pool', p.pool.name], ['server', s.name], ['state', state]], s.adminState === state ? 1 : 0]);
      }
    }
  }
  poolFamilies(pools, constant, family);
  resilienceFamilies(pools, constant, family);
  return families.filter((f) => f.samples.length > 0).map(render).join('');
}

function poolFamilies(pools: readonly PoolStats[], constant: Labels, family: (name: string, kind: Kind, help: string) => Family): void {
  const servers = family('pool_servers', 'gauge', 'Servers in the pool.');
  const usable = family('pool_usable_servers', 'gauge', 'Servers the strategies may pick now, by group (active or backup).');
  const available = family('pool_available', 'gauge', 'Whether at least one server can take a connection (1) or none (0).');
  const leases = family('pool_leases_current', 'gauge', 'Leases held now.');
  const leasesTotal = family('pool_leases_total', 'counter', 'Leases granted.');
  const queue = family('pool_queue_current', 'gauge', 'Callers waiting for a free server, in every queue of the balancer.');
  const queueMax = family('pool_queue_max', 'gauge', 'Highest number of callers waiting at once.');
  const timeouts = family('pool_queue_timeouts_total', 'counter', 'Callers that gave up after timeoutQueueMs in the queue.');
  for (const p of pools) {
    const l: Labels = [...constant, ['pool', p.pool.name]];
    servers.samples.push([l, p.pool.servers.length]);
    usable.samples.push([[...l, ['group', 'active']], p.pool.activeUsable]);
    usable.samples.push([[...l, ['group', 'backup']], p.pool.backupUsable]);
    available.samples.push([l, p.pool.activeUsable + p.pool.backupUsable > 0 ? 1 : 0]);
    const b = p.balancer;
    if (b === undefined) continue;
    leases.samples.push([l, b.activeLeases]);
    leasesTotal.samples.push([l, b.totalLeases]);
    queue.samples.push([l, b.queued]);
    queueMax.samples.push([l, b.maxQueued]);
    timeouts.samples.push([l, b.queueTimeouts]);
  }
}

/**
 * The labels of `server_info`: `address` (`host:port`, `[v6]:port`) and one `tag_<key>` per server tag, the key's
 * characters outside `[a-zA-Z0-9_]` turned into `_` (`xds.cluster` → `tag_xds_cluster`); when two keys give one
 * label name, the first in key order wins. Tags are labels of this one series per server, not of every metric:
 * joined on demand (`* on(pool, server) group_left(tag_locality) switchyard_server_info`), they never multiply
 * series, and a tag that changes does not break the history of every other metric.
 */
function infoLabels(s: ServerStatsSnapshot): [string, string][] {
  const labels: [string, string][] = [['address', s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`]];
  const tags = s.tags;
  if (tags === undefined) return labels;
  const seen = new Set<string>();
  for (const key of Object.keys(tags).sort()) {
    const name = `tag_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    if (seen.has(name)) continue;
    seen.add(name);
    labels.push([name, tags[key]!]);
  }
  return labels;
}

/** Tiers (when the pool has them), panic picks, and the outlier detector's totals (when one is joined). */
function resilienceFamilies(pools: readonly PoolStats[], constant: Labels, family: (name: string, kind: Kind, help: string) => Family): void {
  const load = family('pool_tier_load_percent', 'gauge', 'Share of new connections a priority tier takes, in % (Envoy priority load).');
  const tierUsable = family('pool_tier_usable_servers', 'gauge', 'Usable servers of a priority tier.');
  const panic = family('pool_tier_panic', 'gauge', 'Whether a priority tier balances over all its servers, usable or not (1) or not (0).');
  const panicPicks = family('pool_panic_picks_total', 'counter', 'Picks made in a tier in panic (Envoy lb_healthy_panic).');
  const ejected = family('pool_outlier_ejected', 'gauge', 'Servers an outlier detector holds out now.');
  const ejections = family('pool_outlier_ejections_total', 'counter', 'Ejections by an outlier detector.');
  const overflow = family('pool_outlier_overflow_total', 'counter', 'Outliers kept in by maxEjectionPercent.');
  for (const p of pools) {
    const l: Labels = [...constant, ['pool', p.pool.name]];
    for (const t of p.pool.tiers ?? []) {
      const tl: Labels = [...l, ['tier', String(t.priority)]];
      load.samples.push([tl, t.loadPercent]);
      tierUsable.samples.push([tl, t.usable]);
      panic.samples.push([tl, t.panic ? 1 : 0]);
    }
    if (p.balancer?.panicPicks !== undefined && p.pool.tiers !== undefined) panicPicks.samples.push([l, p.balancer.panicPicks]);
    if (p.outlier === undefined) continue;
    ejected.samples.push([l, p.outlier.ejected]);
    ejections.samples.push([l, p.outlier.ejections]);
    overflow.samples.push([l, p.outlier.overflow]);
  }
  admissionFamilies(pools, constant, family);
}

/** The circuit breaker's overflows, the retry budget's retries and the rebalancer's recycles, when joined. */
function admissionFamilies(pools: readonly PoolStats[], constant: Labels, family: (name: string, kind: Kind, help: string) => Family): void {
  const cbOverflow = family('pool_circuit_overflow_total', 'counter', 'Callers and retries a circuit breaker refused, by limit (Envoy upstream_cx_overflow, upstream_rq_pending_overflow, upstream_rq_retry_overflow).');
  const retries = family('pool_retries_active', 'gauge', 'Retries under way now, as a circuit breaker or a retry budget counts them (label gate).');
  const budgetLimit = family('pool_retry_budget_limit', 'gauge', 'Retries the retry budget allows at once at the present load.');
  const budgetRefused = family('pool_retry_budget_refused_total', 'counter', 'Retries the retry budget refused.');
  const rounds = family('pool_rebalance_rounds_total', 'counter', 'Rebalancing rounds started by a rebalancer.');
  const recycled = family('pool_rebalance_recycled_total', 'counter', 'Leases a rebalancer asked to recycle, per server.');
  for (const p of pools) {
    const l: Labels = [...constant, ['pool', p.pool.name]];
    const cb = p.circuitBreaker;
    if (cb !== undefined) {
      for (const limit of ['connections', 'pending', 'retries'] as const) cbOverflow.samples.push([[...l, ['limit', limit]], cb.overflows[limit]]);
      retries.samples.push([[...l, ['gate', 'circuit-breaker']], cb.activeRetries]);
    }
    const rb = p.retryBudget;
    if (rb !== undefined) {
      retries.samples.push([[...l, ['gate', 'retry-budget']], rb.activeRetries]);
      budgetLimit.samples.push([l, rb.limit]);
      budgetRefused.samples.push([l, rb.refused]);
    }
    const rr = p.rebalancer;
    if (rr === undefined) continue;
    rounds.samples.push([l, rr.rounds]);
    for (const [server, s] of Object.entries(rr.servers)) recycled.samples.push([[...l, ['server', server]], s.recycled]);
  }
}

function isUp(s: ServerStatsSnapshot): boolean {
  return s.adminState !== 'maint' && s.operationalState !== 'down';
}

function constantLabels(value: unknown): Labels {
  const labels = v.plainObject('labels', value);
  return Object.entries(labels).map(([name, val]) => {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw invalidArg(`labels.${name}`, 'must be a valid label name not starting with __', name);
    if (RESERVED_LABELS.has(name) || name.startsWith('tag_')) {
      throw invalidArg(`labels.${name}`, `must not be one of the labels switchyard sets (${[...RESERVED_LABELS].join(', ')}, tag_*)`, name);
    }
    if (typeof val !== 'string') throw invalidArg(`labels.${name}`, 'must be a string', val);
    return [name, val] as const;
  });
}

function render(f: Family): string {
  let out = `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.kind}\n`;
  for (const [labels, value] of f.samples) {
    const l = labels.length === 0 ? '' : `{${labels.map(([k, val]) => `${k}="${escapeLabel(val)}"`).join(',')}}`;
    out += `${f.name}${l} ${formatValue(value)}\n`;
  }
  return out;
}

/** Label values escape backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
