import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Lease } from '../../../src/lease.js';
import type { ServerOptions } from '../../../src/server.js';
import type { StrategySpec } from '../../../src/strategies/index.js';
import { setup } from '../../helpers/picks.js';

/*
 * The loop shared by the model tests of the HAProxy strategies: random farms and event sequences applied both
 * to a balancer and to a literal model of HAProxy's algorithm, which must agree pick for pick.
 */

/** One server of a random farm. */
export interface FarmServer {
  readonly name: string;
  readonly weight: number;
  readonly backup: boolean;
  readonly maxconn: number;
  /** Starts in maintenance. */
  readonly disabled: boolean;
}

/** A random farm: the servers of one `listen` section and its `option allbackups`. */
export interface Farm {
  readonly servers: readonly FarmServer[];
  readonly allBackups: boolean;
}

/** An event of a random sequence; `W` is how a weight command says its weight. */
export type Command<W> =
  | { readonly kind: 'pick'; readonly hold: boolean; readonly avoid: number | null }
  | { readonly kind: 'release'; readonly index: number }
  | { readonly kind: 'health'; readonly server: number; readonly up: boolean }
  | { readonly kind: 'admin'; readonly server: number; readonly state: 'ready' | 'drain' | 'maint' }
  | { readonly kind: 'weight'; readonly server: number; readonly weight: W };

/** The state every model keeps per server and the loop updates. */
export interface ModelServer {
  readonly name: string;
  admin: 'ready' | 'drain' | 'maint';
  /** Health: false once a check said down. */
  running: boolean;
  /** Connections held on it. */
  served: number;
}

/** What the loop needs of a model. */
export interface StrategyModel<S extends ModelServer, W> {
  readonly servers: readonly S[];
  /** The server HAProxy picks (null: none), `avoid` being the server a retry avoids. */
  pick(avoid: S | null): S | null;
  /** The server cannot take a connection (maxconn reached). */
  saturated(server: S): boolean;
  /** Gives `server` the weight of a command; returns the weight the pool is given. */
  setWeight(server: S, weight: W): number | `${number}%`;
  /** HAProxy's update after the state or weight of `server` (the `index`-th) changed. */
  changed(server: S, index: number): void;
}

/** How often each kind of command comes (relative weights); a kind left out never comes. */
export interface CommandMix {
  readonly pick: number;
  readonly release: number;
  readonly health?: number;
  readonly admin?: number;
  readonly weight?: number;
}

/** Random sequences of 20 to 250 commands on servers 0…maxServer. */
export function commandsArbitrary<W>(options: {
  readonly maxServer: number;
  readonly weight: fc.Arbitrary<W>;
  readonly mix: CommandMix;
  /** Every pick holds its connection. */
  readonly holdAll?: boolean;
}): fc.Arbitrary<Command<W>[]> {
  const { mix } = options;
  const idx = fc.integer({ min: 0, max: options.maxServer });
  const kinds: fc.WeightedArbitrary<Command<W>>[] = [
    {
      weight: mix.pick,
      arbitrary: fc.record({
        kind: fc.constant('pick' as const),
        hold: options.holdAll ? fc.constant(true) : fc.boolean(),
        avoid: fc.oneof(fc.constant(null), fc.constant(null), idx),
      }),
    },
    { weight: mix.release, arbitrary: fc.record({ kind: fc.constant('release' as const), index: fc.nat() }) },
  ];
  if (mix.health) kinds.push({ weight: mix.health, arbitrary: fc.record({ kind: fc.constant('health' as const), server: idx, up: fc.boolean() }) });
  if (mix.admin) {
    const state = fc.constantFrom('ready' as const, 'drain' as const, 'maint' as const);
    kinds.push({ weight: mix.admin, arbitrary: fc.record({ kind: fc.constant('admin' as const), server: idx, state }) });
  }
  if (mix.weight) kinds.push({ weight: mix.weight, arbitrary: fc.record({ kind: fc.constant('weight' as const), server: idx, weight: options.weight }) });
  return fc.array(fc.oneof(...kinds), { minLength: 20, maxLength: 250 });
}

/**
 * Builds the farm (every server checked) behind a balancer with `strategy`, applies `commands` to it and to
 * `model`, and asserts that every pick agrees. A failure message holds the commands so far.
 */
export function checkAgainstModel<S extends ModelServer, W>(
  strategy: StrategySpec,
  farm: Farm,
  model: StrategyModel<S, W>,
  commands: readonly Command<W>[],
): void {
  const list: ServerOptions[] = farm.servers.map((s, i) => ({
    name: s.name,
    host: '127.0.0.1',
    port: 19001 + i,
    weight: s.weight,
    backup: s.backup,
    maxconn: s.maxconn,
    disabled: s.disabled,
    check: true,
  }));
  const { pool, balancer } = setup(list, { strategy }, { allBackups: farm.allBackups });
  const n = farm.servers.length;
  const held: { lease: Lease; server: S }[] = [];
  const log: string[] = [];
  for (const c of commands) {
    if (c.kind === 'pick') {
      const avoid = c.avoid === null ? null : model.servers[c.avoid % n]!;
      const expected = model.pick(avoid);
      const willServe = expected !== null && !model.saturated(expected);
      const lease = pool.available ? balancer.tryAcquire(avoid ? { exclude: pool.get(avoid.name) } : {}) : undefined;
      log.push(`pick${c.hold ? ' hold' : ''}${avoid ? ` avoid ${avoid.name}` : ''} → ${lease?.server.name ?? '-'}`);
      assert.equal(lease?.server.name ?? '-', willServe ? expected.name : '-', log.join('\n'));
      if (lease && expected) {
        if (c.hold) {
          expected.served++;
          held.push({ lease, server: expected });
        } else {
          lease.release();
        }
      }
    } else if (c.kind === 'release') {
      if (held.length === 0) continue;
      const [h] = held.splice(c.index % held.length, 1);
      h!.lease.release();
      h!.server.served--;
      log.push(`release ${h!.server.name}`);
    } else {
      const i = c.server % n;
      const s = model.servers[i]!;
      if (c.kind === 'health') {
        pool.setHealth(s.name, c.up ? 'up' : 'down');
        s.running = c.up;
        log.push(`health ${s.name} ${c.up ? 'up' : 'down'}`);
      } else if (c.kind === 'admin') {
        pool.setAdminState(s.name, c.state);
        // Leaving maintenance: a checked server comes back UP (HAProxy sets the health to `rise`).
        if (s.admin === 'maint' && c.state !== 'maint') s.running = true;
        if (c.state === 'maint') s.running = false;
        s.admin = c.state;
        log.push(`state ${s.name} ${c.state}`);
      } else {
        const weight = model.setWeight(s, c.weight);
        pool.setWeight(s.name, weight);
        log.push(`weight ${s.name} ${weight}`);
      }
      model.changed(s, i);
    }
  }
}
