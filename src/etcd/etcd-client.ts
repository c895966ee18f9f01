import { invalidArg } from '../errors.js';
import type { Namespace } from 'etcd3';

/**
 * The part of an `etcd3` client (npm `etcd3`, an optional peer dependency) that `switchyard-lb/etcd` uses:
 * an `Etcd3` instance, or a namespace of one (`client.namespace('team-a/')`). You create, configure and close
 * it; switchyard never closes a client it was given.
 *
 * Give it deadlines and keepalive pings so a silent etcd member is noticed:
 * ```ts
 * new Etcd3({
 *   hosts: ['http://10.0.0.5:2379', 'http://10.0.0.6:2379', 'http://10.0.0.7:2379'],
 *   defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 }),
 *   grpcOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5000 },
 * })
 * ```
 */
export type EtcdClient = Pick<Namespace, 'get' | 'getAll' | 'put' | 'delete' | 'if' | 'lease' | 'watch'>;

/** Checks that `value` looks like an etcd3 client or namespace. */
export function checkClient(value: unknown): EtcdClient {
  const c = value as Partial<Record<string, unknown>> | null;
  if (typeof c !== 'object' || c === null || typeof c['getAll'] !== 'function' || typeof c['watch'] !== 'function' || typeof c['if'] !== 'function') {
    throw invalidArg('client', 'must be an etcd3 client (new Etcd3(…)) or a namespace of one', value);
  }
  return value as EtcdClient;
}
