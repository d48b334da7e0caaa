import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { requireComponent } from '../helpers/components.js';
import { buildDashboardTestApp } from '../http/dashboard-test-app.js';
import { alertOf, CHROMIUM_PATH, launchBrowser, row } from './dashboard-browser-harness.js';

const available = requireComponent('chromium', CHROMIUM_PATH !== undefined);

/**
 * The real app behind a gate that holds each live-stream request until the page's list has been
 * answered (or 1 s has passed), then stores an alert, then lets the stream in: the alert lands
 * between the list and the stream, as one does on a busy receiver when they race.
 */
async function startRacingServer(): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const { app, stream } = buildDashboardTestApp();
  let listAnswered: () => void = () => {};
  let baseUrl = '';
  const server: http.Server = await startServer(
    async (req, res) => {
      if (req.url?.startsWith('/alerts/stream')) {
        await new Promise<void>((resolve) => {
          listAnswered = resolve;
          setTimeout(resolve, 1000);
        });
        const posted = await fetch(`${baseUrl}/alerts`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(alertOf('Stored while the stream connects', 'Warning')),
        });
        expect(posted.status).toBe(202);
      } else if (req.url?.startsWith('/alerts?')) {
        res.on('finish', () => listAnswered());
      }
      app(req, res);
    },
    { host: '127.0.0.1', port: 0 },
  );
  baseUrl = `http://127.0.0.1:${boundPort(server)}`;
  return {
    baseUrl,
    async close() {
      stream.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!available)('dashboard first load in headless Chromium', { timeout: 60_000 }, () => {
  let server: Awaited<ReturnType<typeof startRacingServer>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  beforeAll(async () => {
    server = await startRacingServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists an alert stored after the list was read but before the stream was followed (loads once the stream is open)', async () => {
    const page = await browser.context.newPage();

    await page.goto(`${server.baseUrl}/`);

    await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
    await row(page, 'Stored while the stream connects').waitFor({ timeout: 5000 });
    await page.close();
  });
});
