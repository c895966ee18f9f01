/**
 * Takes the screenshots of docs/observability.md from a real `switchyard -f` in headless Chromium:
 * `node --import tsx test/stats/screenshots.ts` (writes docs/stats-*.png).
 */
import { fileURLToPath } from 'node:url';
import { launchChromium, runtime, startCliRig } from './cli-rig.js';

const docs = (name: string): string => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));
const AUTH = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };

const rig = await startCliRig();
const browser = await launchChromium();
try {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1180, height: 520 });
  await page.setExtraHTTPHeaders(AUTH);
  await rig.traffic(6, 'screenshot traffic\n');
  await page.goto(`${rig.pageUrl};norefresh`);
  await page.screenshot({ path: docs('stats-page.png') });

  // An operator's morning: s3 taken down on the runtime API, s1 drained from the page.
  await runtime(rig.apiPort, 'set server web/s3 health down');
  await page.goto(rig.pageUrl);
  await page.check('input[name=s][value=s1]');
  await Promise.all([page.waitForURL(/;st=DONE$/), page.click('#web button[value=drain]')]);
  await page.screenshot({ path: docs('stats-page-admin.png') });

  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${rig.pageUrl};norefresh`);
  await page.screenshot({ path: docs('stats-page-dark.png') });
} finally {
  await browser.close();
  await rig.stop();
}
