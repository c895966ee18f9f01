import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { LbError } from '../../src/errors.js';
import { DIAGNOSTICS_CHANNELS } from '../../src/diagnostics.js';
import type { XdsConnectionMessage, XdsNackMessage, XdsUpdateMessage } from '../../src/xds/xds-diagnostics.js';
import { XdsClient } from '../../src/xds/xds-client.js';
import { XDS_TYPE_URLS, type XdsConnectionDetail, type XdsConnectionState, type XdsNack, type XdsUpdate } from '../../src/xds/xds-events.js';
import { nextEvent } from '../helpers/list-source.js';
import { withTimeout } from '../helpers/timeout.js';
import { ManagementServer, type RecordedRequest } from './helpers/management-server.js';
import { assignment, bootstrapFor, edsCluster } from './helpers/resources.js';

const CDS = XDS_TYPE_URLS.cluster;
const EDS = XDS_TYPE_URLS.endpoints;
const guard = <T>(p: Promise<T>, what: string): Promise<T> => withTimeout(p, 10_000, what);

/** The next update of `kind`/`name` the client accepts. */
function nextUpdate(client: XdsClient, kind: 'cluster' | 'endpoints', name: string): Promise<XdsUpdate> {
  return new Promise((resolve) => {
    const on = (u: XdsUpdate): void => {
      if (u.kind !== kind || u.name !== name) return;
      client.off('xds:update', on);
      resolve(u);
    };
    client.on('xds:update', on);
  });
}

/** Waits for a connection state, advancing the manual clock through every retry delay on the way. */
function reachState(client: XdsClient, clock: ManualClock, want: XdsConnectionState): Promise<XdsConnectionDetail> {
  return new Promise((resolve) => {
    const on = (state: XdsConnectionState, detail: XdsConnectionDetail): void => {
      if (state === want) {
        client.off('xds:connection', on);
        resolve(detail);
      } else if (state === 'disconnected') {
        queueMicrotask(() => clock.advance(detail.retryInMs ?? 0));
      }
    };
    client.on('xds:connection', on);
  });
}

