import { invalidArg } from '../errors.js';
import type { ConnectOutcome, OutcomeSink } from '../outcome.js';
import type { Server } from '../server.js';

/**
 * One {@link OutcomeSink} that hands every connection outcome to several, in order: how a proxy or
 * `balancer.connect()` (which take one `observer`) feed both HAProxy's {@link PassiveObserver} and an
 * {@link OutlierDetector}, or a metrics collector besides.
 *
 * @example
 * ```ts
 * const proxy = new TcpProxy(balancer, { observer: fanOutOutcomes(new PassiveObserver(pool), new OutlierDetector(pool)) })
 * ```
 */
export function fanOutOutcomes(...sinks: readonly OutcomeSink[]): OutcomeSink {
  sinks.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || typeof s.reportOutcome !== 'function') {
      throw invalidArg(`sinks[${i}]`, 'must have a reportOutcome(server, outcome) method', s);
    }
  });
  const list = [...sinks];
  return {
    reportOutcome(server: Server, outcome: ConnectOutcome): void {
      for (const s of list) s.reportOutcome(server, outcome);
    },
  };
}
