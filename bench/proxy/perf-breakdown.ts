/**
 * Where a proxy process's CPU time goes, from `perf record -g` samples (`perf script -F tid,ip,sym,dso`), for
 * `bench/conn-profile.ts`. Node runs with `--perf-basic-prof --interpreted-frames-native-stack`, so JavaScript
 * frames carry their function and URL (`JS:*name node:net:363:16`) and the call chains go through V8's frames and
 * Node's C++ (both keep frame pointers). Every sample is put in one layer and in one phase of a connection.
 *
 * Layer, from the leaf up: kernel time by system call (`__x64_sys_<name>` in the chain), page faults, other
 * kernel work (interrupts, softirq); in user space the first frame that says who owns the time: V8's garbage
 * collector, V8's compilers, a JavaScript function (Node's own `node:*` modules, switchyard's build, its
 * eventemitter3, the bench script), or Node's C++ and libuv; V8 builtins, ICs, runtime calls and libc are
 * charged to the JavaScript or C++ frame that called them. Samples of other threads (V8's compiler and GC
 * helpers) are one layer of their own.
 *
 * Phase: the leaf-most frame that belongs to one step of a proxied connection (accept, balancer, dial, relay,
 * close, event loop); the patterns are listed in PHASES. A sample with no such frame is `other`.
 */
import { execFileSync } from 'node:child_process';

export interface Frame {
  readonly sym: string;
  readonly dso: string;
}

export interface Breakdown {
  /** Samples of the main thread (tid = pid) and of every other thread. */
  readonly mainSamples: number;
  readonly otherSamples: number;
  readonly byLayer: Map<string, number>;
  readonly byPhase: Map<string, number>;
  /** Kernel samples by system call, with the JavaScript (or C++) function that made the call most often. */
  readonly bySyscall: Map<string, { samples: number; callers: Map<string, number> }>;
  /** Self samples by JavaScript function (after charging builtins to their caller). */
  readonly byFunction: Map<string, number>;
}

