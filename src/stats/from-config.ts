/**
 * The stats handler of a configuration's stats section (`mode http` + `stats …`), for `switchyard -f` and for
 * programs that build an instance themselves: `buildFromHaproxyConfig(config, { statsPage: statsPageOf })`.
 */
import type http from 'node:http';
import type { HaproxyInstance } from '../haproxy/build/instance.js';
import type { StatsSection } from '../haproxy/config/library-options.js';
import { type StatsHandlerOptions, createStatsHandler } from './stats-handler.js';

/** The handler options that a stats section's lines mean, over the whole instance. */
export function statsHandlerOptionsOf(section: StatsSection, instance: HaproxyInstance): StatsHandlerOptions {
  const s = section.stats;
  return {
    source: instance,
    uri: s.uri,
    ...(s.refreshMs === undefined ? {} : { refreshMs: s.refreshMs }),
    auth: s.auth,
    admin: s.admin,
    hideVersion: s.hideVersion,
    showLegends: s.showLegends,
    // HAProxy serves Prometheus through a separate service; here the stats section serves it beside the page.
    metricsUri: s.uri === '/metrics' ? false : '/metrics',
  };
}

/** The `statsPage` option of `buildFromHaproxyConfig`: each stats section served by {@link createStatsHandler}. */
export function statsPageOf(section: StatsSection, instance: HaproxyInstance): http.RequestListener {
  return createStatsHandler(statsHandlerOptionsOf(section, instance));
}
