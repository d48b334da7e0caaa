import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent } from '../helpers/components.js';
import {
  CHROMIUM_PATH,
  alertOf,
  holdRequests,
  launchBrowser,
  openDashboard,
  row,
  startDashboardServer,
  type DashboardServer,
} from './dashboard-browser-harness.js';

const available = requireComponent('chromium', CHROMIUM_PATH !== undefined);

// The Overview reloads by itself every 15 s: a count right well within that came from the page's own path.
const SOON_MS = 3000;

// Longer than the Overview's 250 ms between live redraws: a redraw due would have come by then.
const AFTER_REDRAW_MS = 750;
const CHARTS = ['#chart-priority', '#chart-rules', '#chart-timeline'];

describe.skipIf(!available)(
  'dashboard across a change of filters or of the Overview window, in headless Chromium',
  () => {
    let server: DashboardServer;
    let browser: Awaited<ReturnType<typeof launchBrowser>>;

    beforeAll(async () => {
      server = await startDashboardServer();
      browser = await launchBrowser();
    });

    afterEach(async () => {
      await browser.context.unrouteAll();
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    // Regression: the alerts stored after the old stream closed and before the new one opened were
    // counted by nothing until the Overview's own reload, up to 15 s later.
    it('counts in the Overview the alerts stored while the stream of new filters was opening', async () => {
      const { page, problems } = await openDashboard(browser.context, server.baseUrl);
      await page.locator('#summary-total', { hasText: /^\d+ alerts in the last / }).waitFor();
      const stream = holdRequests();
      await browser.context.route(/\/alerts\/stream\?/, stream.handle);

      await page.selectOption('#filters select[name="min_priority"]', 'Critical');
      await page.locator('#connection', { hasText: 'Connecting' }).waitFor({ timeout: 5000 });
      for (let i = 0; i < 3; i += 1) await server.postAlert(alertOf(`Between streams ${i}`, 'Notice'));
      await stream.release();

      const summary = (await (await fetch(`${server.baseUrl}/ui/summary`)).json()) as { total: number };
      await page
        .locator('#summary-total', { hasText: `${summary.total} alerts in the last ` })
        .waitFor({ timeout: SOON_MS });
      expect(problems.errors).toEqual([]);
      await page.close();
    });

    // Regression: while the list was being loaded the status said "No alerts yet.".
    it('says the list is loading, not that there are no alerts, until the load is answered', async () => {
      await server.postAlert(alertOf('Loading probe', 'Critical'));
      const list = holdRequests();
      await browser.context.route(/\/alerts\?/, list.handle);
      const { page } = await openDashboard(browser.context, server.baseUrl);

      expect(await page.locator('#list-status').textContent()).toBe('Loading alerts…');
      await list.release();
      await row(page, 'Loading probe').waitFor({ timeout: 5000 });
      expect(await page.locator('#list-status').textContent()).toMatch(/^Showing \d+ of \d+ alerts\.$/);
      await page.close();
    });

    // Regression: a loaded alert whose live event had not been drawn yet was appended below the
    // older rows the stream had drawn, so rows swapped after a change of filters under load.
    it('lists a loaded alert above older live rows when its own live event is not drawn yet', async () => {
      await server.postAlert(alertOf('Order probe oldest', 'Critical'));
      const list = holdRequests();
      await browser.context.route(/\/alerts\?/, list.handle);
      const page = await browser.context.newPage();
      // Frames held on request: a live alert that came waits for the next frame to be drawn.
      await page.addInitScript(`{
      const frame = window.requestAnimationFrame.bind(window);
      const held = [];
      window.__holdFrames = false;
      window.__releaseFrames = () => { window.__holdFrames = false; held.splice(0).forEach((f) => frame(f)); };
      window.requestAnimationFrame = (f) => (window.__holdFrames ? held.push(f) : frame(f));
    }`);
      await page.goto(`${server.baseUrl}/`);
      await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
      await server.postAlert(alertOf('Order probe older', 'Critical'));
      await row(page, 'Order probe older').waitFor({ timeout: 5000 });

      await page.evaluate('window.__holdFrames = true');
      await server.postAlert(alertOf('Order probe newer', 'Critical'));
      // Its live event comes and waits for a frame; the list, read now, holds it too.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await list.release();
      await row(page, 'Order probe oldest').waitFor({ timeout: 5000 });
      await page.evaluate('window.__releaseFrames()');

      const rules = await page.$$eval('tr.alert-row button.rule-link', (nodes) =>
        nodes.map((node) => node.textContent),
      );
      expect(rules.indexOf('Order probe newer')).toBeLessThan(rules.indexOf('Order probe older'));
      expect(rules.indexOf('Order probe newer')).toBeGreaterThanOrEqual(0);
      await page.close();
    });

    // Regression: every loaded alert not yet a row was put above all rows, so a live alert stored
    // after the server had read the list ended up below the loaded ones, the first row cut at 500.
    it('keeps above the loaded alerts a live alert stored after the list was read', async () => {
      await server.postAlert(alertOf('Read probe old A', 'Critical'));
      await server.postAlert(alertOf('Read probe old B', 'Critical'));
      await browser.context.route(/\/alerts\?/, async (route) => {
        // The server reads the list now; the live alert is stored and drawn before the list comes.
        const response = await route.fetch();
        await server.postAlert(alertOf('Read probe new live C', 'Critical'));
        await page.locator('tr.alert-row', { hasText: 'Read probe new live C' }).waitFor({ timeout: 5000 });
        await route.fulfill({ response });
      });
      const page = await browser.context.newPage();
      await page.goto(`${server.baseUrl}/`);
      await row(page, 'Read probe old A').waitFor({ timeout: 5000 });

      const rules = await page.$$eval('tr.alert-row button.rule-link', (nodes) =>
        nodes.map((node) => node.textContent),
      );
      expect(rules.slice(0, 3)).toEqual(['Read probe new live C', 'Read probe old B', 'Read probe old A']);
      await page.close();
    });

    const total = (page: Page) => page.locator('#summary-total').textContent();
    const staleCharts = (page: Page) =>
      Promise.all(CHARTS.map((chart) => page.getAttribute(chart, 'data-stale')));
    // Dimmed for the eye, and hidden from a screen reader, which read their counts out as current.
    const hiddenCharts = (page: Page) =>
      Promise.all(CHARTS.map((chart) => page.getAttribute(chart, 'aria-hidden')));

    // Regression: a live alert redrew the counts held from before, over "Counts unavailable", and
    // under the name of the window whose reload had failed.
    it('keeps saying its counts are unavailable while live alerts come, until a reload answers', async () => {
      await server.postAlert(alertOf('Counted before the failure', 'Notice'));
      const { page, problems } = await openDashboard(browser.context, server.baseUrl);
      await expect.poll(() => total(page)).toMatch(/^\d+ alerts in the last 1 hour\.$/);
      await browser.context.route(/\/ui\/summary\?/, (route) => route.abort('connectionrefused'));

      await page.selectOption('#summary-window', '15m');
      await expect.poll(() => total(page)).toBe('Counts unavailable (the server cannot be reached).');
      await server.postAlert(alertOf('Live while counts fail', 'Warning'));
      await row(page, 'Live while counts fail').waitFor({ timeout: 5000 });
      await page.waitForTimeout(AFTER_REDRAW_MS);

      expect(await total(page)).toBe('Counts unavailable (the server cannot be reached).');
      expect(await staleCharts(page)).toEqual(['true', 'true', 'true']);
      expect(await hiddenCharts(page)).toEqual(['true', 'true', 'true']);
      await browser.context.unrouteAll();
      // Taken again by itself soon after (1, 2, 4, 8 s after failures), not at the next 15 s reload.
      const summary = (await (await fetch(`${server.baseUrl}/ui/summary?window=15m`)).json()) as {
        total: number;
      };
      await expect
        .poll(() => total(page), { timeout: 9000 })
        .toBe(`${summary.total} alerts in the last 15 minutes.`);
      expect(await staleCharts(page)).toEqual([null, null, null]);
      expect(await hiddenCharts(page)).toEqual([null, null, null]);
      expect(problems.cspViolations).toEqual([]);
      await page.close();
    });

    // Regression: until the new window's counts came, the former window's, with the live alerts
    // since, were drawn under the new window's name.
    it("shows no counts of the former window under the new window's name while they are taken", async () => {
      await server.postAlert(alertOf('Counted in the hour', 'Notice'));
      const { page } = await openDashboard(browser.context, server.baseUrl);
      await expect.poll(() => total(page)).toMatch(/^\d+ alerts in the last 1 hour\.$/);
      const summaries = holdRequests();
      await browser.context.route(/\/ui\/summary\?/, summaries.handle);

      await page.selectOption('#summary-window', '15m');
      await server.postAlert(alertOf('Live while counting', 'Warning'));
      await row(page, 'Live while counting').waitFor({ timeout: 5000 });
      await page.waitForTimeout(AFTER_REDRAW_MS);
      expect(await total(page)).toBe('Counting the alerts of the last 15 minutes…');
      expect(await staleCharts(page)).toEqual(['true', 'true', 'true']);
      expect(await hiddenCharts(page)).toEqual(['true', 'true', 'true']);

      await summaries.release();
      const summary = (await (await fetch(`${server.baseUrl}/ui/summary?window=15m`)).json()) as {
        total: number;
      };
      await expect.poll(() => total(page)).toBe(`${summary.total} alerts in the last 15 minutes.`);
      expect(await staleCharts(page)).toEqual([null, null, null]);
      expect(await hiddenCharts(page)).toEqual([null, null, null]);
      await page.close();
    });

    // Regression: a clicked rule too long for a query string (2,000 CJK characters are 18 KB
    // percent-encoded, past SERVER_MAX_HEADER_BYTES) got 431 for its list and its stream, and the
    // page asked for both again for ever (after 2 s, doubling to every 60 s), its list empty.
    it('says a clicked value is too long to filter by, asks the server no more, and lists again on Clear', async () => {
      const rule = '規則'.repeat(1000);
      await server.postAlert(alertOf(rule, 'Notice'));
      const { page, problems } = await openDashboard(browser.context, server.baseUrl);
      const button = page.locator('button.rule-link', { hasText: '規則規則' });
      await button.waitFor({ timeout: 5000 });
      const asked: string[] = [];
      page.on('request', (request) => {
        const { pathname } = new URL(request.url());
        if (pathname.startsWith('/alerts')) asked.push(pathname);
      });

      await button.click();
      const refused = '431: The request headers exceed SERVER_MAX_HEADER_BYTES.';
      await page
        .locator('#connection[data-status="closed"]', { hasText: refused })
        .waitFor({ timeout: 5000 });
      // Past the first retry of each (2 s), with room to spare.
      await page.waitForTimeout(3000);
      expect(asked.sort()).toEqual(['/alerts', '/alerts/stream']);
      expect(await page.locator('#list-status').textContent()).toBe(
        `These filters cannot be applied (${refused}): shorten or clear them.`,
      );
      expect(await page.locator('tr.alert-row').count()).toBe(0);

      await page.click('#filters button[type="reset"]');
      await button.waitFor({ timeout: 5000 });
      await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
      // Chromium logs each refused request as a console error: those two are expected.
      expect(problems.errors.filter((error) => !error.includes('431'))).toEqual([]);
      expect(problems.errors).toHaveLength(2);
      await page.close();
    });

    // Regression: a refusal on the stream's reconnect was taken for a refusal of its filters, which
    // the server had taken before: the Last-Event-ID it adds can push the same request past
    // SERVER_MAX_HEADER_BYTES (a receiver restarted, say), and the stream stayed off for good.
    it('opens the stream again when its reconnect, not its filters, is refused', async () => {
      const { page } = await openDashboard(browser.context, server.baseUrl);
      let ended = false;
      await browser.context.route(/\/alerts\/stream\?/, async (route) => {
        const resumeFrom = (await route.request().allHeaders())['last-event-id'];
        // The first stream of the new filters ends at once, after an id to resume from.
        if (resumeFrom === undefined && !ended) {
          ended = true;
          await route.fulfill({ contentType: 'text/event-stream', body: 'retry: 50\nid: 7\n\n' });
        } else if (resumeFrom === '7') {
          await route.fulfill({
            status: 431,
            contentType: 'application/problem+json',
            body: JSON.stringify({
              status: 431,
              detail: 'The request headers exceed SERVER_MAX_HEADER_BYTES.',
            }),
          });
        } else await route.continue();
      });

      await page.selectOption('#filters select[name="min_priority"]', 'Critical');
      await page.locator('#connection[data-status="closed"]').waitFor({ timeout: 5000 });
      await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
      expect(await page.locator('#list-status').textContent()).not.toContain('cannot be applied');
      await page.close();
    });

    // Regression: a 400 to the stream of no filters at all (a proxy's) was taken for a refusal of
    // the filters, so the page neither opened the stream again nor looked for an ended session.
    it('opens an unfiltered stream again after a 400 that cannot be about filters', async () => {
      let refused = 0;
      await browser.context.route(/\/alerts\/stream\?/, async (route) => {
        if (refused > 0) return route.continue();
        refused += 1;
        await route.fulfill({ status: 400, contentType: 'text/html', body: '<h1>400 Bad Request</h1>' });
      });
      const page = await browser.context.newPage();
      await page.goto(`${server.baseUrl}/`);

      await page.locator('#connection[data-status="closed"]').waitFor({ timeout: 5000 });
      await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
      expect(refused).toBe(1);
      await page.close();
    });
  },
);
