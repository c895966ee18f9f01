import os from 'node:os';
import type { Clock } from '../clock.js';
import { LbError, invalidArg } from '../errors.js';
import type { ActiveCheckerOptions } from '../health/active-checker-options.js';
import type { CheckResult } from '../state/check-result.js';
import type { Probe } from '../health/probe.js';
import { tcpConnectProbe } from '../health/probes/tcp-connect.js';
import * as v from '../internal/validate.js';
import { Pool } from '../pool.js';
import type { Server } from '../server.js';
import { type EtcdClient, checkClient } from './etcd-client.js';
import type { PublishedCheck } from './fleet-record.js';

/** The checker settings the prober runs with: {@link ActiveCheckerOptions} but the clock and start, which the fleet owns. */
export type FleetCheckerOptions = Omit<ActiveCheckerOptions, 'autoStart' | 'clock'>;

/** Options of {@link FleetHealth}. */
export interface FleetHealthOptions {
  /** The etcd3 client (or a namespace of one). Yours to close, after the fleet health. */
  readonly client: EtcdClient;
  /** This instance's name in the fleet: shown as `by` in every result it publishes. @defaultValue `<hostname>:<pid>` */
  readonly identity?: string;
  /** Key prefix of the shared state; the pool's keys are under `<prefix><pool name>/`. @defaultValue 'switchyard/health/' */
  readonly prefix?: string;
  /** TTL of this instance's lease, whole seconds: a dead prober is replaced within this + `interMs`. @defaultValue 10 */
  readonly leaseTtlSeconds?: number;
  /**
   * How the prober checks (probe, `interMs`, `fastinterMs`, per-server settings…), as for `ActiveChecker`: each
   * entry of `servers` must name a server of the pool with `check: true`. @defaultValue {}
   */
  readonly checker?: FleetCheckerOptions;
  /** Start each server from the fleet's published state instead of `UP 1/fall`. @defaultValue true */
  readonly restoreState?: boolean;
  /** Publish passive observation's error-limit reports so the prober checks at once. @defaultValue false */
  readonly publishPassive?: boolean;
  /**
   * Spread the probing over the instances: each server has a preferred prober among the live instances
   * (rendezvous hashing of the server's name and the instances' identities); an instance that holds a server
   * another live instance is preferred for hands it over after its next published result, and an instance that is
   * not preferred waits `claimDelayMs` for the preferred one before claiming an unclaimed server. Off: the first
   * instance to claim a server keeps it. @defaultValue true
   */
  readonly spreadProbers?: boolean;
  /** With `spreadProbers`, how long an instance waits for a server's preferred prober to claim it, ms. @defaultValue 1000 */
  readonly claimDelayMs?: number;
  /**
   * Attempts after the first at writing a result that failed for a network reason (no answer, a timeout),
   * `retryMs` apart doubling up to `maxRetryMs`, while the claim is still held; each attempt is fenced like the
   * first; at most 10. A result given up emits `result:lost`. @defaultValue 2
   */
  readonly publishRetries?: number;
  /** Longest wait for one etcd request, ms. @defaultValue 5000 */
  readonly timeoutMs?: number;
  /** First delay before trying etcd again after a failure, ms; doubles up to `maxRetryMs`. @defaultValue 500 */
  readonly retryMs?: number;
  /** @defaultValue 10000 */
  readonly maxRetryMs?: number;
  /** Source of time. @defaultValue the pool's clock */
  readonly clock?: Clock;
}

/** Default values of {@link FleetHealthOptions}. */
export const FLEET_HEALTH_DEFAULTS = Object.freeze({
  prefix: 'switchyard/health/', leaseTtlSeconds: 10, restoreState: true, publishPassive: false, spreadProbers: true, claimDelayMs: 1000,
  publishRetries: 2, timeoutMs: 5000, retryMs: 500, maxRetryMs: 10_000,
});

/**
 * How this instance takes part: `starting` until etcd first answers; `shared` while it holds a lease (it probes
 * the servers it was elected for and applies the published results of the others); `local` while etcd cannot
 * be reached (it probes every server itself, as a lone HAProxy would, and publishes nothing).
 */
export type FleetMode = 'starting' | 'shared' | 'local';

/** This instance's part for one server: `prober` (elected), `follower` (applies another's results), `local` (fallback). */
export type FleetRole = 'prober' | 'follower' | 'local';

