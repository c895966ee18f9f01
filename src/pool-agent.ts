import type { EventEmitter } from 'eventemitter3';
import type { Clock } from './clock.js';
import { invalidArg } from './errors.js';
import * as v from './internal/validate.js';
import type { PoolEvents } from './pool-events.js';
import type { AdminState, Server } from './server.js';
import { type AgentPlan, type AgentReport, planAgentReply } from './state/agent-reply.js';
import { ADMIN_CAUSE, type CheckResult, type StateCause, validCheckResult } from './state/check-result.js';

/** The plan of a forced agent health: only the health moves; the status stays the agent's. */
const FORCED: CheckResult = Object.freeze({ status: 'CHECKED' });
import { applyAgentResult, applyForcedAgentHealth } from './state/health-counter.js';
import type { ServerState } from './state/server-state.js';

/**
 * @internal What the agent rules need of their pool: its events, its admin-state method, and its one place of
 * change (`#change`), so an agent changes a server exactly as a check or an operator does.
 */
export interface AgentHost {
  readonly pool: EventEmitter<PoolEvents> & {
    readonly name: string;
    readonly clock: Clock;
    setAdminState(name: string, state: AdminState, cause: StateCause): void;
    has(server: Server): boolean;
  };
  change(server: Server, cause: StateCause, mutate: (st: ServerState) => void, announce?: () => void): void;
}

export type { AgentReport } from './state/agent-reply.js';

/** The plan of a report: a reply line's words, or a result alone (the agent could not be asked). */
function planOf(report: AgentReport, server: Server): AgentPlan {
  const o = v.plainObject('agent report', report);
  if (o['force'] !== undefined) {
    v.knownKeys('agent report', o, ['force']);
    return { health: v.oneOf('agent report.force', o['force'], ['up', 'down']), result: FORCED };
  }
  if (o['line'] !== undefined) {
    v.knownKeys('agent report', o, ['line', 'durationMs']);
    const line = o['line'];
    if (typeof line !== 'string') throw invalidArg('agent report.line', 'must be a string', line);
    const durationMs = o['durationMs'] === undefined ? undefined : v.durationMs('agent report.durationMs', o['durationMs']);
    const plan = planAgentReply(line.split(/[\r\n]/)[0] ?? '', server.initialWeight);
    return durationMs === undefined ? plan : { ...plan, result: { ...plan.result, durationMs } };
  }
  v.knownKeys('agent report', o, ['result']);
  return { result: validCheckResult(o['result'] as never) };
}

/**
 * @internal Applies one agent report (HAProxy `tcpcheck_agent_expect_reply()`), in HAProxy's order: the admin word,
 * then weight and maxconn, then the agent's status and health with `agent:check`. `{ force }` (HAProxy `set server …
 * agent up|down`, cause "changed from CLI" by default) sets the agent's health and takes the server up or down with
 * it, whatever its health check says, and keeps the agent's status. Returns false (and does nothing) for a server
 * that is not a member or whose agent is off (but for `{ enabled }`), true otherwise.
 */
export function applyAgentReport(host: AgentHost, server: Server, report: AgentReport, cause?: StateCause): boolean {
  const toggle = report !== null && typeof report === 'object' && 'enabled' in report;
  if (!host.pool.has(server) || !(server.agentEnabled || (server.agent && toggle))) return false;
  if (toggle) {
    v.knownKeys('agent report', report as unknown as Record<string, unknown>, ['enabled']);
    const on = v.boolean('agent report.enabled', report.enabled);
    if (server.agentEnabled !== on) host.change(server, cause ?? ADMIN_CAUSE, (st) => void (st.agent !== undefined && (st.agent.enabled = on)));
    return true;
  }
  const plan = planOf(report, server);
  const now = (): number => host.pool.clock.now();
  if ('force' in report) {
    host.change(server, cause ?? ADMIN_CAUSE, (st) => st.setOperational(applyForcedAgentHealth(st, plan.health ?? 'up'), now()));
    return true;
  }
  const why: StateCause = cause ?? { source: 'agent', result: plan.result };
  // HAProxy keeps maintenance flags apart: `ready` does not end the configuration's maintenance, `drain` does not end
  // a maintenance (it only adds the drain flag under it).
  const admin = plan.admin;
  const skip = (admin === 'ready' && server.maintFromConfig) || (admin === 'drain' && server.adminState === 'maint');
  if (admin !== undefined && !skip) host.pool.setAdminState(server.name, admin, why);
  if (plan.weight !== undefined || plan.maxconn !== undefined) {
    host.change(server, why, (st) => {
      if (plan.weight !== undefined) st.weight = plan.weight;
      if (plan.maxconn !== undefined) st.maxconn = plan.maxconn;
    });
  }
  const previousHealth = server.agentHealth ?? 0;
  const previousStatus = server.agentCheck?.status;
  host.change(
    server,
    why,
    (st) => st.setOperational(applyAgentResult(st, plan.result, plan.health, server.check, server.rise, server.fall), now()),
    () => host.pool.emit('agent:check', server, plan.result, previousHealth, previousStatus),
  );
  return true;
}
