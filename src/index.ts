/**
 * switchyard-lb: the library a program writes against — servers and pools, balancers and strategies,
 * health checks, the TCP proxy and balanced sockets, errors, clock and diagnostics channels.
 *
 * The faces live behind their own entries: `switchyard-lb/haproxy` (configuration, log lines, runtime API),
 * `switchyard-lb/metrics` (Prometheus, `show stat`), `switchyard-lb/discovery` (DNS and any async source),
 * `switchyard-lb/adapters/<client>`, `switchyard-lb/testing`.
 *
 * @packageDocumentation
 * @module switchyard-lb
 */
export { Balancer, BALANCER_DEFAULTS } from './balancer.js';
export type { BalancerEvents, BalancerOptions, BalancerStats } from './balancer.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock, TimerHandle, TimerOptions } from './clock.js';
export { ERROR_CODES, LbError } from './errors.js';
export type { LbErrorCode, LbErrorOptions } from './errors.js';
export type { AcquireOptions, Closable, Lease, LeaseSource, QueuePositions, RecycleReason } from './lease.js';
export type { ConnectOutcome, OutcomeSink } from './outcome.js';
export { Pool } from './pool.js';
export type {
  LbState, PoolEvents, PoolOptions, PoolSnapshot, ServerUpdate, Tier, TierLocality, TierOptions, TierSnapshot,
} from './pool.js';
export { LOCALITY_TAG, TIER_DEFAULTS, localityOf, panicEligible } from './pool-tiers.js';
export { RESTORE_CAUSE } from './pool-state.js';
export type { PoolState, RestoreReport, RestoreSkipReason, ServerStateRecord } from './pool-state.js';
export { SERVER_DEFAULTS, Server, WEIGHT_SCALE } from './server.js';
export type {
  AdminState, HoldKind, InitState, OnMarkedDown, OnMarkedUp, OperationalState, SendProxy, ServerOptions, ServerSnapshot,
} from './server.js';
export { ADMIN_CAUSE, CHECK_STATUS_TEXT, ON_ERROR_ACTIONS } from './state/check-result.js';
export type { CheckCause, CheckResult, CheckStatus, OnErrorAction, StateCause } from './state/check-result.js';

export { STRATEGY_NAMES, createStrategy } from './strategies/index.js';
export type { StrategyName, StrategySpec } from './strategies/index.js';
export type { PickContext, ServerGroup, Strategy } from './strategies/strategy.js';
export { First } from './strategies/first.js';
export { LeastConn } from './strategies/leastconn.js';
export { PowerOfTwoChoices } from './strategies/p2c.js';
export { RandomStrategy } from './strategies/random.js';
export type { RandomStrategyOptions } from './strategies/random.js';
export { RoundRobin } from './strategies/roundrobin.js';
export { SmoothWeightedRoundRobin } from './strategies/smooth-weighted-rr.js';
export { SourceHash } from './strategies/source.js';
export type { SourceHashOptions } from './strategies/source.js';
export type { HashKeyKind } from './strategies/internal/server-hash-key.js';
export { StaticRoundRobin } from './strategies/static-rr.js';

