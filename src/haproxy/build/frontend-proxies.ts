import { Balancer } from '../../balancer.js';
import type { Clock } from '../../clock.js';
import { Pool } from '../../pool.js';
import { TcpProxy } from '../../proxy/tcp-proxy.js';
import { ProxyWorkers } from '../../workers/proxy-workers.js';
import { type FrontendSection, proxyOptionsOf } from '../config/library-options.js';
import { usesLocalAddresses } from './instance-logs.js';
import type { HaproxyBackend } from './instance-types.js';

/**
 * The proxies of one frontend: its `TcpProxy` in the main thread and, with `nbthread` > 1, the `ProxyWorkers`
 * that serve its TCP binds (the main thread and `nbthread - 1` worker threads), all placing connections with the
 * backend's balancer.
 */
export function frontendProxies(section: FrontendSection, backend: HaproxyBackend | undefined, nbthread: number, clock: Clock): { proxy: TcpProxy; workers: ProxyWorkers | undefined } {
  // A frontend without backend still accepts and closes, as HAProxy does (`<NOSRV>`, `SC`).
  const balancer = backend?.dispatch?.balancer ?? backend?.balancer ?? new Balancer(new Pool(section.name, { clock }), { clock });
  const options = {
    ...proxyOptionsOf(section, backend?.config),
    ...(usesLocalAddresses(section.logFormat) ? { recordLocalAddresses: true } : {}),
    ...(backend?.observer === undefined ? {} : { observer: backend.observer }),
  };
  const proxy = new TcpProxy(balancer, { ...options, clock });
  // nbthread N: N proxy threads, the main thread one of them (as HAProxy's first thread), N - 1 workers.
  const workers = nbthread <= 1 ? undefined : new ProxyWorkers(balancer, { ...options, workers: nbthread - 1, acceptOnMainThread: true });
  return { proxy, workers };
}
