// Paired comparison of an ab.ts JSON (AB_JSON): node bench/experiments/pair.mjs file.json "baseline label" "label" ...
// For each label: median over rounds of the per-round CPU difference and ratio to the baseline, user-time Δ, conn/s ratio.
import { readFileSync } from 'node:fs';
const [file, a, ...bs] = process.argv.slice(2);
const j = JSON.parse(readFileSync(file, 'utf8'));
const med = (x) => { const s = [...x].sort((p, q) => p - q); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const A = j.raw[a];
for (const b of bs) {
  const B = j.raw[b];
  if (!A || !B) { console.log('missing', a, b); continue; }
  const d = B.cpu.map((x, i) => x - A.cpu[i]);
  const r = B.cpu.map((x, i) => x / A.cpu[i]);
  const rr = B.rate.map((x, i) => x / A.rate[i]);
  const du = B.user ? B.user.map((x, i) => x - A.user[i]) : [];
  console.log(`${b} vs ${a}: CPU ${med(B.cpu).toFixed(1)} vs ${med(A.cpu).toFixed(1)} µs; Δ median ${med(d).toFixed(1)} µs [min ${Math.min(...d).toFixed(1)}, max ${Math.max(...d).toFixed(1)}], ×${med(r).toFixed(2)}; user Δ ${du.length ? med(du).toFixed(1) : '-'}; conn/s ×${med(rr).toFixed(2)}; n=${d.length}`);
}
