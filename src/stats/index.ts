/**
 * switchyard-lb/stats: HAProxy's stats page as a request handler for `node:http` / `node:https` (and express or
 * connect as middleware), over pools, balancers, proxies or a whole HAProxy instance.
 *
 * @packageDocumentation
 * @module switchyard-lb/stats
 */
export { STATS_HANDLER_DEFAULTS, createStatsHandler } from './stats-handler.js';
export type { StatsHandler, StatsHandlerOptions } from './stats-handler.js';
export type { StatsUser } from './basic-auth.js';
export type { StatsPageSource } from './stats-source.js';
export { ADMIN_ACTIONS, WEB_ADMIN_CAUSE } from './admin-actions.js';
export type { AdminAction } from './admin-actions.js';
export { STATS_PAGE_CSP, STATS_PAGE_CSS, STATS_STYLE_HASH } from './page-style.js';
export { statsHandlerOptionsOf, statsPageOf } from './from-config.js';
