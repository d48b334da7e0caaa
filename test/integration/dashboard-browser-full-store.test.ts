import type { Page } from 'playwright-core';
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

// The store holds this many: the test posts twice as many while the page is open.
const STORE_MAX_ALERTS = 6;
// The Overview reloads by itself every 15 s: numbers right well within that came from the live path.
const LIVE_MS = 5000;

/** Everything the Overview shows as numbers: total, per priority, top rules, charted total. */
async function overview(page: Page) {
  return {
    total: await page.locator('#summary-total').textContent(),
    byPriority: await page.locator('#chart-priority .chart').getAttribute('aria-label'),
    topRules: await page.locator('#chart-rules .chart').getAttribute('aria-label'),
    charted: await page.getAttribute('#chart-timeline', 'data-total'),
  };
}

describe.skipIf(!available)(
  'dashboard Overview with a full store, in headless Chromium',
  { timeout: 60_000 },
  () => {
    let server: DashboardServer;
    let browser: Awaited<ReturnType<typeof launchBrowser>>;

    beforeAll(async () => {
      server = await startDashboardServer({ STORE_MAX_ALERTS: String(STORE_MAX_ALERTS) });
      browser = await launchBrowser();
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    // Regression: each live alert past STORE_MAX_ALERTS evicted one the Overview had counted, but the
    // page only added, so it showed 12 alerts where a reload showed the 6 the store held.
    it('shows the same numbers as a fresh load after more alerts than the store holds were posted while it was open', async () => {
      for (let i = 0; i < 3; i += 1) await server.postAlert(alertOf('Full store early', 'Notice'));
      const { page, problems } = await openDashboard(browser.context, server.baseUrl);
      await expect
        .poll(() => page.locator('#summary-total').textContent())
        .toBe('3 alerts in the last 1 hour.');

      // While the store has room, live alerts are counted at once, as before.
      await server.postAlert(alertOf('Full store live', 'Warning'));
      await expect
        .poll(() => page.locator('#summary-total').textContent(), { timeout: LIVE_MS })
        .toBe('4 alerts in the last 1 hour.');

      const rules = ['Full store probe a', 'Full store probe b', 'Full store probe c'];
      const priorities = ['Critical', 'Error', 'Notice', 'Warning'];
      for (let i = 0; i < 2 * STORE_MAX_ALERTS - 4; i += 1)
        await server.postAlert(alertOf(rules[i % 3]!, priorities[i % 4]!));

      const fresh = await openDashboard(browser.context, server.baseUrl);
      await expect
        .poll(() => fresh.page.locator('#summary-total').textContent())
        .toBe(`${STORE_MAX_ALERTS} alerts in the last 1 hour.`);
      await expect
        .poll(() => fresh.page.getAttribute('#chart-timeline', 'data-total'))
        .toBe(String(STORE_MAX_ALERTS));
      const reloaded = await overview(fresh.page);

      await expect.poll(() => overview(page), { timeout: LIVE_MS }).toEqual(reloaded);
      expect(reloaded.topRules).not.toContain('Full store early');
      expect(problems).toEqual({ errors: [], cspViolations: [] });
      expect(fresh.problems).toEqual({ errors: [], cspViolations: [] });
      await fresh.page.close();
      await page.close();
    });
  },
);
