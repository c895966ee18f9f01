/**
 * What the two xDS benchmarks share (bench/xds-apply.ts end to end, bench/xds-stages.ts stage by stage): the set of
 * each round, an explicit garbage collection before each measured window, and the optional CPU profile of a window.
 */
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type TestEndpoint, manyEndpoints } from '../test/xds/helpers/resources.js';

/** Endpoints per set (XDS_ENDPOINTS, 10 000). */
export const ENDPOINTS = Number(process.env['XDS_ENDPOINTS'] ?? 10_000);

/**
 * The endpoints of one window: `offset` replaces every tenth address (a new port) and changes the others' weights,
 * so that two consecutive offsets make an update of 90 % weights and 10 % addresses.
 */
export function roundEndpoints(offset: number): TestEndpoint[] {
  return manyEndpoints(ENDPOINTS, offset).map((e, i) => (i % 10 === 0 ? { ...e, port: e.port + offset } : { ...e, weight: 1 + ((i + offset) % 7) }));
}

/** A full garbage collection (`--expose-gc` set at run time): the set's own building is not measured. */
export const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** CPU profiles of chosen windows into XDS_CPU_PROFILE (a directory), 100 µs sampling; no-ops when it is unset. */
export interface WindowProfiler {
  readonly enabled: boolean;
  start(): Promise<void>;
  /** Stops and writes `<name>.cpuprofile`. */
  stop(name: string): Promise<void>;
}

export async function windowProfiler(): Promise<WindowProfiler> {
  const dir = process.env['XDS_CPU_PROFILE'];
  if (dir === undefined) return { enabled: false, start: async () => undefined, stop: async () => undefined };
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  return {
    enabled: true,
    start: async () => {
      await session.post('Profiler.start');
    },
    stop: async (name) => {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    },
  };
}
