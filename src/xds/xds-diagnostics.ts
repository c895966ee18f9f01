import dc from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS } from '../diagnostics.js';

/*
 * The publishers and messages of the xDS channels. Their names are declared with every other channel in
 * DIAGNOSTICS_CHANNELS (`xdsUpdate`, `xdsNack`, `xdsConnection`); nothing is built or published while a channel
 * has no subscriber.
 */

/** Message of `DIAGNOSTICS_CHANNELS.xdsUpdate` (`switchyard:xds:update`): a CDS or EDS resource was accepted and applied. */
export interface XdsUpdateMessage {
  readonly serverUri: string;
  readonly kind: 'cluster' | 'endpoints';
  readonly name: string;
  readonly version: string;
}

/** Message of `DIAGNOSTICS_CHANNELS.xdsNack` (`switchyard:xds:nack`): a response was NACKed, all or in part. */
export interface XdsNackMessage {
  readonly serverUri: string;
  readonly kind: 'cluster' | 'endpoints';
  /** `version_info` of the rejected response. */
  readonly version: string;
  readonly nonce: string;
  readonly errors: readonly string[];
}

/** Message of `DIAGNOSTICS_CHANNELS.xdsConnection` (`switchyard:xds:connection`): the ADS stream's state. */
export interface XdsConnectionMessage {
  readonly serverUri: string;
  readonly state: 'connecting' | 'connected' | 'disconnected' | 'closed';
  readonly attempt: number;
  readonly retryInMs: number | undefined;
  readonly error: unknown;
}

const updateChannel = dc.channel(DIAGNOSTICS_CHANNELS.xdsUpdate);
const nackChannel = dc.channel(DIAGNOSTICS_CHANNELS.xdsNack);
const connectionChannel = dc.channel(DIAGNOSTICS_CHANNELS.xdsConnection);

export function publishXdsUpdate(message: () => XdsUpdateMessage): void {
  if (updateChannel.hasSubscribers) updateChannel.publish(message());
}

export function publishXdsNack(message: () => XdsNackMessage): void {
  if (nackChannel.hasSubscribers) nackChannel.publish(message());
}

export function publishXdsConnection(message: () => XdsConnectionMessage): void {
  if (connectionChannel.hasSubscribers) connectionChannel.publish(message());
}
