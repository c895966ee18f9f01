/**
 * How long the stats page takes with 1 000 servers: server-side (records + HTML, in process, and a whole
 * request over loopback) and in Chromium (navigation to load event, and a click's time to the next frame).
 * A measurement, not a test: `node --import tsx test/stats/render-bench.ts [--browser]`.
 */
import http from 'node:http';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Balancer } from '../../src/balancer.js';
import { ManualClock } from '../../src/clock.js';
import { Pool } from '../../src/pool.js';
import { renderPage } from '../../src/stats/page-html.js';
import { createStatsHandler } from '../../src/stats/stats-handler.js';
import { showStatRecords } from '../../src/metrics/show-stat.js';
import { launchChromium } from './cli-rig.js';
import { request } from './support.js';

const SERVERS = 1000;
const RUNS = 30;

const clock = new ManualClock(10_000_000);
const pool = new Pool('big', {
  clock,
  servers: Array.from({ length: SERVERS }, (_, i) => ({ name: `srv${i + 1}`, host: '10.0.0.1', port: 1000 + i, check: i % 3 !== 0, backup: i % 50 === 49 })),
});
for (let i = 0; i < SERVERS; i += 7) pool.setHealth(`srv${i + 1}`, 'down');
for (let i = 3; i < SERVERS; i += 11) pool.setAdminState(`srv${i + 1}`, 'drain');
const balancer = new Balancer(pool, { clock });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(fn: () => unknown): { median: number; max: number } {
  for (let i = 0; i < 5; i++) fn();
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  return { median: median(xs), max: Math.max(...xs) };
}

const model = (pageSize: number) => ({
  version: 'bench', pid: 1, uptimeSec: 1, connections: 0, uri: '/', metricsUri: '/metrics', upOnly: false, noRefresh: false, refreshSec: 5,
  page: undefined, pageSize, done: false, showLegends: true, capability: () => 'backend', admin: { action: '/', token: 'x'.repeat(43) },
});

const all = time(() => renderPage({ ...model(SERVERS), records: showStatRecords([balancer]) }));
const paged = time(() => renderPage({ ...model(200), records: showStatRecords([balancer]) }));
const bytesAll = renderPage({ ...model(SERVERS), records: showStatRecords([balancer]) }).length;
const bytesPaged = renderPage({ ...model(200), records: showStatRecords([balancer]) }).length;
console.log(`${SERVERS} servers, in process (records + HTML), median/max of ${RUNS}:`);
console.log(`  every row on one page: ${all.median.toFixed(1)} / ${all.max.toFixed(1)} ms, ${(bytesAll / 1024).toFixed(0)} KiB`);
console.log(`  paged (200 rows):      ${paged.median.toFixed(1)} / ${paged.max.toFixed(1)} ms, ${(bytesPaged / 1024).toFixed(0)} KiB`);

const server = http.createServer(createStatsHandler({ source: balancer, uri: '/', pageSize: 200, auth: [{ user: 'a', password: 'b' }], admin: true }));
server.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const { port } = server.address() as net.AddressInfo;
const auth = { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` };
const over: number[] = [];
for (let i = 0; i < RUNS + 5; i++) {
  const t = performance.now();
  const r = await request(port, '/;norefresh', { headers: auth });
  if (r.status !== 200) throw new Error(`status ${r.status}`);
  if (i >= 5) over.push(performance.now() - t);
}
console.log(`  whole request over loopback (auth, paged): median ${median(over).toFixed(1)} ms, max ${Math.max(...over).toFixed(1)} ms`);

if (process.argv.includes('--browser')) {
  const unpaged = http.createServer(createStatsHandler({ source: balancer, uri: '/', pageSize: SERVERS }));
  unpaged.listen(0, '127.0.0.1');
  await new Promise((r) => unpaged.once('listening', r));
  const unpagedPort = (unpaged.address() as net.AddressInfo).port;
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.setExtraHTTPHeaders(auth);
    for (const [label, url] of [['paged (200 rows)', `http://127.0.0.1:${port}/;norefresh`], ['every row (1 000)', `http://127.0.0.1:${unpagedPort}/;norefresh`]] as const) {
      const loads: number[] = [];
      const clicks: number[] = [];
      for (let i = 0; i < 5; i++) {
        await page.goto(url);
        loads.push(await page.evaluate('performance.getEntriesByType("navigation")[0].loadEventEnd') as number);
        // Responsiveness: from a click on a server's link (it scrolls to its row) to the next painted frame.
        const box = page.locator('tr[id] a.lfsb').nth(150);
        const t = performance.now();
        await box.click();
        await page.evaluate('new Promise((r) => requestAnimationFrame(() => r(0)))');
        clicks.push(performance.now() - t);
      }
      console.log(`  Chromium, ${label}: load event at median ${median(loads).toFixed(0)} ms; click to next frame median ${median(clicks).toFixed(0)} ms`);
    }
  } finally {
    await browser.close();
    unpaged.close();
  }
}
server.close();
balancer.destroy();