describe('ADS client (state of the world, v3)', () => {
  let server: ManagementServer;
  before(async () => {
    server = await ManagementServer.start();
  });
  after(() => server.stop());

  it('subscribes by name, ACKs each response with its version and nonce, and sends the node only first', async () => {
    server.set('cluster', [edsCluster('ack-c')]);
    server.set('endpoints', [assignment('ack-c', [{ endpoints: [{ port: 7001 }, { port: 7002 }] }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(server.address, 'node-ack') });
    const published: [string, string][] = [];
    const onUpdate = (m: unknown): void => void published.push(['update', `${(m as XdsUpdateMessage).kind}/${(m as XdsUpdateMessage).name}`]);
    const onConnection = (m: unknown): void => void published.push(['connection', (m as XdsConnectionMessage).state]);
    dc.subscribe(DIAGNOSTICS_CHANNELS.xdsUpdate, onUpdate);
    dc.subscribe(DIAGNOSTICS_CHANNELS.xdsConnection, onConnection);
    try {
      const cds = nextUpdate(client, 'cluster', 'ack-c');
      client.watch('cluster', 'ack-c', () => undefined);
      const cluster = await guard(cds, 'the cluster');
      assert.equal(cluster.version, server.version('cluster'));
      const eds = nextUpdate(client, 'endpoints', 'ack-c');
      client.watch('endpoints', 'ack-c', () => undefined);
      const endpoints = await guard(eds, 'the endpoints');
      assert.deepEqual((endpoints.resource as unknown as { localities: { endpoints: { port: number }[] }[] }).localities[0]!.endpoints.map((e) => e.port), [7001, 7002]);

      const mine = (r: RecordedRequest): boolean => r.node?.id === 'node-ack' || server.requests.some((q) => q.stream === r.stream && q.node?.id === 'node-ack');
      const ackCds = await guard(server.waitFor((r) => mine(r) && r.typeUrl === CDS && r.answersLast), 'the CDS ACK');
      assert.equal(ackCds.version, server.version('cluster'));
      assert.equal(ackCds.errorDetail, undefined);
      const ackEds = await guard(server.waitFor((r) => mine(r) && r.typeUrl === EDS && r.answersLast), 'the EDS ACK');
      assert.equal(ackEds.version, server.version('endpoints'));
      const first = server.requests.filter(mine);
      assert.equal(first[0]!.node?.id, 'node-ack');
      assert.equal(first[0]!.node?.cluster, 'tests');
      assert.equal(first[0]!.node?.user_agent_name, 'switchyard');
      assert.equal(first[0]!.version, '', 'first request carries no version');
      assert.ok(first.slice(1).every((r) => r.node === undefined), 'the node is sent in the first request only');

      const next = nextUpdate(client, 'endpoints', 'ack-c');
      server.set('endpoints', [assignment('ack-c', [{ endpoints: [{ port: 7003 }] }])]);
      const u = await guard(next, 'the second endpoint set');
      assert.equal(u.version, server.version('endpoints'));
      const ack2 = await guard(server.waitFor((r) => mine(r) && r.typeUrl === EDS && r.answersLast && r.version === u.version), 'the second EDS ACK');
      assert.notEqual(ack2.nonce, ackEds.nonce);
      assert.equal(client.version('endpoints'), u.version);
      await client.close();
      assert.deepEqual(published, [
        ['connection', 'connecting'], ['connection', 'connected'], ['update', 'cluster/ack-c'], ['update', 'endpoints/ack-c'], ['update', 'endpoints/ack-c'], ['connection', 'closed'],
      ]);
    } finally {
      dc.unsubscribe(DIAGNOSTICS_CHANNELS.xdsUpdate, onUpdate);
      dc.unsubscribe(DIAGNOSTICS_CHANNELS.xdsConnection, onConnection);
      await client.close();
    }
  });

  it('NACKs a malformed EDS resource with error_detail, keeps the previous set and the previous version', async () => {
    server.set('endpoints', [assignment('nack-e', [{ endpoints: [{ port: 7101 }] }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(server.address, 'node-nack') });
    const messages: XdsNackMessage[] = [];
    const sub = (m: unknown): void => void messages.push(m as XdsNackMessage);
    dc.subscribe(DIAGNOSTICS_CHANNELS.xdsNack, sub);
    try {
      const first = nextUpdate(client, 'endpoints', 'nack-e');
      client.watch('endpoints', 'nack-e', () => undefined);
      const good = await guard(first, 'the first set');
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['a host name', assignment('nack-e', [{ endpoints: [{ host: 'redis.internal', port: 7102 }] }]), /address must be an IPv4 or IPv6 address, got "redis.internal"/],
        ['weight 0', assignment('nack-e', [{ endpoints: [{ port: 7103, weight: 0 }] }]), /load_balancing_weight must be at least 1, got 0/],
        ['a negative weight sent as int32 (wraps to 4294967295)', assignment('nack-e', [{ endpoints: [{ port: 7104, weight: -1 >>> 0 }, { port: 7105 }] }]), /sum of lb_endpoints weights must fit in uint32/],
        ['port 0', assignment('nack-e', [{ endpoints: [{ port: 0 }] }]), /port_value must be from 1 to 65535, got 0/],
        ['an address twice', assignment('nack-e', [{ endpoints: [{ port: 7106 }, { port: 7106 }] }]), /"127.0.0.1:7106" is listed twice/],
        ['a priority gap', assignment('nack-e', [{ endpoints: [{ port: 7107 }] }, { zone: 'b', priority: 2, endpoints: [{ port: 7108 }] }]), /priority 2 but none has priority 1/],
      ];
      for (const [what, resource, message] of cases) {
        const nacked = nextEvent<[XdsNack]>(client, 'xds:nack');
        server.set('endpoints', [resource]);
        const [nack] = await guard(nacked, `the NACK of ${what}`);
        assert.match(nack.errors.join('\n'), message, what);
        assert.ok(LbError.is(nack.error) && nack.error.code === 'ERR_LB_INVALID_ARG');
        const sent = await guard(server.waitFor((r) => r.typeUrl === EDS && r.answersLast && r.nonce === nack.nonce), `the NACK request for ${what}`);
        assert.match(sent.errorDetail?.message ?? '', message, `error_detail of ${what}`);
        assert.equal(sent.version, good.version, `version_info stays at the last good version after ${what}`);
        assert.equal(client.current('endpoints', 'nack-e')?.version, good.version, `the previous set is kept after ${what}`);
      }
      assert.equal(messages.length, cases.length, 'each NACK is published on switchyard:xds:nack');
      // A good resource after the NACKs is accepted and clears the error.
      const fixed = nextUpdate(client, 'endpoints', 'nack-e');
      server.set('endpoints', [assignment('nack-e', [{ endpoints: [{ port: 7109 }] }])]);
      const u = await guard(fixed, 'the fixed set');
      const ack = await guard(server.waitFor((r) => r.typeUrl === EDS && r.answersLast && r.version === u.version), 'the ACK of the fixed set');
      assert.equal(ack.errorDetail, undefined);
    } finally {
      dc.unsubscribe(DIAGNOSTICS_CHANNELS.xdsNack, sub);
      await client.close();
    }
  });

  it('NACKs an unknown lb_policy and keeps the previous cluster', async () => {
    server.set('cluster', [edsCluster('policy-c', { lbPolicy: 'LEAST_REQUEST' })]);
    const client = new XdsClient({ bootstrap: bootstrapFor(server.address, 'node-policy') });
    try {
      const first = nextUpdate(client, 'cluster', 'policy-c');
      client.watch('cluster', 'policy-c', () => undefined);
      const good = await guard(first, 'the cluster');
      assert.equal((good.resource as { strategy: unknown }).strategy, 'p2c');
      const nacked = nextEvent<[XdsNack]>(client, 'xds:nack');
      server.set('cluster', [edsCluster('policy-c', { lbPolicy: 'CLUSTER_PROVIDED' })]);
      const [nack] = await guard(nacked, 'the NACK');
      assert.match(nack.errors[0]!, /Cluster "policy-c"\.lb_policy has no matching switchyard strategy .* got CLUSTER_PROVIDED/);
      assert.equal(client.current('cluster', 'policy-c')?.version, good.version);
      assert.equal((client.current('cluster', 'policy-c')?.resource as { strategy: unknown }).strategy, 'p2c');
    } finally {
      await client.close();
    }
  });

  it('keeps the last resources through a control-plane restart and resubscribes with the last versions', async () => {
    const cp = await ManagementServer.start();
    const clock = new ManualClock();
    cp.set('endpoints', [assignment('restart-e', [{ endpoints: [{ port: 7201 }] }])]);
    const client = new XdsClient({ bootstrap: bootstrapFor(cp.address), clock, random: () => 0.5 });
    try {
      const first = nextUpdate(client, 'endpoints', 'restart-e');
      client.watch('endpoints', 'restart-e', () => undefined);
      const good = await guard(first, 'the first set');
      await guard(cp.waitFor((r) => r.answersLast), 'the ACK');

      const down = nextEvent<[XdsConnectionState, XdsConnectionDetail]>(client, 'xds:connection');
      cp.stop();
      const [state, detail] = await guard(down, 'the disconnection');
      assert.equal(state, 'disconnected');
      assert.equal(detail.retryInMs, 0, 'a stream that had responses is retried at once');
      assert.equal(client.current('endpoints', 'restart-e')?.version, good.version, 'the last set is kept');

      // The immediate retry fails (nothing listens): the next one waits the initial backoff.
      const failed = new Promise<XdsConnectionDetail>((resolve) => {
        client.on('xds:connection', (s, d) => {
          if (s === 'disconnected' && d.attempt === 2) resolve(d);
        });
      });
      clock.advance(0);
      const d2 = await guard(failed, 'the failed retry');
      assert.equal(d2.retryInMs, 1000, 'initial backoff 1 s (jitter centred by random 0.5)');
      assert.equal(client.current('endpoints', 'restart-e')?.version, good.version);

      const before = cp.requests.length;
      await cp.listen();
      const connected = reachState(client, clock, 'connected');
      clock.advance(1000);
      await guard(connected, 'the reconnection');
      const resub = cp.requests.slice(before).find((r) => r.typeUrl === EDS)!;
      assert.deepEqual(resub.names, ['restart-e']);
      assert.equal(resub.version, good.version, 'resubscribes with the last accepted version');
      assert.equal(resub.nonce, '', 'a new stream starts with an empty nonce');
      assert.ok(resub.node !== undefined, 'and sends the node again');
    } finally {
      await client.close();
      cp.stop();
    }
  });

  it('backs off exponentially while the management server is unreachable', async () => {
    const cp = await ManagementServer.start();
    const address = cp.address;
    cp.stop();
    const clock = new ManualClock();
    const client = new XdsClient({ bootstrap: bootstrapFor(address), clock, random: () => 0.5, backoff: { initialMs: 100, maxMs: 500, multiplier: 2 } });
    const delays: number[] = [];
    const done = new Promise<void>((resolve) => {
      client.on('xds:connection', (state, d) => {
        if (state !== 'disconnected') return;
        delays.push(d.retryInMs!);
        if (delays.length === 5) resolve();
        else queueMicrotask(() => clock.advance(d.retryInMs!));
      });
    });
    try {
      client.watch('cluster', 'nobody', () => undefined);
      await guard(done, 'five failed attempts');
      assert.deepEqual(delays, [100, 200, 400, 500, 500]);
    } finally {
      await client.close();
    }
  });
});