const GC = /v8::internal::(Heap::|Heap[A-Z]|Scavenger|Scavenge|MarkCompact|MinorMarkCompact|MinorMarkSweep|MinorMS|Sweeper|ConcurrentMarking|GCTracer|IncrementalMarking|Marking|Evacuat|PagedSpace|SemiSpace|NewSpace|RememberedSet|ArrayBufferSweeper|MemoryReducer|MemoryAllocator|GlobalHandles::|Isolate::PerformGC|MinorGC|FullGC|YoungGeneration)|cppgc::|^v8::internal::.*(?:Visitor|Visit)/;
const COMPILE = /v8::internal::(compiler::|maglev::|baseline::|Compiler::|Parser|PreParser|Scanner|interpreter::Bytecode|BytecodeGenerator|AstNode|Deoptimizer|OptimizingCompileDispatcher|Zone)|v8::internal::wasm/;
const JS = /^(?:JS|LazyCompile|Function|Script):([*^~+']?)(\S*)\s*(\S*)$/;

/** The JavaScript function and URL of a frame, or undefined if it is not JavaScript. */
export function jsFrame(frame: Frame): { name: string; url: string } | undefined {
  const m = JS.exec(frame.sym);
  if (m === null) return undefined;
  // `name url:line:col`: when the name is empty the first token is the URL.
  const [name, url] = m[3] === '' ? ['(anonymous)', m[2]!] : [m[2]!, m[3]!];
  return { name, url };
}

function jsLayer(url: string): string {
  if (url.startsWith('node:')) return 'Node.js JavaScript (net, streams, events, timers)';
  if (url.includes('node_modules/eventemitter3')) return 'eventemitter3';
  if (url.includes('/bench/')) return 'bench script';
  if (/\/(balancer|pool|pool-types|server|server-options|lease|clock|diagnostics|outcome)\.js/.test(url) || /\/(strategies|internal|health)\//.test(url)) {
    return 'switchyard: balancer, pool, strategy';
  }
  if (url.startsWith('file:')) return 'switchyard: proxy (session, dial, relay)';
  return 'other JavaScript';
}

const isKernel = (f: Frame) => f.dso === '[kernel.kallsyms]' || f.dso.startsWith('[kernel');
const isNative = (f: Frame) => /^(node::|uv_|uv__|napi_|ares_|.*\bnode::)/.test(f.sym);

/** Layer of the user-space part of a chain, starting at index `from`. */
function userLayer(chain: readonly Frame[], from: number): { layer: string; fn?: string } {
  for (let i = from; i < chain.length; i++) {
    const f = chain[i]!;
    if (GC.test(f.sym)) return { layer: 'garbage collection' };
    if (COMPILE.test(f.sym)) return { layer: 'V8 compilers (main thread)' };
    const js = jsFrame(f);
    if (js !== undefined) return { layer: jsLayer(js.url), fn: `${js.name} ${js.url.replace(/^file:\/\/.*\//, '')}` };
    if (isNative(f)) return { layer: 'Node C++ and libuv', fn: f.sym.replace(/\(.*$/, '') };
  }
  return { layer: 'other user space (V8 runtime, libc; all of HAProxy)' };
}

/** Each phase is a list of patterns over frame symbols (JS frames read as `name url`). Leaf-most match wins. */
const PHASES: readonly [string, RegExp][] = [
  ['balancer: pick, lease, release', /\/(balancer|pool|server|lease|wait-queue|fifo|pick-context)\.js|\/strategies\/|tryAcquire|Lease|acquire /],
  ['dial: connect to the server', /\/proxy\/dial\.js|createSocket|^JS:\S?connect node:net|internalConnect|afterConnect|TCPConnectWrap|ConnectWrap|lookupAndConnect|Socket\.connect|\bdialed\b|__(x64_sys|sys)_connect\b|__(x64_sys|sys)_socket\b|__(x64_sys|sys)_setsockopt|setNoDelay/],
  ['accept: the client socket', /uv__server_io|OnConnection|onconnection node:net|__(x64_sys|sys)_accept4?\b|JS:\S?Session \S*session\.js|handle \S*tcp-proxy\.js|Server\.<anonymous>|#onConnection|__(x64_sys|sys)_getpeername|_getpeername|remoteAddress|remotePort/],
  ['close: FIN, reset check, destroy', /destroy|_destroy|emitCloseNT|onClose|closeSocketHandle|#finish|shutdown|Shutdown|endReadableNT|onReadableStreamEnd|readOnceMore|wasReset|handle\.onread|HandleWrap::Close|HandleWrap::OnClose|uv_close|uv__stream_destroy|uv__finish_close|__x64_sys_close\b|close_fd|__(x64_sys|sys)_shutdown|#onClientClose|#onUpstreamClose|#onClientEnd|#onUpstreamEnd|#maybeFinish|closed |finishMaybe|\bend node:|Socket\.end|#closed|onStreamEnd|Ended /],
  ['relay: read, write, first byte', /onStreamRead|onUpstreamRead|#onClientData|OnUvRead|OnStreamRead|uv__read|uv__write|uv__try_write|DoTryWrite|WriteBuffer|Writev|writeGeneric|writevGeneric|_write node:|Writable\.write|\bwrite node:|afterWriteDispatched|onWriteComplete|addChunk|readableAddChunk|Readable\.push|__x64_sys_(read|write|writev|readv|recvfrom|sendto)\b|ksys_(read|write)\b|do_writev|do_readv/],
  ['event loop: epoll, timers, ticks', /uv__io_poll|uv_run|__x64_sys_epoll|do_epoll|io_uring_enter|processTimers|listOnTimeout|processTicksAndRejections|uv__run_timers|uv__io_start|uv__io_stop/],
];

function phaseOf(chain: readonly Frame[]): string {
  for (const f of chain) {
    const js = jsFrame(f);
    const text = js === undefined ? f.sym : `JS:${f.sym.slice(f.sym.indexOf(':') + 1)}`;
    for (const [name, re] of PHASES) if (re.test(text)) return name;
  }
  return 'other';
}

/**
 * The system call a kernel chain is in: the frame called by `do_syscall_64` (skipping the `x64_sys_call`
 * dispatcher), named without its prefix (`__x64_sys_connect`, `ksys_write`, `__sys_accept4` → connect, write,
 * accept4). Undefined when the chain does not come from a system call (an interrupt, a page fault).
 */
function syscallOf(chain: readonly Frame[], kernelEnd: number): string | undefined {
  let i = chain.findIndex((f, j) => j < kernelEnd && f.sym === 'do_syscall_64');
  if (i <= 0) return undefined;
  i--;
  while (i > 0 && /^(x64_sys_call|__x64_sys_call)$/.test(chain[i]!.sym)) i--;
  const name = chain[i]!.sym;
  if (/^(exit_to_user|syscall_exit|asm_|irqentry|x64_sys_call)/.test(name)) return 'entry/exit, interrupts';
  if (name === 'vm_mmap_pgoff') return 'mmap';
  return name.replace(/^(__x64_sys_|__ia32_sys_|__se_sys_|__do_sys_|ksys_|__sys_|do_sys_|do_)/, '').replace(/^epoll_wait$/, 'epoll_pwait');
}

/** Parses `perf script -F tid,ip,sym,dso` output of a `perf record -g` run of process `pid`. */
export function breakdown(perfData: string, pid: number): Breakdown {
  const text = execFileSync('perf', ['script', '-i', perfData, '-F', 'tid,ip,sym,dso'], {
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const byLayer = new Map<string, number>();
  const byPhase = new Map<string, number>();
  const bySyscall = new Map<string, { samples: number; callers: Map<string, number> }>();
  const byFunction = new Map<string, number>();
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  let mainSamples = 0;
  let otherSamples = 0;
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    const tid = Number(lines[0]!.trim().split(/\s+/)[0]);
    if (!Number.isFinite(tid)) continue;
    const chain: Frame[] = [];
    for (const line of lines.slice(1)) {
      const m = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
      if (m) chain.push({ sym: m[1]!, dso: m[2]! });
    }
    if (chain.length === 0) continue;
    if (tid !== pid) {
      otherSamples++;
      // V8's helper threads: concurrent/parallel GC and background compilation (HAProxy: its other thread).
      const kernel = isKernel(chain[0]!);
      const { layer } = userLayer(chain, 0);
      const what = kernel ? 'kernel' : layer === 'garbage collection' ? 'GC' : layer === 'V8 compilers (main thread)' ? 'compiler' : 'other';
      add(byLayer, `other threads: ${what}`);
      continue;
    }
    mainSamples++;
    add(byPhase, phaseOf(chain));
    if (isKernel(chain[0]!)) {
      let kernelEnd = 0;
      while (kernelEnd < chain.length && isKernel(chain[kernelEnd]!)) kernelEnd++;
      const syscall = syscallOf(chain, kernelEnd);
      if (syscall === undefined) {
        const fault = chain.slice(0, kernelEnd).some((f) => /page_fault/.test(f.sym));
        add(byLayer, fault ? 'kernel: page faults' : 'kernel: other (interrupts, softirq, syscall entry)');
        continue;
      }
      add(byLayer, `system call: ${syscall}`);
      const entry = bySyscall.get(syscall) ?? { samples: 0, callers: new Map<string, number>() };
      entry.samples++;
      const caller = userLayer(chain, kernelEnd);
      add(entry.callers, caller.fn ?? caller.layer);
      bySyscall.set(syscall, entry);
      continue;
    }
    const { layer, fn } = userLayer(chain, 0);
    add(byLayer, layer);
    if (fn !== undefined && layer !== 'Node C++ and libuv') add(byFunction, fn);
    else if (fn !== undefined) add(byFunction, `[C++] ${fn}`);
  }
  return { mainSamples, otherSamples, byLayer, byPhase, bySyscall, byFunction };
}
