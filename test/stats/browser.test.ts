/**
 * The stats page as an operator sees it: Debian's Chromium, headless, against the page served by a real
 * `switchyard -f` process on 127.0.0.1. One browser and one process for the whole suite; every wait is bounded,
 * and the page is re-read by reloading it (no sleep stands in for the refresh).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { humanTime } from '../../src/stats/html-format.js';
import { withTimeout } from '../helpers/timeout.js';
import { type CliRig, HAVE_CHROMIUM, launchChromium, runtime, startCliRig } from './cli-rig.js';

const AUTH = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };

interface Row {
  readonly id: string;
  readonly cls: string;
  readonly bg: string;
  readonly cells: readonly string[];
}

async function rows(page: Page): Promise<Row[]> {
  // Runs in the page (the test's tsconfig has no DOM types: the browser's globals are reached through globalThis).
  return page.$$eval('tr[id]', (trs) => trs.map((tr) => ({
    id: tr.id,
    cls: tr.className,
    bg: (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(tr).backgroundColor,
    cells: [...tr.children].map((c) => (c.textContent ?? '').replace(/[\u202f\u00a0]/g, '').trim()),
  })));
}

/** What the page must show for a `show stat` server row, cell by cell (index into the row's cells). */
function expectedCells(r: Record<string, string>): Record<number, string> {
  const f = (k: string): string => r[k] ?? '';
  const status = f('status') === 'no check' ? 'no check' : `${humanTime(Number(f('lastchg')))} ${f('status')}`;
  const chk = f('check_status') === '' ? '' : `${f('check_status')}${f('check_code') === '' ? '' : `/${f('check_code')}`}${f('check_duration') === '' ? '' : ` in ${f('check_duration')}ms`}`;
  return {
    1: f('svname'), 2: f('qcur'), 3: f('qmax'), 4: f('qlimit') || '-', 8: f('scur'), 9: f('smax'), 10: f('slim') || '-', 11: f('stot'), 12: f('lbtot'),
    14: f('bin'), 15: f('bout'), 19: f('econ'), 21: f('wretr'), 22: f('wredis'), 23: status, 24: chk, 25: `${f('weight')}/${f('uweight')}`,
    26: f('act') === '1' ? 'Y' : '-', 27: f('bck') === '1' ? 'Y' : '-', 28: f('chkfail'), 29: f('chkdown'),
  };
}

/**
 * A cell with the part that moves with time alone masked: the time since the last change in the status (cell 23,
 * `1m2s UP`), a check's duration (cell 24, `L4OK in 0ms`). The masked part must still have its form.
 */
function tickingMasked(i: number, cell: string): string {
  if (i === 23) return cell.replace(/^(?:\d+[dhms])+ /, '<time> ');
  if (i === 24) return cell.replace(/ in \d+ms$/, ' in <n>ms');
  return cell;
}

const DOWN_RED = 'rgb(255, 144, 144)';

/** A show stat row without the fields that change with time alone. */
function withoutTicking(r: Record<string, string>): Record<string, string> {
  const { lastchg: _lastchg, downtime: _downtime, check_duration: _duration, ...rest } = r;
  return rest;
}

