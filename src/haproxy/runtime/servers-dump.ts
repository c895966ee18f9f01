/**
 * What HAProxy 2.6 does on `SIGHUP` (`src/haproxy.c sig_dump_state()`, checked against Debian's haproxy 2.6.12):
 * it keeps running and dumps the state of every server of every proxy, each line as a `[WARNING]` on stderr and
 * at `notice` to the proxy's log targets:
 *
 * ```
 * [WARNING]  (4711) : SIGHUP received, dumping servers states.
 * SIGHUP received, dumping servers states for proxy web.                       (log only)
 * SIGHUP: Server web/s1 is UP. Conn: 1 act, 0 pend, 12 tot.
 * SIGHUP: Proxy web has 2 active servers and 0 backup servers available. Conn: act(FE+BE): 1+1, 0 pend (0 unass), tot(FE+BE): 12+12.
 * ```
 *
 * HAProxy's internal proxies (`GLOBAL` for the stats sockets, `<HTTPCLIENT>`) have no counterpart in switchyard.
 */
import type { HaproxyInstance } from '../build/instance.js';
import { proxiesInOrder } from '../config/library-options.js';

/** Writes the dump: stderr copies (unless the instance is quiet) and the lines to each proxy's log targets. */
export function dumpServersStates(instance: HaproxyInstance): void {
  instance._warnAndLog(undefined, 'SIGHUP received, dumping servers states.');
  for (const section of proxiesInOrder(instance.config)) {
    const name = section.name;
    const f = section.kind === 'backend' ? undefined : instance.frontends.get(name);
    const b = section.kind === 'frontend' ? undefined : instance.backends.get(name);
    instance._warnAndLog(name, `SIGHUP received, dumping servers states for proxy ${name}.`, { level: 'notice', stderr: false });
    const line = (text: string): void => instance._warnAndLog(name, text, { level: 'notice' });
    let serverQueues = 0;
    for (const s of b?.pool.servers ?? []) {
      // HAProxy's `cur_state != SRV_ST_STOPPED`: starting, up and stopping are UP; down and maintenance are DOWN.
      const up = s.adminState !== 'maint' && s.operationalState !== 'down';
      serverQueues += s.queued;
      line(`SIGHUP: Server ${name}/${s.name} is ${up ? 'UP' : 'DOWN'}. Conn: ${s.currentConnections} act, ${s.queued} pend, ${s.totalConnections} tot.`);
    }
    const pending = b?.balancer.queued ?? 0;
    const conn = `Conn: act(FE+BE): ${f?.proxy.connections ?? 0}+${b?.balancer.activeLeases ?? 0}, ${pending} pend (${Math.max(0, pending - serverQueues)} unass), `
      + `tot(FE+BE): ${f?.proxy.stats().total ?? 0}+${b?.balancer.stats().totalLeases ?? 0}.`;
    if (b === undefined || b.pool.size === 0) {
      line(`SIGHUP: Proxy ${name} has no servers. ${conn}`);
    } else if (b.pool.activeUsable.length === 0) {
      line(`SIGHUP: Proxy ${name} ${b.pool.backupUsable.length > 0 ? 'is running on backup servers' : 'has no server available'} ! ${conn}`);
    } else {
      line(`SIGHUP: Proxy ${name} has ${b.pool.activeUsable.length} active servers and ${b.pool.backupUsable.length} backup servers available. ${conn}`);
    }
  }
}
