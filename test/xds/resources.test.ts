import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LbError } from '../../src/errors.js';
import { loadBootstrap, parseBootstrap } from '../../src/xds/bootstrap.js';
import { validateCluster } from '../../src/xds/cds.js';
import { validateAssignment } from '../../src/xds/eds.js';
import { outlierOptionsOf } from '../../src/xds/outlier-mapping.js';
import { encodeMessage, loadXdsProtos } from '../../src/xds/protos.js';
import { assignment, bootstrapFor, edsCluster } from './helpers/resources.js';

const protos = loadXdsProtos();
/** A Cluster as the wire carries it: encoded from a plain object, decoded again. */
const wire = (c: Record<string, unknown>): unknown => protos.Cluster.decode(encodeMessage(protos.Cluster, c));
const cds = (c: Record<string, unknown>) => validateCluster(protos, wire(c));
const typed = (name: string, value: Uint8Array = new Uint8Array()) => ({ typed_extension_config: { name, typed_config: { type_url: `type.googleapis.com/envoy.extensions.load_balancing_policies.${name}`, value } } });

const invalid = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => LbError.is(err) && err.code === 'ERR_LB_INVALID_ARG' && message.test(err.message));
};

describe('bootstrap (gRPC format)', () => {
  it('reads the first xds_servers entry and the node', () => {
    const b = parseBootstrap(bootstrapFor('127.0.0.1:18000', 'n1'));
    assert.deepEqual(b.server, { serverUri: '127.0.0.1:18000', channelCreds: 'insecure', serverFeatures: ['xds_v3'] });
    assert.deepEqual(b.node, { id: 'n1', cluster: 'tests', locality: { zone: 'z1' }, metadata: { suite: 'xds' } });
  });

  it('takes the first supported channel_creds type', () => {
    const b = parseBootstrap({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'google_default' }, { type: 'tls' }] }], node: { id: 'n' } });
    assert.equal(b.server.channelCreds, 'tls');
  });

  it('names the field and the value it rejects', () => {
    invalid(() => parseBootstrap({ xds_servers: [], node: { id: 'n' } }), /bootstrap\.xds_servers must be a non-empty array/);
    invalid(() => parseBootstrap({ xds_servers: [{ server_uri: 3, channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } }), /xds_servers\[0\]\.server_uri must be a non-empty string, got 3/);
    invalid(() => parseBootstrap({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'google_default' }] }], node: { id: 'n' } }), /channel_creds must list a supported type .* got "google_default"/);
    invalid(() => parseBootstrap({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'insecure' }] }], node: {} }), /bootstrap\.node\.id must be a non-empty string, got undefined/);
    invalid(() => parseBootstrap({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n', locality: { zone: 1 } } }), /node\.locality\.zone must be a string, got 1/);
  });

  it('loads from GRPC_XDS_BOOTSTRAP, else GRPC_XDS_BOOTSTRAP_CONFIG, and says what is missing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xds-bootstrap-'));
    try {
      const file = path.join(dir, 'bootstrap.json');
      fs.writeFileSync(file, JSON.stringify(bootstrapFor('127.0.0.1:1', 'from-file')));
      assert.equal(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: file } }).node.id, 'from-file');
      assert.equal(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrapFor('127.0.0.1:1', 'from-env')) } }).node.id, 'from-env');
      fs.writeFileSync(file, '{ not json');
      invalid(() => loadBootstrap({ path: file }), /is not valid JSON/);
      invalid(() => loadBootstrap({ env: {} }), /no xDS bootstrap: set GRPC_XDS_BOOTSTRAP/);
      invalid(() => loadBootstrap({ path: path.join(dir, 'missing.json') }), /could not read the xDS bootstrap file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CDS clusters', () => {
  it('maps lb_policy to a strategy', () => {
    const strategy = (lbPolicy: string, extra = {}) => cds(edsCluster('c', { lbPolicy, extra })).value?.strategy;
    assert.equal(strategy('ROUND_ROBIN'), 'roundrobin');
    assert.equal(strategy('LEAST_REQUEST'), 'p2c');
    assert.deepEqual(strategy('LEAST_REQUEST', { least_request_lb_config: { choice_count: { value: 4 } } }), { name: 'random', draws: 4 });
    assert.deepEqual(strategy('RING_HASH'), { name: 'source', hashType: 'consistent' });
    assert.deepEqual(strategy('MAGLEV'), { name: 'source', hashType: 'consistent' });
    assert.deepEqual(strategy('RANDOM'), { name: 'random', draws: 1 });
    assert.match(cds(edsCluster('c', { lbPolicy: 'CLUSTER_PROVIDED' })).errors[0]!, /lb_policy has no matching switchyard strategy/);
  });

  it('prefers load_balancing_policy, taking the first policy it knows, through wrr_locality', () => {
    const wrr = encodeMessage(protos.WrrLocality, { endpoint_picking_policy: { policies: [typed('least_request.v3.LeastRequest', encodeMessage(protos.LeastRequest, { choice_count: { value: 2 } }))] } });
    const c = cds(edsCluster('c', { extra: { load_balancing_policy: { policies: [typed('client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin'), typed('wrr_locality.v3.WrrLocality', wrr)] } } }));
    assert.deepEqual(c.errors, []);
    assert.equal(c.value!.strategy, 'p2c');
    assert.equal(c.value!.lbPolicy, 'envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality');
    const unknown = cds(edsCluster('c', { extra: { load_balancing_policy: { policies: [typed('pick_first.v3.PickFirst')] } } }));
    assert.match(unknown.errors[0]!, /load_balancing_policy has no policy switchyard supports/);
  });

  it('reads connect_timeout, outlier_detection, circuit_breakers and lrs_server into plain values', () => {
    const c = cds(edsCluster('c', {
      connectTimeoutMs: 1500,
      extra: {
        outlier_detection: { consecutive_5xx: { value: 7 }, interval: { seconds: 2 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: { value: 20 }, success_rate_stdev_factor: { value: 1900 } },
        circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: { value: 64 }, max_retries: { value: 2 }, retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: { value: 3 } } }, { priority: 'HIGH', max_connections: { value: 128 } }] },
        lrs_server: { self: {} },
        common_lb_config: { locality_weighted_lb_config: {} },
      },
    }));
    assert.deepEqual(c.errors, []);
    const v = c.value!;
    assert.equal(v.connectTimeoutMs, 1500);
    assert.deepEqual(v.outlierDetection, { consecutive5xx: 7, intervalMs: 2000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 20, successRateStdevFactor: 1900 });
    assert.deepEqual(v.circuitBreakers, [
      { priority: 'DEFAULT', maxConnections: 64, maxRetries: 2, retryBudget: { budgetPercent: 25, minRetryConcurrency: 3 } },
      { priority: 'HIGH', maxConnections: 128 },
    ]);
    assert.equal(v.loadReporting, true);
    assert.equal(v.localityWeighted, true);
    assert.equal(cds(edsCluster('d', { extra: {} })).value!.outlierDetection, undefined);
  });

  it('rejects what it cannot apply, naming the field', () => {
    assert.match(cds(edsCluster('c', { extra: { outlier_detection: { max_ejection_percent: { value: 150 } } } })).errors.join(), /outlier_detection\.max_ejection_percent must be at most 100, got 150/);
    assert.match(cds(edsCluster('c', { extra: { outlier_detection: { interval: { seconds: 0 } } } })).errors.join(), /outlier_detection\.interval must be a positive duration/);
    assert.match(cds({ name: 'dns', type: 'STRICT_DNS', lb_policy: 'ROUND_ROBIN' }).errors.join(), /Cluster "dns"\.type must be EDS or STATIC, got STRICT_DNS/);
    assert.match(cds({ name: 'e', type: 'EDS', eds_cluster_config: { eds_config: {} } }).errors.join(), /eds_config must be ads or self/);
  });

  it('reads healthy_panic_threshold (unset: undefined, for Envoy\'s 50) and EDS overprovisioning_factor (÷ 100)', () => {
    assert.equal(cds(edsCluster('p', { extra: { common_lb_config: { healthy_panic_threshold: { value: 30 } } } })).value!.panicThresholdPercent, 30);
    assert.equal(cds(edsCluster('p', { extra: { common_lb_config: { healthy_panic_threshold: { value: 0 } } } })).value!.panicThresholdPercent, 0);
    assert.equal(cds(edsCluster('p')).value!.panicThresholdPercent, undefined);
    assert.match(cds(edsCluster('p', { extra: { common_lb_config: { healthy_panic_threshold: { value: 120 } } } })).errors.join(), /common_lb_config\.healthy_panic_threshold must be from 0 to 100, got 120/);
    const cla = (policy?: Record<string, unknown>) => {
      const t = protos.ClusterLoadAssignment;
      return validateAssignment(protos, t.decode(encodeMessage(t, { ...assignment('e', [{ endpoints: [{ port: 1 }] }]), ...(policy ? { policy } : {}) })));
    };
    assert.equal(cla({ overprovisioning_factor: { value: 200 } }).value!.overprovisioningFactor, 2);
    assert.equal(cla().value!.overprovisioningFactor, undefined);
    assert.match(cla({ overprovisioning_factor: { value: 0 } }).errors.join(), /policy\.overprovisioning_factor must be from 1 to 10000, got 0/);
  });

  it('maps outlier_detection onto OutlierDetector options field for field, Envoy\'s false for the two defaults switchyard differs on', () => {
    const v = cds(edsCluster('o', { extra: { outlier_detection: {
      consecutive_5xx: { value: 7 }, interval: { seconds: 2 }, base_ejection_time: { seconds: 10 }, max_ejection_time: { seconds: 60 },
      max_ejection_percent: { value: 20 }, success_rate_stdev_factor: { value: 1500 }, consecutive_local_origin_failure: { value: 3 },
      enforcing_failure_percentage: { value: 50 }, enforcing_failure_percentage_local_origin: { value: 40 }, consecutive_gateway_failure: { value: 2 },
      successful_active_health_check_uneject_host: { value: false },
    } } })).value!;
    assert.deepEqual(outlierOptionsOf(v.outlierDetection!), {
      alwaysEjectOneHost: false, splitLocalOriginErrors: false, intervalMs: 2000, baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 60_000,
      maxEjectionPercent: 20, consecutiveFailures: 7, consecutiveLocalOriginFailures: 3, successRateStdevFactor: 1.5,
      enforcingFailurePercentage: 50, enforcingLocalOriginFailurePercentage: 40, successfulCheckUnejects: false,
    });
    const split = cds(edsCluster('o', { extra: { outlier_detection: { split_external_local_origin_errors: true, always_eject_one_host: { value: true } } } })).value!;
    assert.deepEqual(outlierOptionsOf(split.outlierDetection!), { alwaysEjectOneHost: true, splitLocalOriginErrors: true });
  });

  it('NACKs an outlier_detection the detector would refuse, naming the field', () => {
    const bad = cds(edsCluster('o', { extra: { outlier_detection: { base_ejection_time: { seconds: 60 }, max_ejection_time: { seconds: 30 } } } }));
    assert.match(bad.errors.join(), /Cluster "o"\.outlier_detection: the outlier detector refuses it: maxEjectionTimeMs must not be below baseEjectionTimeMs \(60000\)/);
    const zero = cds(edsCluster('o', { extra: { outlier_detection: { consecutive_5xx: { value: 0 } } } }));
    assert.match(zero.errors.join(), /outlier detector refuses it: consecutiveFailures/);
  });

  it('accepts a STATIC cluster with inline endpoints, validated like EDS', () => {
    const c = cds({ name: 's', type: 'STATIC', load_assignment: assignment('s', [{ endpoints: [{ port: 6379 }] }]) });
    assert.deepEqual(c.errors, []);
    assert.equal(c.value!.type, 'STATIC');
    assert.equal(c.value!.loadAssignment!.localities[0]!.endpoints[0]!.port, 6379);
    const bad = cds({ name: 's', type: 'STATIC', load_assignment: assignment('s', [{ endpoints: [{ host: 'db.local', port: 5432 }] }]) });
    assert.match(bad.errors.join(), /Cluster "s"\.load_assignment\.endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.address must be an IPv4 or IPv6 address, got "db.local"/);
  });
});
