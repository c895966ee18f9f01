export { Balancer, BALANCER_DEFAULTS } from './balancer.js';
export type { AcquireOptions, BalancerEvents, BalancerOptions, BalancerStats } from './balancer.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock, TimerHandle, TimerOptions } from './clock.js';
export { ERROR_CODES, LbError } from './errors.js';
export type { LbErrorCode, LbErrorOptions } from './errors.js';
export { ADMIN_CAUSE, CHECK_STATUS_TEXT } from './state/check-result.js';
export type { CheckResult, CheckStatus, StateCause } from './state/check-result.js';
export type { Closable, Lease } from './lease.js';
export type { ConnectOutcome, OutcomeSink } from './outcome.js';
export { Pool } from './pool.js';
export type { LbState, PoolEvents, PoolOptions, PoolSnapshot, ServerUpdate } from './pool.js';
export { SERVER_DEFAULTS, Server, WEIGHT_SCALE } from './server.js';
export type { AdminState, InitState, OperationalState, ServerOptions, ServerSnapshot } from './server.js';
export { STRATEGY_NAMES, createStrategy } from './strategies/index.js';
export type { StrategyName, StrategySpec } from './strategies/index.js';
export { First } from './strategies/first.js';
export { LeastConn } from './strategies/leastconn.js';
export { PowerOfTwoChoices } from './strategies/p2c.js';
export { RandomStrategy } from './strategies/random.js';
export type { RandomStrategyOptions } from './strategies/random.js';
export { RoundRobin } from './strategies/roundrobin.js';
export { SmoothWeightedRoundRobin } from './strategies/smooth-weighted-rr.js';
export { SourceHash } from './strategies/source.js';
export type { SourceHashOptions } from './strategies/source.js';
export { StaticRoundRobin } from './strategies/static-rr.js';
export type { PickContext, ServerGroup, Strategy } from './strategies/strategy.js';
export { formatDiagnostic } from './haproxy/config/diagnostics.js';
export type { ConfigDiagnostic, DiagnosticSeverity } from './haproxy/config/diagnostics.js';
export { loadHaproxyConfigFile } from './haproxy/config/file.js';
export type { LoadHaproxyConfigOptions } from './haproxy/config/file.js';
export { parseHaproxyConfig, parseHaproxyConfigSources } from './haproxy/config/parser.js';
export type { ConfigSource, ParseHaproxyConfigOptions } from './haproxy/config/parser.js';
export type { ConfigEnv } from './haproxy/config/tokenizer.js';
export type {
  BackendConfig, BalanceAlgorithm, BindAddress, DefaultServerSettings, DefaultsConfig, FrontendConfig, GlobalConfig,
  HaproxyConfig, HashType, HttpCheck, ListenConfig, LogAddress, LogLevel, LogTarget, OnError, ProxyLog, ProxyTimeouts,
  ServerConfig, SourceLocation, StatsSocket, TcpCheckRule, CheckKind,
} from './haproxy/config/types.js';
export { CONNECT_TRACING_CHANNEL, DIAGNOSTICS_CHANNELS } from './diagnostics.js';
export type {
  CheckResultMessage, ConnectContext, DiscoveryErrorMessage, DiscoveryUpdateMessage, PickMessage, PoolMessage, QueueLeaveMessage,
  ServerMessage, ServerStateMessage,
} from './diagnostics-messages.js';
export { Discovery, FOLLOW_SERVERS_DEFAULTS, followServers } from './discovery/follow-servers.js';
export type {
  DiscoveredServer, DiscoveredServerDefaults, DiscoveryChange, DiscoveryEvents, FollowServersOptions, ServerListSource,
} from './discovery/follow-servers.js';
export { DNS_SOURCE_DEFAULTS, DnsSource } from './discovery/dns-source.js';
export type { DnsAnswer, DnsRecordType, DnsSourceOptions } from './discovery/dns-source.js';
export type { DnsFailure } from './discovery/dns-error.js';
export { PROMETHEUS_CONTENT_TYPE, PROMETHEUS_DEFAULTS, toPrometheus } from './metrics/prometheus.js';
export type { PrometheusOptions } from './metrics/prometheus.js';
export { SHOW_STAT_FIELDS, showStatRecords, toShowStat } from './metrics/show-stat.js';
export type { ShowStatField, ShowStatOptions, ShowStatRecord } from './metrics/show-stat.js';
export type {
  PoolStatsSnapshot, ProxyServerTraffic, ProxyStatsSource, ProxyTraffic, ServerStatsSnapshot, StatsInput,
} from './metrics/stats-input.js';
export { ActiveChecker, ACTIVE_CHECKER_DEFAULTS } from './health/active-checker.js';
export type { ActiveCheckerOptions, ActiveCheckerStats, ServerCheckOptions } from './health/active-checker.js';
export { ON_ERROR_ACTIONS, checkVerdict, isCheckStatus, statusHasCode } from './state/check-result.js';
export type { CheckCause, CheckVerdict, OnErrorAction } from './state/check-result.js';
export { PASSIVE_OBSERVER_DEFAULTS, PassiveObserver } from './health/passive-observer.js';
export type { PassiveObserverOptions, ServerObserveOptions } from './health/passive-observer.js';
export type { Probe, ProbeContext } from './health/probe.js';
export { HTTP_PROBE_DEFAULTS, httpProbe } from './health/probes/http.js';
export type { HttpProbeOptions } from './health/probes/http.js';
export { sendExpectProbe } from './health/probes/send-expect.js';
export type { SendExpectStep } from './health/probes/send-expect.js';
export { tcpConnectProbe } from './health/probes/tcp-connect.js';
export { formatHaproxyLog, haproxyLog } from './haproxy/log/format.js';
export type { HaproxyLogEvent, HaproxyLogOptions, HaproxyLogServer, HaproxyServerCounts, HaproxySessionCounts } from './haproxy/log/format.js';
export { TCP_PROXY_DEFAULTS, TcpProxy } from './proxy/tcp-proxy.js';
export type {
  ConnectionRecord, ProxyCloseOptions, ProxyConnection, ProxyListenOptions, ProxyServerStats, RetryPlan, TcpProxyEvents,
  TcpProxyOptions, TcpProxyStats,
} from './proxy/tcp-proxy.js';
export { connect, createConnection } from './dial/connect.js';
export type { BalancedConnectOptions } from './dial/connect.js';
export { BalancedSocket } from './dial/balanced-socket.js';
export { CONNECT_DEFAULTS } from './dial/dialer.js';
export type { ConnectPolicyOptions, FailedAttempt } from './dial/dialer.js';
export type { LeaseSource } from './lease.js';
export { PROXY_V2_SIGNATURE, encodeProxyV1, encodeProxyV2 } from './proxy/proxy-protocol.js';
export type { ProxyEndpoint } from './proxy/proxy-protocol.js';
export { describeTermination } from './proxy/termination.js';
export type { TerminationCause, TerminationCode, TerminationPhase } from './proxy/termination.js';
export { HaproxyInstance, buildFromHaproxyConfig } from './haproxy/from-config.js';
export type { BuildHaproxyOptions, HaproxyBackend, HaproxyCloseOptions, HaproxyFrontend } from './haproxy/from-config.js';
