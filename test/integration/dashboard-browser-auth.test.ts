import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent } from '../helpers/components.js';
import {
  TRIGGER_TOKEN,
  VIEWER_TOKEN,
  startAuthTestServer,
  withAuthTestServer,
  type AuthTestServer,
} from '../http/auth/auth-test-server.js';
import { CHROMIUM_PATH, launchBrowser } from './dashboard-browser-harness.js';

const available = requireComponent('chromium', CHROMIUM_PATH !== undefined);

function alertOf(rule: string) {
  return JSON.stringify({
    rule,
    priority: 'Critical',
    time: new Date().toISOString(),
    source: 'syscall',
    hostname: 'node-1',
  });
}

describe.skipIf(!available)(
  'dashboard sign-in in headless Chromium (VIEWER_TOKEN set)',
  { timeout: 60_000 },
  () => {
    let server: AuthTestServer;
    let browser: { context: BrowserContext; close(): Promise<void> };
    // Script errors and CSP violations; the browser's own "status of 401" line for the sign-in page is expected.
    const errors: string[] = [];

    beforeAll(async () => {
      server = await startAuthTestServer({ VIEWER_TOKEN, SESSION_TTL_SECONDS: '600' });
      await server.post('/alerts', alertOf('Held before sign-in'));
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    async function signIn(token: string): Promise<Page> {
      await browser.context.clearCookies();
      const page = await browser.context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error' && !/status of (401|403|400)/.test(message.text()))
          errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      const response = await page.goto(`${server.baseUrl}/`);
      expect(response?.status()).toBe(401);
      await page.fill('#login-form input[name="token"]', token);
      await page.click('#login-form button[type="submit"]');
      await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
      return page;
    }

    it('shows the sign-in form, not the alerts, to a browser without a session', async () => {
      const page = await browser.context.newPage();

      const response = await page.goto(`${server.baseUrl}/`);

      expect(response?.status()).toBe(401);
      await page.locator('#login-form').waitFor({ timeout: 5000 });
      expect(await page.locator('#alert-rows').count()).toBe(0);
      await page.fill('#login-form input[name="token"]', 'wrong-token-0123456789abc');
      await page.click('#login-form button[type="submit"]');
      await expect.poll(() => page.locator('#login-status').textContent()).toContain('Not signed in');
      await page.close();
    });

    it('signs in with the viewer token, lists and streams alerts through the HttpOnly cookie, and signs out', async () => {
      const page = await signIn(VIEWER_TOKEN);

      await page.locator('tr.alert-row', { hasText: 'Held before sign-in' }).waitFor({ timeout: 5000 });
      await server.post('/alerts', alertOf('Streamed through the cookie'));
      await page
        .locator('tr.alert-row', { hasText: 'Streamed through the cookie' })
        .waitFor({ timeout: 5000 });
      const [cookie] = await browser.context.cookies();
      expect(cookie).toMatchObject({
        name: 'falco_session',
        httpOnly: true,
        sameSite: 'Strict',
        secure: false,
      });
      expect(await page.evaluate('document.cookie')).toBe('');
      expect(await page.locator('#session').textContent()).toContain('Signed in (viewer)');
      // Even with its CSRF token, a viewer session cannot start a trigger.
      const viewerTrigger = await page.evaluate(
        "fetch('/ui/session').then((r) => r.json()).then((s) => fetch('/triggers/shell', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrfToken }, body: '{}' })).then((r) => r.status)",
      );
      expect(viewerTrigger).toBe(403);

      await page.click('#session button.sign-out');

      await page.locator('#login-form').waitFor({ timeout: 5000 });
      expect(await browser.context.cookies()).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });

    // Regression: the other tabs of the browser kept streaming after a sign-out in one, until the
    // session's expiry.
    it('signs out every tab of the browser, closing their streams, when one of them signs out', async () => {
      const page = await signIn(VIEWER_TOKEN);
      const other = await browser.context.newPage();
      other.on('pageerror', (error) => errors.push(error.message));
      await other.goto(`${server.baseUrl}/`);
      await other.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });

      await page.click('#session button.sign-out');

      await other.locator('#login-form').waitFor({ timeout: 5000 });
      await server.post('/alerts', alertOf('Posted after the sign-out'));
      expect(await other.locator('tr.alert-row').count()).toBe(0);
      expect(await other.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
      expect(errors).toEqual([]);
      await other.close();
      await page.close();
    });

    it('runs the trigger panel from a trigger-token session with its CSRF token, and refuses a call without it', async () => {
      const page = await signIn(TRIGGER_TOKEN);
      await page.locator('#triggers').waitFor({ state: 'visible', timeout: 5000 });

      // Without a typed token the page sends the cookie and X-CSRF-Token; the real trigger API then
      // validates the body (a pod with the docker backend is refused), so nothing runs.
      await page.fill('#trigger-form input[name="pod"]', 'nginx-7c5ddbdf54-2xq9p');
      await page.click('#trigger-form button[type="submit"]');
      await expect
        .poll(() => page.locator('#trigger-output').textContent())
        .toContain('The trigger was not started');
      const audit = server.logLines.filter((line) => line.event === 'trigger_audit').at(-1);
      expect(audit).toMatchObject({ trigger: 'shell', via: 'session', status: 400 });

      const withoutCsrf = await page.evaluate(
        "fetch('/triggers/shell', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }).then((r) => r.status)",
      );
      expect(withoutCsrf).toBe(403);
      expect(errors).toEqual([]);
      await page.close();
    });
  },
);

describe.skipIf(!available)(
  'dashboard in headless Chromium when the server refuses its live stream',
  { timeout: 60_000 },
  () => {
    let browser: { context: BrowserContext; close(): Promise<void> };

    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('shows the sign-in form once the session expires, not a page left saying Disconnected', async () => {
      await withAuthTestServer({ VIEWER_TOKEN, SESSION_TTL_SECONDS: '3' }, async (server) => {
        await browser.context.clearCookies();
        const page = await browser.context.newPage();
        await page.goto(`${server.baseUrl}/`);
        await page.fill('#login-form input[name="token"]', VIEWER_TOKEN);
        await page.click('#login-form button[type="submit"]');
        // The dashboard, signed in (not waiting for Live: on a slow machine the session may end first).
        await page.locator('#alert-rows').waitFor({ state: 'attached', timeout: 5000 });

        // The server ends the stream when the session ends; the browser's reconnect gets a 401.
        await page.locator('#login-form').waitFor({ timeout: 15_000 });
        expect(await page.locator('#alert-rows').count()).toBe(0);
        await page.close();
      });
    });

    it('says why a stream was refused with 429 (STREAM_MAX_CLIENTS_PER_ADDRESS), and goes live again once it has room', async () => {
      await withAuthTestServer({ STREAM_MAX_CLIENTS_PER_ADDRESS: '1' }, async (server) => {
        const first = await browser.context.newPage();
        await first.goto(`${server.baseUrl}/`);
        await first.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
        const second = await browser.context.newPage();
        await second.goto(`${server.baseUrl}/`);
        await second.locator('#connection[data-status="closed"]').waitFor({ timeout: 5000 });
        // Says why, as the server did (EventSource alone tells nothing).
        const refused = '429: Your address already holds 1 live streams (STREAM_MAX_CLIENTS_PER_ADDRESS).';
        await second
          .locator('#connection[data-status="closed"]', { hasText: refused })
          .waitFor({ timeout: 5000 });
        expect(await second.locator('#connection').textContent()).toBe(`Disconnected: ${refused}`);

        await first.close();

        await second.locator('#connection[data-status="live"]').waitFor({ timeout: 15_000 });
        await server.post('/alerts', alertOf('Streamed after the refusal'));
        await second
          .locator('tr.alert-row', { hasText: 'Streamed after the refusal' })
          .waitFor({ timeout: 5000 });
        await second.close();
      });
    });
  },
);
