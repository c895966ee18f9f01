import { Balancer, type BalancerOptions } from '../../src/balancer.js';
import type { Lease } from '../../src/lease.js';
import { Pool, type PoolOptions } from '../../src/pool.js';
import type { Server, ServerOptions } from '../../src/server.js';
import type { PickContext, Strategy } from '../../src/strategies/strategy.js';

/** Servers s1..sN on 127.0.0.1:19001.. with the given weights (and extra options per server). */
export function servers(weights: readonly number[], extra: Partial<ServerOptions> = {}): ServerOptions[] {
  return weights.map((weight, i) => ({ name: `s${i + 1}`, host: '127.0.0.1', port: 19001 + i, weight, ...extra }));
}

/** A pool and balancer over `servers`, as HAProxy's `listen fe` of the reference harness. */
export function setup(
  serverList: readonly ServerOptions[],
  balancer: BalancerOptions = {},
  pool: Omit<PoolOptions, 'servers'> = {},
): { pool: Pool; balancer: Balancer } {
  const p = new Pool('fe', { ...pool, servers: serverList });
  return { pool: p, balancer: new Balancer(p, balancer) };
}

/**
 * `n` sequential short connections ("close" mode of the reference harness): acquire, note the server, release.
 * Returns the server names in order.
 */
export function closeMode(balancer: Balancer, n: number, options: { clientAddress?: string } = {}): string[] {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const lease = balancer.tryAcquire(options);
    if (!lease) throw new Error(`connection ${i + 1} would have to queue`);
    names.push(lease.server.name);
    lease.release();
  }
  return names;
}

/** `n` sequential connections that stay open ("hold" mode). Returns the names and the leases to release later. */
export function holdMode(balancer: Balancer, n: number): { names: string[]; leases: Lease[] } {
  const names: string[] = [];
  const leases: Lease[] = [];
  for (let i = 0; i < n; i++) {
    const lease = balancer.tryAcquire();
    if (!lease) throw new Error(`connection ${i + 1} would have to queue`);
    names.push(lease.server.name);
    leases.push(lease);
  }
  return { names, leases };
}

/**
 * Takes the first candidate that is neither full nor excluded, in declaration order, else the first excluded one.
 * With `usesServerQueues` it behaves as a hash-like strategy does (server queues, no early redispatch).
 */
export class InOrder implements Strategy {
  readonly name = 'in-order';
  constructor(readonly usesServerQueues = false) {}
  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    let fallback: Server | undefined;
    for (const c of candidates) {
      if (ctx.isFull(c)) continue;
      if (!ctx.isExcluded(c)) return c;
      fallback ??= c;
    }
    return fallback;
  }
}
