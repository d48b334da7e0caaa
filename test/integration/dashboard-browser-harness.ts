import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { buildDashboardTestApp } from '../http/dashboard-test-app.js';
import { createTriggersStandIn, type TriggersStandIn } from './dashboard-triggers-stand-in.js';

/** Debian's Chromium binary, if installed. */
export const CHROMIUM_PATH = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((file) =>
  existsSync(file),
);

// Flags from shared/environment.md: no sandbox as root, no network beyond the page's own. Even so,
// Chromium looks up Google's hosts (sign-in, autofill, updates); the resolver rule answers every
// name but the page's own address itself, so no DNS query leaves the machine.
const CHROMIUM_ARGS = [
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export const TRIGGER_TOKEN = 'test-token-0f3c';

/** The real server (core + dashboard + triggers stand-in) listening on 127.0.0.1, and a way to post like Falco. */
export interface DashboardServer {
  baseUrl: string;
  triggers: TriggersStandIn;
  postAlert(alert: unknown): Promise<void>;
  /** Live streams the server holds open now. */
  streamClients(): number;
  close(): Promise<void>;
}

/**
 * @param env settings on top of the test app's own (`STORE_MAX_ALERTS` for a store that fills).
 * @param port 0 for any; a closed server's port for a restarted receiver (a new, empty store).
 */
export async function startDashboardServer(
  env: Record<string, string> = {},
  port = 0,
): Promise<DashboardServer> {
  const triggers = createTriggersStandIn(TRIGGER_TOKEN);
  const { app, stream } = buildDashboardTestApp({
    triggersEnabled: true,
    triggerRouter: triggers.router,
    env,
  });
  const server: http.Server = await startServer(app, { host: '127.0.0.1', port });
  const baseUrl = `http://127.0.0.1:${boundPort(server)}`;
  return {
    baseUrl,
    triggers,
    async postAlert(alert) {
      const body = typeof alert === 'string' ? alert : JSON.stringify(alert);
      const res = await fetch(`${baseUrl}/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      if (res.status !== 202) throw new Error(`POST / answered ${res.status}: ${await res.text()}`);
    },
    streamClients: () => stream.clientCount(),
    async close() {
      stream.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Headless Chromium with a fresh profile folder, removed on close. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'dashboard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console errors, uncaught page errors and CSP violations seen by a page. */
export interface PageProblems {
  errors: string[];
  cspViolations: string[];
}

/** Opens the dashboard and starts recording problems before any of its scripts run. */
export async function openDashboard(
  context: BrowserContext,
  baseUrl: string,
): Promise<{ page: Page; problems: PageProblems }> {
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], cspViolations: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.errors.push(message.text());
  });
  page.on('pageerror', (error) => problems.errors.push(error.message));
  await page.exposeFunction('__reportCsp', (text: string) => problems.cspViolations.push(text));
  // Page-side code as text: the Node tsconfig has no DOM types.
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => window.__reportCsp(e.violatedDirective + ' blocked ' + e.blockedURI));",
  );
  await page.goto(`${baseUrl}/`);
  // The stream is open once the status says Live: alerts posted from now on must appear.
  await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
  return { page, problems };
}

/** A Falco sample from test/fixtures/falco/samples/valid, as text. */
export function readSample(name: string): string {
  return readFileSync(new URL(`../fixtures/falco/samples/valid/${name}`, import.meta.url), 'utf8');
}

/** An alert as Falco sends it, received now. */
export function alertOf(rule: string, priority: string, extra: Record<string, unknown> = {}) {
  return { rule, priority, time: new Date().toISOString(), source: 'syscall', hostname: 'node-1', ...extra };
}

/** The list row of the alert with this rule. */
export function row(page: Page, rule: string) {
  return page.locator('tr.alert-row', { hasText: rule });
}

/**
 * A suite's parts: the real server holding `samples`, a browser, and `open()` for a dashboard page
 * (awaiting `ready` on it) whose script errors and CSP violations fail the test (checked after each).
 */
export function useDashboardSuite(samples: readonly string[], ready?: (page: Page) => Promise<void>) {
  let server: DashboardServer | undefined;
  let browser: { context: BrowserContext; close(): Promise<void> } | undefined;
  let problems: PageProblems | undefined;

  beforeAll(async () => {
    server = await startDashboardServer();
    for (const sample of samples) await server.postAlert(readSample(sample));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  afterEach(() => {
    // Every test's page must stay free of script errors and blocked loads.
    expect(problems?.errors ?? []).toEqual([]);
    expect(problems?.cspViolations ?? []).toEqual([]);
  });

  return {
    get server(): DashboardServer {
      return server!;
    },
    /** What the page opened last reported; a test may drop an error it expects. */
    get problems(): PageProblems {
      return problems!;
    },
    async open(): Promise<Page> {
      const opened = await openDashboard(browser!.context, server!.baseUrl);
      problems = opened.problems;
      await ready?.(opened.page);
      return opened.page;
    },
  };
}

/** Requests routed to `handle` held until `release()` (then sent on), as a slow network would hold them. */
export function holdRequests() {
  const held: Route[] = [];
  let holding = true;
  return {
    handle: (route: Route) => (holding ? held.push(route) : void route.continue()),
    release: async () => {
      holding = false;
      await Promise.all(held.splice(0).map((route) => route.continue()));
    },
  };
}
