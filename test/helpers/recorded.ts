import type { Lease } from '../../src/lease.js';
import type { ServerOptions } from '../../src/server.js';
import type { StrategySpec } from '../../src/strategies/index.js';
import { setup } from './picks.js';

/**
 * Replays scenarios recorded from a real HAProxy 2.6.12 (connections and runtime commands, in order) through
 * the public API, so a test can compare the servers HAProxy chose with the ones switchyard chooses.
 */

/** One step: picks (close mode) or holds, releases a held connection, or a runtime change. */
export type Step =
  | readonly ['picks' | 'hold', string]
  | readonly ['release', number]
  | readonly ['health', string, 'up' | 'down']
  | readonly ['state', string, 'ready' | 'drain' | 'maint']
  | readonly ['weight', string, number | `${number}%`];

/** A recorded scenario. */
export interface Scenario {
  readonly name: string;
  /** HAProxy `server` lines without the address: `s1 weight 3 check`, `b1 backup`, `s2 maxconn 1`. */
  readonly servers: readonly string[];
  readonly allBackups?: boolean;
  /** A server with no listener: a connection sent to it is retried once on another server. */
  readonly dead?: string;
  readonly steps: readonly Step[];
}

function serverOptions(line: string, i: number): ServerOptions {
  const [name, ...words] = line.split(/\s+/);
  const o: { -readonly [K in keyof ServerOptions]: ServerOptions[K] } = { name: name!, host: '127.0.0.1', port: 19001 + i };
  for (let j = 0; j < words.length; j++) {
    const w = words[j];
    if (w === 'weight') o.weight = Number(words[++j]);
    else if (w === 'maxconn') o.maxconn = Number(words[++j]);
    else if (w === 'backup') o.backup = true;
    else if (w === 'check') o.check = true;
    else throw new Error(`unknown server keyword ${w}`);
  }
  return o;
}

/** Runs `scenario` with `strategy`; returns the recorded and the actual steps, line for line. */
export function replay(scenario: Scenario, strategy: StrategySpec): { expected: string[]; actual: string[] } {
  const { pool, balancer } = setup(scenario.servers.map(serverOptions), { strategy }, { allBackups: scenario.allBackups ?? false });
  const held: Lease[] = [];
  const expected: string[] = [];
  const actual: string[] = [];
  for (const step of scenario.steps) {
    const label = step.slice(0, 1).concat(step.slice(1).map(String)).join(' ');
    if (step[0] === 'picks' || step[0] === 'hold') {
      const names = step[1].trim().split(' ');
      const got: string[] = [];
      for (let i = 0; i < names.length; i++) {
        let lease = balancer.tryAcquire();
        if (lease && lease.server.name === scenario.dead) {
          lease.release();
          lease = balancer.tryAcquire({ exclude: lease.server });
        }
        got.push(lease?.server.name ?? '-');
        if (step[0] === 'hold' && lease) held.push(lease);
        else lease?.release();
      }
      expected.push(`${step[0]} ${names.join(' ')}`);
      actual.push(`${step[0]} ${got.join(' ')}`);
      continue;
    }
    if (step[0] === 'release') held[step[1]]!.release();
    else if (step[0] === 'health') pool.setHealth(step[1], step[2]);
    else if (step[0] === 'state') pool.setAdminState(step[1], step[2]);
    else if (step[0] === 'weight') pool.setWeight(step[1], step[2]);
    expected.push(label);
    actual.push(label);
  }
  return { expected, actual };
}
