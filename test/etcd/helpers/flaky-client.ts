import type { Etcd3 } from 'etcd3';
import type { EtcdClient } from '../../../src/etcd/index.js';

/** How the next publishes fail: `before` etcd sees them (the request is lost), or `after` (etcd wrote, the answer is lost). */
export type LostAt = 'before' | 'after';

/**
 * A real etcd3 client with a faulty link for the fleet's result writes only: the next `failures.length`
 * publish transactions (a compare on a claim's lease *and* create revision) fail as a broken connection would,
 * each before or after etcd ran it. Everything else, and every later publish, goes through untouched.
 */
export function flakyPublishes(client: Etcd3, failures: LostAt[]): { client: EtcdClient; injected: () => number } {
  let injected = 0;
  const wrapped: EtcdClient = {
    get: (key) => client.get(key),
    getAll: () => client.getAll(),
    put: (key) => client.put(key),
    delete: () => client.delete(),
    lease: (ttl, options) => client.lease(ttl, options),
    watch: () => client.watch(),
    if: (key, column, cmp, value) => {
      const builder = client.if(key, column, cmp, value);
      let publish = false;
      const and = builder.and.bind(builder);
      builder.and = (k, col, c, v) => {
        if (column === 'Lease' && col === 'Create') publish = true;
        return and(k, col, c, v);
      };
      const commit = builder.commit.bind(builder);
      builder.commit = async () => {
        const at = publish ? failures.shift() : undefined;
        if (at === undefined) return commit();
        injected++;
        if (at === 'after') await commit();
        throw new Error(`14 UNAVAILABLE: connection lost (injected, ${at} etcd ran the write)`);
      };
      return builder;
    },
  };
  return { client: wrapped, injected: () => injected };
}
