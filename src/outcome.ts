import type { Server } from './server.js';

/**
 * The result of one attempt to connect to a server, as whatever dials reports it (the proxy,
 * `balancer.connect()`). Errors after the connection is established are not connect outcomes.
 */
export type ConnectOutcome =
  | { readonly kind: 'success'; readonly durationMs: number }
  | { readonly kind: 'refused'; readonly durationMs: number }
  | { readonly kind: 'reset'; readonly durationMs: number }
  | { readonly kind: 'timeout'; readonly durationMs: number }
  | { readonly kind: 'error'; readonly durationMs: number; readonly code: string | undefined };

/**
 * Something that wants every connect outcome: a passive health observer, a metrics collector.
 * It is called synchronously and must not throw.
 */
export interface OutcomeSink {
  reportOutcome(server: Server, outcome: ConnectOutcome): void;
}
