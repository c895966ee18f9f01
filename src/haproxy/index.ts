/**
 * switchyard-lb/haproxy: the HAProxy face — read a `haproxy.cfg` (`parseHaproxyConfig`, `loadHaproxyConfigFile`),
 * build and run what it describes (`buildFromHaproxyConfig`, with the runtime API on its stats sockets), and
 * HAProxy's own log lines for any pool (`haproxyLog`, `formatHaproxyLog`).
 *
 * @packageDocumentation
 * @module switchyard-lb/haproxy
 */
export { formatDiagnostic } from './config/diagnostics.js';
export type { ConfigDiagnostic, DiagnosticSeverity } from './config/diagnostics.js';
export { loadHaproxyConfigFile } from './config/file.js';
export type { LoadHaproxyConfigOptions } from './config/file.js';
export { parseHaproxyConfig, parseHaproxyConfigSources } from './config/parser.js';
export type { ConfigSource, ParseHaproxyConfigOptions } from './config/parser.js';
export type { ConfigEnv } from './config/tokenizer.js';
export type {
  BackendConfig, BalanceAlgorithm, BindAddress, CheckKind, DefaultServerSettings, DefaultsConfig, FdBindAddress, FrontendConfig,
  GlobalConfig, HaproxyConfig, HashType, HttpCheck, ListenConfig, LogAddress, LogLevel, LogTarget, OnError, ProtocolCheck, ProxyLog, ProxyTimeouts,
  ServerConfig, SourceLocation, StatsPageConfig, StatsSocket, TcpBindAddress, TcpCheckRule, UnixBindAddress,
} from './config/types.js';
export type { StatsSection } from './config/library-options.js';
export { formatHaproxyLog, haproxyLog } from './log/format.js';
export { TCPLOG_FORMAT, compileLogFormat } from './log/log-format.js';
export type { CompiledLogFormat, LogFormat, LogFormatInput, TcplogCounts } from './log/log-format.js';
export type { HaproxyLogEvent, HaproxyLogOptions, HaproxyLogServer, HaproxyServerCounts, HaproxySessionCounts } from './log/format.js';
export { HaproxyInstance, buildFromHaproxyConfig } from './from-config.js';
export type { BuildHaproxyOptions, HaproxyBackend, HaproxyCloseOptions, HaproxyFrontend } from './from-config.js';
