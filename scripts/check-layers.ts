/**
 * Reads the imports of every file under src/ (type-only ones included) and checks the house rules of
 * docs/architecture.md: no import circle, and no import from a lower layer to a higher one.
 * Prints the layers with their files and every violation; exits 1 when there is one.
 *
 *   node --import tsx scripts/check-layers.ts          # check
 *   node --import tsx scripts/check-layers.ts --list   # also print each file's layer
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The layers, lowest first. A file belongs to the first layer with a pattern that matches its path under src/. */
export const LAYERS: readonly (readonly [name: string, patterns: readonly string[]])[] = [
  ['foundation', ['errors.ts', 'clock.ts', 'internal/']],
  ['state vocabulary', ['state/']],
  ['diagnostics channels', ['diagnostics.ts']],
  ['server', ['server.ts']],
  ['strategies', ['strategies/']],
  ['pool', ['pool-events.ts', 'outcome.ts', 'pool-tier-options.ts', 'pool-tiers.ts', 'pool-members.ts', 'pool-change.ts', 'pool-batch.ts', 'pool-update.ts', 'pool-agent.ts', 'pool-state.ts', 'pool-counters.ts', 'pool.ts']],
  ['health', ['health/']],
  ['leases', ['lease.ts', 'admission.ts', 'wait-queue.ts', 'diagnostics-messages.ts']],
  ['dial (outbound)', ['dial/']],
  ['balancer', ['strategy-groups.ts', 'candidate-group.ts', 'balancer-options.ts', 'balancer.ts']],
  ['proxy (inbound)', ['proxy/']],
  // TcpProxy on worker threads: the main thread's balancer grants every worker's leases.
  ['workers', ['workers/']],
  ['faces', ['discovery/', 'metrics/', 'testing/', 'resilience/']],
  ['integrations', ['adapters/', 'xds/', 'etcd/']],
  ['haproxy config', ['haproxy/config/']],
  ['haproxy log', ['haproxy/log/']],
  ['haproxy build', ['haproxy/build/']],
  ['haproxy runtime', ['haproxy/runtime/']],
  ['haproxy entry', ['haproxy/from-config.ts', 'haproxy/index.ts']],
  // HAProxy's stats page: renders a whole HAProxy instance (show stat rows, runtime views) and logs admin
  // changes with HAProxy's lines, so it sits above the HAProxy face; the CLI serves it.
  ['stats page', ['stats/']],
  ['cli', ['cli/']],
  ['root entry', ['index.ts']],
];

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, '..', 'src');

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

export function layerOf(rel: string): number {
  return LAYERS.findIndex(([, patterns]) => patterns.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p)));
}

/** Relative specifiers of `import … from`, `export … from` and `import('…')`, comments and strings aside. */
export function importsOf(text: string): string[] {
  const stripped = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;
  for (let m = re.exec(stripped); m !== null; m = re.exec(stripped)) {
    const s = m[1] ?? m[2] ?? m[3];
    if (s !== undefined && s.startsWith('.')) specs.push(s);
  }
  return specs;
}

export function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of walk(src)) {
    const rel = path.relative(src, file).split(path.sep).join('/');
    const targets = importsOf(fs.readFileSync(file, 'utf8')).map((s) =>
      path.relative(src, path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts'))).split(path.sep).join('/'),
    );
    g.set(rel, [...new Set(targets)]);
  }
  return g;
}

/** Strongly connected components with more than one file (or a file importing itself). */
export function circles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Every breach of the rules: a file in no layer, an import of a missing file or of a higher layer, a circle. */
export function layerProblems(g: Map<string, string[]> = graph()): string[] {
  const problems: string[] = [];
  for (const [file, targets] of g) {
    const from = layerOf(file);
    if (from < 0) problems.push(`${file}: in no layer (add it to LAYERS in scripts/check-layers.ts)`);
    for (const t of targets) {
      if (!g.has(t)) problems.push(`${file}: imports ${t}, which does not exist`);
      const to = layerOf(t);
      if (from >= 0 && to > from) problems.push(`${file} (${LAYERS[from]![0]}) imports ${t} (${LAYERS[to]![0]}): a higher layer`);
    }
  }
  for (const c of circles(g)) problems.push(`import circle: ${c.join(' -> ')}`);
  return problems;
}

function main(): void {
  const g = graph();
  const problems = layerProblems(g);
  if (process.argv.includes('--list')) {
    LAYERS.forEach(([name], i) => {
      const files = [...g.keys()].filter((f) => layerOf(f) === i).sort();
      console.log(`${String(i).padStart(2)} ${name}: ${files.join(', ')}`);
    });
  }
  const edges = [...g.values()].reduce((n, t) => n + t.length, 0);
  if (problems.length === 0) {
    console.log(`layers: ${g.size} files, ${edges} imports, ${LAYERS.length} layers, no circle, no import upward`);
    return;
  }
  for (const p of problems) console.log(p);
  console.log(`layers: ${problems.length} problem(s)`);
  process.exitCode = 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
