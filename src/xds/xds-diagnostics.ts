import dc from 'node:diagnostics_channel';

/**
 * The `diagnostics_channel` channels of the xDS client (to be folded into `DIAGNOSTICS_CHANNELS` with the
 * core's). Nothing is built or published while a channel has no subscriber.
 */
export const XDS_DIAGNOSTICS_CHANNELS = Object.freeze({
  /** A CDS or EDS resource was accepted and applied ({@link XdsUpdateMessage}). */
  update: 'switchyard:xds:update',
  /** A response was NACKed, all or in part; the previous resources stay ({@link XdsNackMessage}). */
  nack: 'switchyard:xds:nack',
  /** The ADS stream connected, disconnected (with the retry delay) or was closed ({@link XdsConnectionMessage}). */
  connection: 'switchyard:xds:connection',
} as const);

/** Message of {@link XDS_DIAGNOSTICS_CHANNELS}`.update`. */
export interface XdsUpdateMessage {
  readonly serverUri: string;
  readonly kind: 'cluster' | 'endpoints';
  readonly name: string;
  readonly version: string;
}

/** Message of {@link XDS_DIAGNOSTICS_CHANNELS}`.nack`. */
export interface XdsNackMessage {
  readonly serverUri: string;
  readonly kind: 'cluster' | 'endpoints';
  /** `version_info` of the rejected response. */
  readonly version: string;
  readonly nonce: string;
  readonly errors: readonly string[];
}

/** Message of {@link XDS_DIAGNOSTICS_CHANNELS}`.connection`. */
export interface XdsConnectionMessage {
  readonly serverUri: string;
  readonly state: 'connecting' | 'connected' | 'disconnected' | 'closed';
  readonly attempt: number;
  readonly retryInMs: number | undefined;
  readonly error: unknown;
}

const updateChannel = dc.channel(XDS_DIAGNOSTICS_CHANNELS.update);
const nackChannel = dc.channel(XDS_DIAGNOSTICS_CHANNELS.nack);
const connectionChannel = dc.channel(XDS_DIAGNOSTICS_CHANNELS.connection);

export function publishXdsUpdate(message: () => XdsUpdateMessage): void {
  if (updateChannel.hasSubscribers) updateChannel.publish(message());
}

export function publishXdsNack(message: () => XdsNackMessage): void {
  if (nackChannel.hasSubscribers) nackChannel.publish(message());
}

export function publishXdsConnection(message: () => XdsConnectionMessage): void {
  if (connectionChannel.hasSubscribers) connectionChannel.publish(message());
}
