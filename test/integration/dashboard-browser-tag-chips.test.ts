import { describe, expect, it } from 'vitest';
import { requireComponent } from '../helpers/components.js';
import { alertOf, CHROMIUM_PATH, row, useDashboardSuite } from './dashboard-browser-harness.js';

const available = requireComponent('chromium', CHROMIUM_PATH !== undefined);

describe.skipIf(!available)('dashboard rows of alerts with many tags, in headless Chromium', () => {
  const suite = useDashboardSuite([]);

  // Regression: a row drew every tag as a chip, and an alert may carry 512 (ALERT_BOUNDS): 300
  // such alerts posted in a burst held the page in tasks of up to 7.2 s (about 0.3 s now).
  it('shows the first 20 tags of a row as chips and how many more, all of them in the details, without freezing', async () => {
    const page = await suite.open();
    // Page-side code as text: the longest task the page ran from now on.
    await page.evaluate(`(() => {
      window.__longest = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__longest = Math.max(window.__longest, entry.duration);
      }).observe({ type: 'longtask' });
    })()`);
    const tags = Array.from({ length: 512 }, (_, i) => `tag-${i}-of-many`);
    const posts = Array.from({ length: 300 }, (_, i) => alertOf(`Tagged ${i}`, 'Notice', { tags }));

    for (let i = 0; i < posts.length; i += 20)
      await Promise.all(posts.slice(i, i + 20).map((alert) => suite.server.postAlert(alert)));
    const last = row(page, 'Tagged 299');
    await last.waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('tr.alert-row').count(), { timeout: 30_000 }).toBe(300);

    // Well under the old code's shortest of those tasks, with room for a busy machine.
    expect(await page.evaluate('window.__longest')).toBeLessThan(1500);
    expect(await last.locator('button.chip').allTextContents()).toEqual(tags.slice(0, 20));
    expect(await last.locator('td.tags .more-tags').textContent()).toBe('+492 more');
    await last.locator('.time').click();
    await expect
      .poll(() => page.locator('#details dd', { hasText: 'tag-511-of-many' }).textContent())
      .toBe(tags.join(', '));
    await page.close();
  }, 60_000);
});