/** Events of a {@link FleetHealth}. */
export interface FleetHealthEvents {
  'fleet:mode': [mode: FleetMode, previous: FleetMode];
  /** This instance's role for a server changed; `holder` is the prober's identity when known. */
  'prober:change': [server: string, role: FleetRole, holder: string | undefined];
  /** A result of this instance's prober was written at `revision`. */
  'result:published': [server: string, record: PublishedCheck, revision: number];
  /** A result was applied to the pool (`revision` undefined for a local check in `local` mode). */
  'result:applied': [server: Server, result: CheckResult, revision: number | undefined];
  /** This instance's result was refused by etcd: it no longer held the claim (stale prober). Never applied anywhere. */
  'result:fenced': [server: string, record: PublishedCheck];
  /**
   * A result of this instance's prober could not be written (`publishRetries` exhausted, or the claim went
   * meanwhile): the other instances miss this one step of the counter; the next result carries on.
   */
  'result:lost': [server: string, record: PublishedCheck, error: unknown];
  /** A published result was not applied: `address` (the server here has another address) or `invalid`. */
  'result:ignored': [server: string, reason: 'address' | 'invalid', detail: unknown];
  /** A server started from the fleet's published state (`restoreState`). */
  'state:restored': [server: Server, record: PublishedCheck];
  /** Something failed against etcd; the fleet retries by itself (and probes locally meanwhile if it must). */
  'fleet:error': [error: unknown];
}

/** Counters of a {@link FleetHealth}. */
export interface FleetHealthStats {
  readonly mode: FleetMode;
  /** Servers this instance probes now (as prober, or locally). */
  readonly probing: number;
  readonly published: number;
  readonly applied: number;
  readonly fenced: number;
  readonly lost: number;
  readonly restored: number;
  readonly leaseId: string | undefined;
}

const OPTION_KEYS = [
  'client', 'identity', 'prefix', 'leaseTtlSeconds', 'checker', 'restoreState', 'publishPassive', 'spreadProbers', 'claimDelayMs', 'publishRetries',
  'timeoutMs', 'retryMs', 'maxRetryMs', 'clock',
] as const;

/** @internal {@link FleetHealthOptions} validated, defaults applied. */
export interface ResolvedFleetOptions {
  readonly client: EtcdClient;
  readonly identity: string;
  readonly prefix: string;
  readonly leaseTtlSeconds: number;
  readonly clock: Clock;
  readonly restore: boolean;
  readonly publishPassive: boolean;
  readonly spread: boolean;
  readonly claimDelayMs: number;
  readonly publishRetries: number;
  readonly timeoutMs: number;
  readonly retryMs: number;
  readonly maxRetryMs: number;
  /** The checker options without the probe, validated again by the ActiveChecker. */
  readonly checker: FleetCheckerOptions;
  readonly probe: Probe;
}

/** @internal Validates {@link FleetHealthOptions} once; messages name the option and the value received. */
export function resolveFleetOptions(pool: unknown, options: FleetHealthOptions): ResolvedFleetOptions {
  if (!(pool instanceof Pool)) throw invalidArg('pool', 'must be a Pool', pool);
  const o = v.plainObject('fleet health options', options);
  v.knownKeys('fleet health options', o, OPTION_KEYS);
  const checker = v.plainObject('checker', o['checker'] ?? {});
  for (const key of ['autoStart', 'clock']) {
    if (key in checker) {
      throw new LbError('ERR_LB_INVALID_ARG', `checker.${key} is set by the fleet (use the fleet's clock option), got ${JSON.stringify(String(checker[key]))}`, {
        details: { field: `checker.${key}` },
      });
    }
  }
  const { probe = tcpConnectProbe(), ...rest } = checker;
  if (typeof probe !== 'function') throw invalidArg('checker.probe', 'must be an async function (server, signal, context)', probe);
  return {
    client: checkClient(o['client']),
    identity: v.nonEmptyString('identity', o['identity'] ?? `${os.hostname()}:${process.pid}`),
    prefix: v.nonEmptyString('prefix', o['prefix'] ?? FLEET_HEALTH_DEFAULTS.prefix),
    leaseTtlSeconds: v.positiveInteger('leaseTtlSeconds', o['leaseTtlSeconds'] ?? FLEET_HEALTH_DEFAULTS.leaseTtlSeconds),
    clock: (o['clock'] as Clock | undefined) ?? pool.clock,
    restore: v.boolean('restoreState', o['restoreState'] ?? FLEET_HEALTH_DEFAULTS.restoreState),
    publishPassive: v.boolean('publishPassive', o['publishPassive'] ?? FLEET_HEALTH_DEFAULTS.publishPassive),
    spread: v.boolean('spreadProbers', o['spreadProbers'] ?? FLEET_HEALTH_DEFAULTS.spreadProbers),
    claimDelayMs: v.durationMs('claimDelayMs', o['claimDelayMs'] ?? FLEET_HEALTH_DEFAULTS.claimDelayMs),
    publishRetries: v.integerInRange('publishRetries', o['publishRetries'] ?? FLEET_HEALTH_DEFAULTS.publishRetries, 0, 10),
    timeoutMs: v.durationMs('timeoutMs', o['timeoutMs'] ?? FLEET_HEALTH_DEFAULTS.timeoutMs, { allowZero: false }),
    retryMs: v.durationMs('retryMs', o['retryMs'] ?? FLEET_HEALTH_DEFAULTS.retryMs, { allowZero: false }),
    maxRetryMs: v.durationMs('maxRetryMs', o['maxRetryMs'] ?? FLEET_HEALTH_DEFAULTS.maxRetryMs, { allowZero: false }),
    checker: rest as FleetCheckerOptions,
    probe: probe as Probe,
  };
}
