/**
 * The library objects of one `backend` (or the backend half of a `listen`): pool, balancer, checkers, observer,
 * and the dispatch balancer of a `dispatch` backend.
 */
import { Balancer } from '../../balancer.js';
import type { Clock } from '../../clock.js';
import { ActiveChecker } from '../../health/active-checker.js';
import { AgentChecker } from '../../health/agent-checker.js';
import { PassiveObserver } from '../../health/passive-observer.js';
import { Pool } from '../../pool.js';
import {
  type BackendSection, agentCheckerOptionsOf, checkerOptionsOf, isDynamicAlgorithm, observerOptionsOf, queueTimeoutOf, serverOptionsOf, strategyOf,
} from '../config/library-options.js';
import type { GlobalConfig } from '../config/types.js';
import { DISPATCH_SERVER, type HaproxyBackend } from './instance-types.js';

/** Builds the objects of backend `section` (numbered `uuid`); nothing runs until the instance starts it. */
export function buildBackendObjects(
  section: BackendSection,
  uuid: number,
  global: GlobalConfig,
  s: { readonly clock: Clock; readonly random: () => number },
): HaproxyBackend {
  const clock = s.clock;
  const pool = new Pool(section.name, { servers: section.servers.map(serverOptionsOf), allBackups: section.allBackups, clock });
  const balancer = new Balancer(pool, { strategy: strategyOf(section), timeoutQueueMs: queueTimeoutOf(section), clock, random: s.random });
  const checkerOptions = checkerOptionsOf(section, global) ?? { autoStart: false };
  const checker = new ActiveChecker(pool, { ...checkerOptions, clock, random: s.random });
  const observerOptions = observerOptionsOf(section);
  const observer = observerOptions === undefined ? undefined : new PassiveObserver(pool, observerOptions);
  const agentOptions = agentCheckerOptionsOf(section);
  const agent = agentOptions === undefined ? undefined : new AgentChecker(pool, { ...agentOptions, clock });
  const d = section.dispatch;
  // A dispatch backend sends every connection to one address: a pool of its own that no view shows.
  const dPool = d && new Pool(section.name, { servers: [{ name: DISPATCH_SERVER, host: d.host, port: d.port }], clock });
  return {
    name: section.name, kind: section.kind, uuid, config: section, pool, balancer, checker, agent, observer, dynamic: isDynamicAlgorithm(section),
    ...(dPool && { dispatch: { pool: dPool, balancer: new Balancer(dPool, { timeoutQueueMs: queueTimeoutOf(section), clock }) } }),
  };
}