describe('the stats page in headless Chromium, served by switchyard -f', { skip: HAVE_CHROMIUM ? false : 'no /usr/bin/chromium', timeout: 120_000 }, () => {
  let rig: CliRig;
  let browser: { context: BrowserContext; close(): Promise<void> };
  let page: Page;
  const cspErrors: string[] = [];

  before(async () => {
    rig = await startCliRig();
    try {
      browser = await launchChromium();
    } catch (err) {
      await rig.stop();
      throw err;
    }
    page = await browser.context.newPage();
    await page.setExtraHTTPHeaders(AUTH);
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
    });
  });
  after(async () => {
    await browser?.close();
    await rig?.stop();
  });

  it('shows the rows, states and counters of show stat at the same moment, under the page\'s CSP', async () => {
    await rig.traffic(4, 'hello from the browser suite\n');
    const deadline = performance.now() + 10_000;
    while ((await rig.showStat()).some((r) => r['svname'] === 'BACKEND' && r['pxname'] === 'web' && r['scur'] !== '0')) {
      if (performance.now() > deadline) throw new Error('connections did not close');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The same moment: show stat before and after the page load agree, so the page saw that state.
    let compared = false;
    for (let attempt = 0; attempt < 10 && !compared; attempt++) {
      const beforeLoad = await rig.showStat();
      const response = await page.goto(rig.pageUrl);
      assert.equal(response?.status(), 200);
      const shown = await rows(page);
      const afterLoad = await rig.showStat();
      // Seconds since the last change, downtime and a check's duration move with the clock alone (the checks run
      // every 500 ms); on a busy machine a page load takes longer than that. The rest must not have moved, and
      // each cell must show the value of show stat just before or just after the load.
      if (JSON.stringify(beforeLoad.map(withoutTicking)) !== JSON.stringify(afterLoad.map(withoutTicking))) continue;
      compared = true;
      const servers = beforeLoad.filter((r) => r['pxname'] === 'web' && r['type'] === '2');
      assert.deepEqual(shown.filter((r) => r.id.startsWith('web/')).map((r) => r.id), servers.map((r) => `web/${r['svname']}`));
      for (const r of servers) {
        const row = shown.find((x) => x.id === `web/${r['svname']}`);
        assert.ok(row !== undefined);
        const later = afterLoad.find((x) => x['pxname'] === 'web' && x['svname'] === r['svname'])!;
        const [early, late] = [expectedCells(r), expectedCells(later)];
        for (const [i, want] of Object.entries(early)) {
          const cell = row.cells[Number(i)];
          // A ticking cell may show a third value when a check ran during the load and another after it (CI saw
          // "L4CON in 0ms" between two "L4CON in 1ms"): it must then agree with show stat apart from the time.
          const ok = cell === want || cell === late[Number(i)] || (cell !== undefined && tickingMasked(Number(i), cell) === tickingMasked(Number(i), want));
          assert.ok(ok, `${row.id} cell ${i}: ${JSON.stringify(cell)}, show stat said ${JSON.stringify(want)} then ${JSON.stringify(late[Number(i)])}`);
        }
      }
      const byId = new Map(shown.map((r) => [r.id, r]));
      assert.equal(byId.get('web/s1')?.cls, 'active_up');
      assert.equal(byId.get('web/s1')?.bg, 'rgb(192, 255, 192)', 'the style applied under the CSP');
      assert.equal(byId.get('web/s2')?.cls, 'active_down');
      assert.equal(byId.get('web/s2')?.bg, DOWN_RED);
      assert.equal(byId.get('web/s3')?.cls, 'active_no_check');
      assert.equal(byId.get('web/m1')?.cls, 'maintain');
      assert.equal(byId.get('web/m1')?.bg, 'rgb(192, 120, 32)');
      assert.ok(Number(servers.find((r) => r['svname'] === 's1')?.['stot']) > 0, 'traffic went through s1');
    }
    assert.ok(compared, 'show stat never held still across a page load');
    assert.deepEqual(cspErrors, []);
  });

  it('turns a server taken down on the runtime API to the DOWN colour at the next refresh', async () => {
    const response = await page.goto(rig.pageUrl);
    assert.equal(response?.headers()['refresh'], '2', 'the browser refreshes the page every 2 s');
    assert.equal((await rows(page)).find((r) => r.id === 'web/s3')?.cls, 'active_no_check');
    await runtime(rig.apiPort, 'set server web/s3 health down');
    await page.reload();
    const s3 = (await rows(page)).find((r) => r.id === 'web/s3');
    assert.equal(s3?.cls, 'active_down');
    assert.equal(s3?.bg, DOWN_RED);
    assert.match(s3?.cells[23] ?? '', /DOWN$/);
    assert.ok(rig.stderr.some((l) => l.includes('Server web/s3 is DOWN, changed from CLI.')), rig.stderr.join('\n'));
  });

  it('drains a server when an admin clicks DRAIN, and logs HAProxy\'s line', async () => {
    await page.goto(rig.pageUrl);
    await page.check('input[name=s][value=s1]');
    await Promise.all([page.waitForURL(/;st=DONE$/), page.click('#web button[value=drain]')]);
    assert.match(await page.textContent('body') ?? '', /Action processed successfully\./);
    const s1 = (await rows(page)).find((r) => r.id === 'web/s1');
    assert.equal(s1?.cls, 'active_draining');
    assert.equal((await rig.showStat()).find((r) => r['svname'] === 's1')?.['status'], 'DRAIN');
    assert.ok(rig.stderr.some((l) => /Server web\/s1 enters drain state\. \d active and \d backup servers online\./.test(l)), rig.stderr.join('\n'));
    assert.deepEqual(cspErrors, []);
  });

  it('refuses the page and the action without credentials, and a forged post from another origin', async () => {
    const anonymous = await browser.context.newPage();
    const evil = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form id=f method=post action="${rig.pageUrl}"><input name=s value=s3><input name=action value=maint><input name=b value=web></form><script>document.getElementById('f').submit()</script>`);
    });
    evil.listen(0, '127.0.0.1');
    await withTimeout(new Promise((r) => evil.once('listening', r)), 5000, 'the other origin');
    try {
      // Everything but the seconds since the last change, which tick on their own.
      const s3 = async (): Promise<string> => JSON.stringify({ ...(await rig.showStat()).find((r) => r['svname'] === 's3'), lastchg: undefined });
      const before = await s3();
      // Without credentials Chromium's navigation ends on the 401 challenge (Playwright has none to give).
      await assert.rejects(anonymous.goto(rig.pageUrl), /ERR_INVALID_AUTH_CREDENTIALS/);
      assert.equal((await anonymous.request.get(rig.pageUrl)).status(), 401);
      const post = await anonymous.request.post(rig.pageUrl, { form: { s: 's3', action: 'maint', b: 'web' } });
      assert.equal(post.status(), 401);
      // A browser that has the credentials (cached Basic auth) is led to post from another origin.
      await anonymous.setExtraHTTPHeaders(AUTH);
      const forged = anonymous.waitForResponse((r) => r.url() === rig.pageUrl && r.request().method() === 'POST');
      await anonymous.goto(`http://127.0.0.1:${(evil.address() as net.AddressInfo).port}/`);
      const answer = await forged;
      assert.equal(answer.status(), 403);
      assert.match(await answer.text(), /cross-site request refused \(Sec-Fetch-Site: same-site\)/);
      assert.equal(await s3(), before, 'nothing changed');
    } finally {
      await anonymous.close();
      evil.closeAllConnections();
      await new Promise<void>((r) => evil.close(() => r()));
    }
  });
});
