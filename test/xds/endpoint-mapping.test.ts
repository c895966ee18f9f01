import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { XdsEndpointSet, XdsHealthStatus, XdsLocalityEndpoints } from '../../src/xds/eds.js';
import { mapEndpointSet, tierOptionsOf, toServerWeights } from '../../src/xds/endpoint-mapping.js';

function loc(zone: string, endpoints: [port: number, weight?: number, health?: XdsHealthStatus][], o: { weight?: number; priority?: number } = {}): XdsLocalityEndpoints {
  return {
    region: 'r', zone, subZone: '', priority: o.priority ?? 0, weight: o.weight,
    endpoints: endpoints.map(([port, weight, health]) => ({ host: '10.0.0.1', port, hostname: '', weight, health: health ?? 'HEALTHY' })),
  };
}
const set = (...localities: XdsLocalityEndpoints[]): XdsEndpointSet => ({ clusterName: 'c', localities, overprovisioningFactor: undefined });
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

  it('keeps endpoint weights as they are when localities carry weights: the pool weighs the localities', () => {
    const w = weights(set(loc('a', [[1], [2, 3]], { weight: 3 }), loc('b', [[3]], { weight: 1 })));
    assert.deepEqual(w, { '10.0.0.1:1': 1, '10.0.0.1:2': 3, '10.0.0.1:3': 1 });
  });

  it('asks the pool for locality weights by region/zone/sub_zone when localities carry weights (0 for one without), and Envoy\'s factor', () => {
    assert.deepEqual(tierOptionsOf(set(loc('a', [[1]], { weight: 2 }), loc('b', [[2]])), 'auto', false), {
      overprovisioningFactor: 1.4, localityWeights: { 'r/a/': 2, 'r/b/': 0 },
    });
    assert.deepEqual(tierOptionsOf(set(loc('a', [[1]]), loc('b', [[2]])), 'auto', false), { overprovisioningFactor: 1.4, localityWeights: undefined });
    assert.deepEqual(tierOptionsOf(set(loc('a', [[1]]), loc('b', [[2]])), 'auto', true), { overprovisioningFactor: 1.4, localityWeights: { 'r/a/': 0, 'r/b/': 0 } });
    assert.deepEqual(tierOptionsOf(set(loc('a', [[1]], { weight: 3 })), 'off', true), { overprovisioningFactor: 1.4, localityWeights: undefined });
    assert.deepEqual(tierOptionsOf({ ...set(loc('a', [[1]])), overprovisioningFactor: 2 }, 'auto', false).overprovisioningFactor, 2);
  });

  it('takes a locality listed at several priorities at the weight of its highest priority', () => {
    const o = tierOptionsOf(set(loc('a', [[2]], { weight: 5, priority: 1 }), loc('a', [[1]], { weight: 2 })), 'on', false);
    assert.deepEqual(o.localityWeights, { 'r/a/': 2 });
  });

  it('maps health to holds: UNHEALTHY/TIMEOUT out, DRAINING drain, HEALTHY/UNKNOWN none', () => {
    const m = mapEndpointSet(set(loc('a', [[1, 1, 'HEALTHY'], [2, 1, 'UNKNOWN'], [3, 1, 'UNHEALTHY'], [4, 1, 'TIMEOUT'], [5, 1, 'DRAINING']])));
    assert.deepEqual(m.map((e) => e.server.hold), [undefined, undefined, 'out', 'out', 'drain']);
    assert.ok(!('hold' in m[0]!.server), 'no hold key on a healthy entry');
    assert.deepEqual(m.map((e) => e.server.backup), [false, false, false, false, false]);
  });

  it('maps priority to the server\'s priority tier, and DEGRADED to a backup listed after every tier', () => {
    const m = mapEndpointSet(set(loc('p1', [[10]], { priority: 1 }), loc('a', [[1], [2, 1, 'DEGRADED']]), loc('p2', [[20], [21, 1, 'DEGRADED']], { priority: 2 })));
    assert.deepEqual(m.map((e) => [e.server.port, e.server.priority, e.server.backup, e.origin.priority]), [
      [1, 0, false, 0], [10, 1, false, 1], [20, 2, false, 2], [2, 0, true, 0], [21, 0, true, 2],
    ]);
  });

  it('tags each server with its cluster and its locality (the tag the pool\'s locality weights read), one frozen object per locality', () => {
    const m = mapEndpointSet(set(loc('a', [[1], [2]]), loc('b', [[3]], { priority: 1 })));
    assert.deepEqual(m.map((e) => e.server.tags), [
      { 'xds.cluster': 'c', locality: 'r/a/' },
      { 'xds.cluster': 'c', locality: 'r/a/' },
      { 'xds.cluster': 'c', locality: 'r/b/' },
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
