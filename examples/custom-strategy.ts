/**
 * A user-written strategy: prefer servers in my zone, and among them the one with the fewest connections
 * per unit of weight; fall back to the other zones only when my zone has nothing free.
 *
 * Run: node --import tsx examples/custom-strategy.ts
 */
import { Balancer, Pool, type PickContext, type Server, type Strategy } from '../src/index.js';

class PreferZone implements Strategy {
  readonly name = 'prefer-zone';
  readonly #zoneOf: (server: Server) => string;
  readonly #zone: string;

  constructor(zone: string, zoneOf: (server: Server) => string) {
    this.#zone = zone;
    this.#zoneOf = zoneOf;
  }

  pick(candidates: readonly Server[], ctx: PickContext): Server | undefined {
    let best: Server | undefined;
    let bestScore = Infinity;
    let fallback: Server | undefined; // an excluded server, used only if nothing else is free
    for (const server of candidates) {
      if (ctx.isFull(server)) continue;
      if (ctx.isExcluded(server)) {
        fallback ??= server;
        continue;
      }
      // Other zones cost one extra "connection per weight" so they lose ties and light loads.
      const load = (server.currentConnections + 1) / server.effectiveWeight;
      const score = load + (this.#zoneOf(server) === this.#zone ? 0 : 1);
      if (score < bestScore) {
        best = server;
        bestScore = score;
      }
    }
    return best ?? fallback;
  }
}

const zones: Record<string, string> = { 'a-1': 'eu-west-1a', 'a-2': 'eu-west-1a', 'b-1': 'eu-west-1b' };
const pool = new Pool('api', {
  servers: Object.keys(zones).map((name, i) => ({ name, host: '127.0.0.1', port: 18081 + i })),
});
const balancer = new Balancer(pool, { strategy: new PreferZone('eu-west-1a', (s) => zones[s.name] ?? '') });

const leases = [];
for (let i = 0; i < 6; i++) leases.push(balancer.tryAcquire()!);
console.log('6 held connections:', leases.map((l) => l.server.name).join(' '));
pool.setAdminState('a-1', 'maint');
pool.setAdminState('a-2', 'maint');
const spill = balancer.tryAcquire()!;
console.log('my zone in maintenance, next goes to:', spill.server.name);
for (const lease of [...leases, spill]) lease.release();
console.log('connections left:', pool.servers.map((s) => `${s.name}=${s.currentConnections}`).join(' '));
