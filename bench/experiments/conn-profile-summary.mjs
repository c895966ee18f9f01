// Groups the layers of a bench/conn-profile.ts JSON (CP_JSON) into categories, µs per connection, one column per
// variant: node bench/experiments/conn-profile-summary.mjs file.json
import { readFileSync } from 'node:fs';
const j = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const cats = {
  'kernel: system calls': (k) => k.startsWith('system call:'),
  'kernel: faults, interrupts': (k) => k.startsWith('kernel:'),
  'Node.js JS (net, streams, events, timers)': (k) => k.startsWith('Node.js JavaScript'),
  'Node C++ and libuv': (k) => k === 'Node C++ and libuv',
  'switchyard (proxy + balancer + eventemitter3) / bench script': (k) => k.startsWith('switchyard') || k === 'eventemitter3' || k === 'bench script',
  'garbage collection (main thread)': (k) => k === 'garbage collection',
  'V8 helper threads (GC, compiler)': (k) => k.startsWith('other threads'),
  'V8 runtime/compilers, libc (main thread); all of HAProxy user space': (k) => k.startsWith('V8 compilers') || k.startsWith('other user space') || k === 'other JavaScript',
};
const rows = j.perf;
const head = ['category', ...rows.map((r) => r.variant)];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const [name, test] of Object.entries(cats)) {
  const vals = rows.map((r) => Object.entries(r.layersUs).filter(([k]) => test(k)).reduce((a, [, v]) => a + v, 0));
  console.log(`| ${name} | ${vals.map((v) => v.toFixed(1)).join(' | ')} |`);
}
const tot = rows.map((r) => j.rows.find((x) => x.variant === r.variant));
console.log(`| **total CPU µs/conn (pass 1, user+sys)** | ${tot.map((t) => `**${t.cpuUs.toFixed(1)}** (${t.cpuVsH1.toFixed(2)}×)`).join(' | ')} |`);
console.log(`| of which user / sys | ${tot.map((t) => `${t.userUs.toFixed(0)} / ${t.sysUs.toFixed(0)}`).join(' | ')} |`);
console.log(`| system calls per connection | ${rows.map((r) => r.syscallsTotal).join(' | ')} |`);
console.log(`| conn/s (median; ×HAProxy nbthread 1 per round) | ${tot.map((t) => `${t.connPerSec.toFixed(0)} (${t.rateVsH1.toFixed(2)}×)`).join(' | ')} |`);
console.log('\nphases (main thread), µs/conn:');
const phases = [...new Set(rows.flatMap((r) => Object.keys(r.phasesUs)))];
console.log(`| phase | ${rows.map((r) => r.variant).join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const p of phases) console.log(`| ${p} | ${rows.map((r) => (r.phasesUs[p] ?? 0).toFixed(1)).join(' | ')} |`);
