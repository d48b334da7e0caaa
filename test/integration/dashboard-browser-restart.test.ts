import { URL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent } from '../helpers/components.js';
import {
  CHROMIUM_PATH,
  alertOf,
  launchBrowser,
  openDashboard,
  startDashboardServer,
  type DashboardServer,
} from './dashboard-browser-harness.js';

const available = requireComponent('chromium', CHROMIUM_PATH !== undefined);

// The Overview reloads by itself every 15 s: numbers right well within that came from the stream's path.
const SOON_MS = 8000;

describe.skipIf(!available)(
  'dashboard across a receiver restart, in headless Chromium',
  { timeout: 60_000 },
  () => {
    const servers: DashboardServer[] = [];
    let browser: Awaited<ReturnType<typeof launchBrowser>>;

    beforeAll(async () => {
      servers.push(await startDashboardServer());
      browser = await launchBrowser();
    });

    afterAll(async () => {
      await browser?.close();
      for (const server of servers) await server.close().catch(() => {});
    });

    // Regression: on `event: truncated` (the restarted receiver no longer knows the page's
    // Last-Event-ID) the page loaded its list again but kept the Overview's counts of the old
    // receiver, until its next reload 15 s later.
    it('takes the Overview again with the list when the stream says alerts were missed', async () => {
      const first = servers[0]!;
      const { page, problems } = await openDashboard(browser.context, first.baseUrl);
      await expect.poll(() => first.streamClients()).toBe(1);
      for (let i = 0; i < 3; i += 1) await first.postAlert(alertOf('Before the restart', 'Notice'));
      await expect
        .poll(() => page.locator('#summary-total').textContent(), { timeout: SOON_MS })
        .toBe('3 alerts in the last 1 hour.');

      // The same address, a new process's empty store; two alerts arrive before the page is back.
      await first.close();
      const second = await startDashboardServer({}, Number(new URL(first.baseUrl).port));
      servers.push(second);
      for (let i = 0; i < 2; i += 1) await second.postAlert(alertOf('After the restart', 'Warning'));

      await expect
        .poll(() => page.locator('#alert-rows').textContent(), { timeout: SOON_MS })
        .toContain('After the restart');
      await expect
        .poll(() => page.locator('#summary-total').textContent(), { timeout: SOON_MS })
        .toBe('2 alerts in the last 1 hour.');
      expect(await page.locator('#chart-rules .chart').getAttribute('aria-label')).not.toContain(
        'Before the restart',
      );
      expect(problems.cspViolations).toEqual([]);
      await page.close();
    });

    // Regression: a page that had got no live alert had no Last-Event-ID, so its reconnect asked for
    // no replay: the alerts the new process took never showed, while the page said "Live".
    it('lists the alerts taken while it was away when no live alert had come since it loaded', async () => {
      const first = await startDashboardServer();
      servers.push(first);
      await first.postAlert(alertOf('Loaded with the page', 'Notice'));
      const { page } = await openDashboard(browser.context, first.baseUrl);
      await expect.poll(() => page.locator('#alert-rows').textContent()).toContain('Loaded with the page');
      await expect.poll(() => first.streamClients()).toBe(1);

      await first.close();
      const second = await startDashboardServer({}, Number(new URL(first.baseUrl).port));
      servers.push(second);
      await second.postAlert(alertOf('Taken while the page was away', 'Warning'));

      await expect
        .poll(() => page.locator('#alert-rows').textContent(), { timeout: SOON_MS })
        .toContain('Taken while the page was away');
      await page.close();
    });
  },
);
