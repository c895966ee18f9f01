import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { XdsEndpointSet, XdsHealthStatus, XdsLocalityEndpoints } from '../../src/xds/eds.js';
import { mapEndpointSet, toServerWeights } from '../../src/xds/endpoint-mapping.js';

function loc(zone: string, endpoints: [port: number, weight?: number, health?: XdsHealthStatus][], o: { weight?: number; priority?: number } = {}): XdsLocalityEndpoints {
  return {
    region: 'r', zone, subZone: '', priority: o.priority ?? 0, weight: o.weight,
    endpoints: endpoints.map(([port, weight, health]) => ({ host: '10.0.0.1', port, hostname: '', weight, health: health ?? 'HEALTHY' })),
  };
}
const set = (...localities: XdsLocalityEndpoints[]): XdsEndpointSet => ({ clusterName: 'c', localities });
const weights = (s: XdsEndpointSet, o = {}): Record<string, number> =>
  Object.fromEntries(mapEndpointSet(s, o).map((m) => [m.server.name, m.server.weight!]));

describe('EDS endpoint mapping', () => {
  it('keeps endpoint weights that already fit HAProxy weights (1-256) when localities carry no weight', () => {
    assert.deepEqual(weights(set(loc('a', [[1, 1], [2, 3], [3]]))), { '10.0.0.1:1': 1, '10.0.0.1:2': 3, '10.0.0.1:3': 1 });
  });

  it('scales larger xDS weights so the largest is 256, rounding, never below 1', () => {
    assert.deepEqual(weights(set(loc('a', [[1, 100_000], [2, 50_000], [3, 1]]))), { '10.0.0.1:1': 256, '10.0.0.1:2': 128, '10.0.0.1:3': 1 });
    assert.deepEqual(toServerWeights([0.5, 0.25, 0], false), [256, 128, 0]);
  });

  it('weighs localities like gRPC when they carry weights: locality share × endpoint share within it', () => {
    // zone a: weight 3, two equal endpoints; zone b: weight 1, one endpoint → shares 3/8, 3/8, 2/8.
    const w = weights(set(loc('a', [[1], [2]], { weight: 3 }), loc('b', [[3]], { weight: 1 })));
    assert.deepEqual(w, { '10.0.0.1:1': 256, '10.0.0.1:2': 256, '10.0.0.1:3': 171 });
  });

  it('gives weight 0 to a locality without weight when others have one (gRPC ignores it)', () => {
    const w = weights(set(loc('a', [[1]], { weight: 2 }), loc('b', [[2]])));
    assert.deepEqual(w, { '10.0.0.1:1': 256, '10.0.0.1:2': 0 });
  });

  it('ignores locality weights with localityWeighting off (Envoy without locality_weighted_lb_config)', () => {
    const w = weights(set(loc('a', [[1], [2]], { weight: 3 }), loc('b', [[3]], { weight: 1 })), { localityWeighting: 'off' });
    assert.deepEqual(w, { '10.0.0.1:1': 1, '10.0.0.1:2': 1, '10.0.0.1:3': 1 });
  });

  it('shares a locality among the endpoints the control plane does not hold', () => {
    const w = weights(set(loc('a', [[1], [2, 1, 'UNHEALTHY']], { weight: 1 }), loc('b', [[3]], { weight: 1 })));
    assert.equal(w['10.0.0.1:1'], w['10.0.0.1:3'], 'the healthy endpoint of zone a takes all of zone a\'s share');
  });

  it('maps health to holds: UNHEALTHY/TIMEOUT out, DRAINING drain, HEALTHY/UNKNOWN none', () => {
    const m = mapEndpointSet(set(loc('a', [[1, 1, 'HEALTHY'], [2, 1, 'UNKNOWN'], [3, 1, 'UNHEALTHY'], [4, 1, 'TIMEOUT'], [5, 1, 'DRAINING']])));
    assert.deepEqual(m.map((e) => e.server.hold), [undefined, undefined, 'out', 'out', 'drain']);
    assert.ok(!('hold' in m[0]!.server), 'no hold key on a healthy entry');
    assert.deepEqual(m.map((e) => e.server.backup), [false, false, false, false, false]);
  });

  it('maps priority above 0 and DEGRADED to backups, listed in priority order after the active ones', () => {
    const m = mapEndpointSet(set(loc('p1', [[10]], { priority: 1 }), loc('a', [[1], [2, 1, 'DEGRADED']]), loc('p2', [[20]], { priority: 2 })));
    assert.deepEqual(m.map((e) => [e.server.port, e.server.backup, e.origin.priority]), [[1, false, 0], [2, true, 0], [10, true, 1], [20, true, 2]]);
  });

  it('tags each server with its cluster, locality and priority, one frozen object per locality', () => {
    const m = mapEndpointSet(set(loc('a', [[1], [2]]), loc('b', [[3]], { priority: 1 })));
    assert.deepEqual(m.map((e) => e.server.tags), [
      { 'xds.cluster': 'c', 'xds.locality': 'r/a/', 'xds.priority': '0' },
      { 'xds.cluster': 'c', 'xds.locality': 'r/a/', 'xds.priority': '0' },
      { 'xds.cluster': 'c', 'xds.locality': 'r/b/', 'xds.priority': '1' },
    ]);
    assert.equal(m[0]!.server.tags, m[1]!.server.tags);
    assert.ok(Object.isFrozen(m[0]!.server.tags));
  });

  it('names servers host:port ([v6]:port), or as nameOf says, and records where each came from', () => {
    const v6: XdsLocalityEndpoints = { region: 'eu', zone: 'z', subZone: 's', priority: 0, weight: undefined, endpoints: [{ host: 'fd00::1', port: 80, hostname: 'h1', weight: 7, health: 'HEALTHY' }] };
    const [m] = mapEndpointSet(set(v6));
    assert.equal(m!.server.name, '[fd00::1]:80');
    assert.deepEqual(m!.origin, { cluster: 'c', region: 'eu', zone: 'z', subZone: 's', locality: 'eu/z/s', priority: 0, health: 'HEALTHY', endpointWeight: 7, localityWeight: undefined, hostname: 'h1' });
    const [named] = mapEndpointSet(set(v6), { nameOf: (e) => e.hostname });
    assert.equal(named!.server.name, 'h1');
  });
});
