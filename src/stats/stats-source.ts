/**
 * What a stats page shows and acts on: a whole HAProxy instance (the CLI's case), or the pools, balancers and
 * proxies a program passes in. Both give the same three things: the `show stat` rows (the page, `;csv` and
 * `;json` are all rendered from them, so they agree by construction), the Prometheus inputs, and the live
 * servers that admin actions may change.
 */
import { invalidArg } from '../errors.js';
import type { HaproxyBackend, HaproxyInstance } from '../haproxy/build/instance.js';
import { mergedTraffic, showStat, statRecords } from '../haproxy/runtime/views.js';
import { type ShowStatRecord, showStatRecords, toShowStat } from '../metrics/show-stat.js';
import type { StatsInput } from '../metrics/stats-input.js';
import type { Pool } from '../pool.js';
import type { Server } from '../server.js';

/** What a stats handler serves: a `HaproxyInstance`, or what `toShowStat()` accepts (one input or a list). */
export type StatsPageSource = HaproxyInstance | StatsInput | readonly StatsInput[];

/** A server an admin action may change, with what decides which actions apply. */
export interface AdminTarget {
  readonly pool: Pool;
  readonly server: Server;
  /** False for HAProxy's static algorithms: only weights 0 and the initial weight are accepted. */
  readonly dynamicWeights: boolean;
}

/** The normalised source (machinery of the handler: not exported by `switchyard-lb/stats`, but named by `applyAction`'s declaration, so not stripped). */
export interface ResolvedSource {
  /** `pid` in the page header. */
  readonly pid: number;
  /** The instance's version string, or undefined for plain pools. */
  readonly version: string | undefined;
  /** Seconds since start, when known. */
  uptimeSec(): number | undefined;
  /** Live client connections, when known. */
  connections(): number | undefined;
  /** Every `show stat` row, in order. */
  records(): ShowStatRecord[];
  /** The `show stat` CSV (what the runtime API prints for an instance). */
  csv(): string;
  /** The input of `toPrometheus()`. */
  prometheusInput(): StatsInput[];
  /** The live server `backend/server`, or undefined (unknown, or a snapshot that cannot be changed). */
  target(backend: string, server: string): AdminTarget | undefined;
  /** The proxy kind for legends: `proxy` (listen), `backend`, `frontend`. */
  capability(name: string): string;
  /** True when the changes are already logged by their owner (an instance logs every state change itself). */
  readonly logsItself: boolean;
}

/** @internal Normalises what the handler was given; throws `ERR_LB_INVALID_ARG` for anything else. */
export function resolveSource(source: unknown): ResolvedSource {
  if (isInstance(source)) return fromInstance(source);
  if (typeof source !== 'object' || source === null) throw invalidArg('source', 'must be a HaproxyInstance, a Pool, a Balancer, a snapshot or a list of them', source);
  const inputs = (Array.isArray(source) ? [...(source as readonly StatsInput[])] : [source as StatsInput]);
  // Validates now (a bad input or a repeated pool name is an error of the options, not of a request).
  showStatRecords(inputs);
  return fromInputs(inputs);
}

function isInstance(value: unknown): value is HaproxyInstance {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Partial<HaproxyInstance>;
  return o.backends instanceof Map && o.frontends instanceof Map && typeof o.backend === 'function' && typeof o.config === 'object';
}

function fromInstance(instance: HaproxyInstance): ResolvedSource {
  const backendTarget = (b: HaproxyBackend, server: Server): AdminTarget => ({ pool: b.pool, server, dynamicWeights: b.dynamic });
  return {
    pid: instance.pid,
    version: instance.version,
    logsItself: true,
    uptimeSec: () => {
      const now = [...instance.backends.values()][0]?.pool.clock.now();
      return now === undefined || instance.startedAt === undefined ? undefined : Math.max(0, Math.floor((now - instance.startedAtMs) / 1000));
    },
    connections: () => instance.connections,
    records: () => statRecords(instance),
    csv: () => showStat(instance, { iid: -1, type: -1, sid: -1, up: false, noMaint: false }),
    prometheusInput: () => [...instance.backends.values()].map((b) => ({
      pool: b.balancer,
      proxy: mergedTraffic([...instance.frontends.values()].filter((f) => f.backend === b)),
    })),
    target: (backend, server) => {
      const b = instance.backends.get(backend);
      const s = b?.pool.find(server);
      return b === undefined || s === undefined ? undefined : backendTarget(b, s);
    },
    capability: (name) => {
      const f = instance.frontends.get(name);
      const b = instance.backends.get(name);
      if (f?.kind === 'listen' || b?.kind === 'listen') return 'proxy';
      return b !== undefined ? 'backend' : 'frontend';
    },
  };
}

function livePool(input: StatsInput): Pool | undefined {
  const o = input as { pool?: unknown; snapshot?: unknown; clock?: unknown };
  if (typeof o.snapshot === 'function' && typeof o.clock === 'object') return input as Pool;
  if (typeof o.pool === 'object' && o.pool !== null) return livePool(o.pool as StatsInput);
  return undefined;
}

function fromInputs(inputs: readonly StatsInput[]): ResolvedSource {
  const pools = new Map<string, Pool>();
  for (const input of inputs) {
    const pool = livePool(input);
    if (pool !== undefined) pools.set(pool.name, pool);
  }
  return {
    pid: process.pid,
    version: undefined,
    logsItself: false,
    uptimeSec: () => undefined,
    connections: () => undefined,
    records: () => showStatRecords(inputs),
    csv: () => toShowStat(inputs),
    prometheusInput: () => [...inputs],
    target: (backend, server) => {
      const pool = pools.get(backend);
      const s = pool?.find(server);
      return pool === undefined || s === undefined ? undefined : { pool, server: s, dynamicWeights: true };
    },
    capability: () => 'backend',
  };
}
