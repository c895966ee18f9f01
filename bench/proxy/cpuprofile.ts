/**
 * Where the main thread's time goes in a `.cpuprofile`, by category, for `BENCH_PROFILE=1 npm run bench:proxy`.
 * Self time only (each sample counted once, in the function it was taken in).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** C++ bindings that are one system call (or the libuv call around it), and the JS frames V8 charges them to. */
const SYSCALL_FRAMES = new Set([
  'connect', 'writeBuffer', 'writev', 'writeUtf8String', 'close', 'shutdown', 'readStart', 'readStop', 'getpeername',
  'getsockname', 'setNoDelay', 'setKeepAlive', 'useUserBuffer', 'internalConnect', 'open', 'bind',
]);

export function category(frame: ProfileNode['callFrame']): string {
  const { functionName, url } = frame;
  if (functionName === '(idle)') return 'idle (waiting in epoll)';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8/native glue';
  if (url === '' && SYSCALL_FRAMES.has(functionName)) return 'system calls (C++ bindings)';
  if (url.startsWith('node:') && functionName === 'internalConnect') return 'system calls (C++ bindings)';
  if (url.includes('node_modules/eventemitter3')) return 'eventemitter3';
  if (/\/(tcp-proxy|connect)\.js$/.test(url) || url.includes('/proxy/')) return 'switchyard: proxy';
  if (/\/(balancer|pool|server|lease|diagnostics|clock)\.js$/.test(url) || url.includes('/strategies/') || url.includes('/internal/')) {
    return 'switchyard: balancer, pool, strategy';
  }
  if (url.startsWith('node:')) return 'Node.js: net, streams, timers, events';
  if (url === '') return 'other native';
  return 'other JS';
}

/** Milliseconds of main-thread time per category, and per function (top entries). */
export function summarise(file: string): { totalMs: number; byCategory: Map<string, number>; top: [string, number][] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const c = category(frame);
    byCategory.set(c, (byCategory.get(c) ?? 0) + ms);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/.*\//, '')}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
  });
  const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.BENCH_PROFILE_TOP ?? 25));
  return { totalMs: total, byCategory, top };
}