export { ActiveChecker, ACTIVE_CHECKER_DEFAULTS } from './health/active-checker.js';
export { AGENT_CHECKER_DEFAULTS, AgentChecker, agentChecker } from './health/agent-checker.js';
export type { AgentCheckerOptions, AgentReporter, AgentSettings } from './health/agent-checker.js';
export type { AgentReport } from './state/agent-reply.js';
export type { ActiveCheckerOptions, ActiveCheckerStats, CheckTargetUpdate, ServerCheckOptions } from './health/active-checker.js';
export { PASSIVE_OBSERVER_DEFAULTS, PassiveObserver } from './health/passive-observer.js';
export type { PassiveObserverOptions, ServerObserveOptions } from './health/passive-observer.js';
export type { Probe, ProbeContext } from './health/probe.js';
export { HTTP_PROBE_DEFAULTS, httpProbe } from './health/probes/http.js';
export type { HttpProbeOptions } from './health/probes/http.js';
export { sendExpectProbe } from './health/probes/send-expect.js';
export type { SendExpectStep } from './health/probes/send-expect.js';
export { tcpConnectProbe } from './health/probes/tcp-connect.js';
export { ldapCheckProbe } from './health/probes/ldap-check.js';
export { mysqlCheckProbe } from './health/probes/mysql-check.js';
export type { MysqlCheckProbeOptions } from './health/probes/mysql-check.js';
export { pgsqlCheckProbe } from './health/probes/pgsql-check.js';
export type { PgsqlCheckProbeOptions } from './health/probes/pgsql-check.js';
export { redisCheckProbe } from './health/probes/redis-check.js';
export { smtpCheckProbe } from './health/probes/smtp-check.js';
export type { SmtpCheckProbeOptions } from './health/probes/smtp-check.js';
export { sslHelloProbe } from './health/probes/ssl-hello.js';
export type { SslHelloProbeOptions } from './health/probes/ssl-hello.js';

export { OUTLIER_DETECTOR_DEFAULTS, OUTLIER_HOLDER, OUTLIER_REASON_KINDS, OutlierDetector } from './resilience/outlier-detector.js';
export type {
  OutlierDetectorEvents, OutlierDetectorOptions, OutlierDetectorSettings, OutlierDetectorStats, OutlierReason, OutlierReasonKind, OutlierReturn,
  OutlierServerStats, RequestResult,
} from './resilience/outlier-detector.js';
export { fanOutOutcomes } from './resilience/outcome-fan-out.js';
export type { CircuitGate, CircuitLimit, RetryGate } from './admission.js';
export { CIRCUIT_BREAKER_DEFAULTS, CircuitBreaker } from './resilience/circuit-breaker.js';
export type { CircuitBreakerEvents, CircuitBreakerOptions, CircuitBreakerStats } from './resilience/circuit-breaker.js';
export { RETRY_BUDGET_DEFAULTS, RetryBudget } from './resilience/retry-budget.js';
export type { RetryBudgetEvents, RetryBudgetOptions, RetryBudgetStats, RetryLoad } from './resilience/retry-budget.js';
export { REBALANCER_DEFAULTS, Rebalancer } from './resilience/rebalancer.js';
export type { RebalanceSource, RebalancerEvents, RebalancerOptions, RebalancerStats } from './resilience/rebalancer.js';

export { CONNECT_DEFAULTS } from './dial/dialer.js';
export type { ConnectPolicyOptions } from './dial/dialer.js';
export type { BalancedConnectOptions } from './dial/connect-options.js';
export type { BalancedSocket } from './dial/balanced-socket.js';
export { TCP_PROXY_DEFAULTS, TcpProxy } from './proxy/tcp-proxy.js';
export type {
  ConnectionRecord, LocalAddresses, ProxyCloseOptions, ProxyConnection, ProxyListenOptions, ProxySocket, ProxyServerStats, RetryPlan, TcpProxyEvents,
  TcpProxyOptions, TcpProxyStats,
} from './proxy/tcp-proxy.js';
export { ProxyWorkers } from './workers/proxy-workers.js';
export type { ProxyWorkersEvents, ProxyWorkersOptions } from './workers/proxy-workers.js';
export { describeTermination } from './proxy/termination.js';
export type { TerminationCause, TerminationCode, TerminationPhase } from './proxy/termination.js';

export { CONNECT_TRACING_CHANNEL, DIAGNOSTICS_CHANNELS } from './diagnostics.js';
export type {
  CheckResultMessage, ConnectContext, DiscoveryErrorMessage, DiscoveryUpdateMessage, PickMessage, PoolMessage, QueueLeaveMessage,
  ServerMessage, ServerStateMessage,
} from './diagnostics-messages.js';
