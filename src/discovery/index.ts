/**
 * switchyard-lb/discovery: keep a pool's servers in step with DNS (A/AAAA/SRV, TTL-driven) or any async
 * source of server lists.
 *
 * @packageDocumentation
 * @module switchyard-lb/discovery
 */
export { Discovery, FOLLOW_SERVERS_DEFAULTS, followServers } from './follow-servers.js';
export type {
  DiscoveredServer, DiscoveredServerDefaults, DiscoveryChange, DiscoveryEvents, FollowServersOptions, ServerListSource,
} from './follow-servers.js';
export { DNS_SOURCE_DEFAULTS, DnsSource } from './dns-source.js';
export type { DnsAnswer, DnsRecordType, DnsSourceOptions } from './dns-source.js';
export type { DnsFailure } from './dns-error.js';
