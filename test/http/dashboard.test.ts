import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { PRIORITIES } from '../../src/alerts/priority.js';
import { createDashboardRouter } from '../../src/http/dashboard/dashboard-router.js';
import { DASHBOARD_CSP } from '../../src/http/dashboard/security-headers.js';
import { buildService } from '../helpers/spawn-service.js';
import { buildDashboardTestApp } from './dashboard-test-app.js';

const SAMPLE = readFileSync(
  new URL('../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json', import.meta.url),
  'utf8',
);

function expectHardened(headers: Record<string, string>): void {
  expect(headers['content-security-policy']).toBe(DASHBOARD_CSP);
  expect(headers['x-content-type-options']).toBe('nosniff');
}

describe('dashboard router', () => {
  it('serves the page at GET / as HTML with the CSP and nosniff headers', async () => {
    const { app } = buildDashboardTestApp();

    const res = await request(app).get('/');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expectHardened(res.headers);
    expect(res.text).toContain('<script type="module" src="/ui/js/main.js"></script>');
  });

  it('sends a CSP that allows no inline script, no framing and no foreign connections', () => {
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(DASHBOARD_CSP).not.toContain('unsafe-eval');
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
    expect(DASHBOARD_CSP).toContain("connect-src 'self'");
    // As the API's own policy (helmet): no plugin content, not even from this origin.
    expect(DASHBOARD_CSP).toContain("object-src 'none'");
  });

  it('serves a page with no inline script, event handler attribute or style attribute', async () => {
    const { app } = buildDashboardTestApp();

    const html = (await request(app).get('/')).text;

    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toMatch(/\bsrc="\/ui\//);
    expect(html).not.toMatch(/<script\b[^>]*>[^<]+<\/script>/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it('serves the stylesheet and every script module the page imports, each with its content type', async () => {
    const { app } = buildDashboardTestApp();

    const css = await request(app).get('/ui/dashboard.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expectHardened(css.headers);

    // Follow the import graph from main.js: a module missing from the allow-list would 404 here.
    const pending = ['/ui/js/main.js'];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const path = pending.pop() as string;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await request(app).get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toBe('text/javascript; charset=utf-8');
      expectHardened(res.headers);
      for (const [, name] of res.text.matchAll(/from '\.\/([a-z-]+\.js)'/g)) pending.push(`/ui/js/${name}`);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('serves uPlot from its npm package, byte for byte, with the page headers', async () => {
    const { app } = buildDashboardTestApp();
    const packaged = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

    const script = await request(app).get('/ui/vendor/uPlot.iife.min.js');
    const style = await request(app).get('/ui/vendor/uPlot.min.css');

    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.text).toBe(readFileSync(path.join(packaged, 'uPlot.iife.min.js'), 'utf8'));
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(style.text).toBe(readFileSync(path.join(packaged, 'uPlot.min.css'), 'utf8'));
    expectHardened(script.headers);
  });

  it('serves uPlot from the copy the build puts beside the page in dist/', async () => {
    const main = await buildService('dashboard-vendor');
    const assetsDir = path.join(path.dirname(main), 'assets');
    const store = createMemoryAlertStore({ maxAlerts: 10, maxBytes: 10_000 });
    const router = createDashboardRouter({ store, storeMaxAlerts: 10, triggersEnabled: false, assetsDir });

    const res = await request(express().use(router)).get('/ui/vendor/uPlot.min.css');

    expect(res.status).toBe(200);
    expect(res.text).toBe(readFileSync(path.join(assetsDir, 'vendor', 'uPlot.min.css'), 'utf8'));
  }, 60_000);

  it('answers a path outside the asset list with a 404 problem and never reads it from disk', async () => {
    const { app } = buildDashboardTestApp();

    for (const path of ['/ui/js/nope.js', '/ui/js/%2e%2e%2fdashboard-router.ts', '/ui/../package.json']) {
      const res = await request(app).get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers['content-type'], path).toBe('application/problem+json; charset=utf-8');
    }
  });

  it('keeps POST / as the ingest endpoint with the page served at GET /', async () => {
    const { app, store } = buildDashboardTestApp();

    const res = await request(app).post('/').set('Content-Type', 'application/json').send(SAMPLE);

    expect(res.status).toBe(202);
    expect((await store.get(res.headers['x-alert-id'] as string))?.alert.rule).toBe(
      'Terminal shell in container',
    );
  });

  it('tells the page whether to show the trigger panel', async () => {
    const off = await request(buildDashboardTestApp().app).get('/ui/config.json');
    const on = await request(buildDashboardTestApp({ triggersEnabled: true }).app).get('/ui/config.json');

    expect(off.status).toBe(200);
    expect(off.body).toEqual({ triggersEnabled: false, priorities: [...PRIORITIES], heartbeatMs: 60_000 });
    expect(on.body).toMatchObject({ triggersEnabled: true });
    expectHardened(on.headers);
  });

  it('fails at creation, not on a request, when the assets folder is missing', () => {
    const store = createMemoryAlertStore({ maxAlerts: 10, maxBytes: 10_000 });

    expect(() =>
      createDashboardRouter({
        store,
        storeMaxAlerts: 10,
        triggersEnabled: false,
        assetsDir: '/nonexistent/dashboard-assets',
      }),
    ).toThrow(/ENOENT/);
  });
});
