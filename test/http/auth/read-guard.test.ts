import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALERT,
  TRIGGER_TOKEN,
  VIEWER_TOKEN,
  cookieOf,
  startAuthTestServer,
  withAuthTestServer,
  type AuthTestServer,
} from './auth-test-server.js';

const ROTATED_TOKEN = 'next-viewer-token-9876543210';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('read authentication (VIEWER_TOKEN_FILE with two tokens)', () => {
  let server: AuthTestServer;
  let alertId: string;
  const readRoutes = () => [
    '/alerts',
    `/alerts/${alertId}`,
    '/alerts?min_priority=Notice&limit=5',
    '/ui/config.json',
    '/ui/summary?window=1h',
    '/triggers',
    '/triggers/no-such-run',
    '/',
  ];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'viewer-tokens-'));
    const file = path.join(dir, 'tokens');
    writeFileSync(file, `${VIEWER_TOKEN}\n# the next one, for rotation\n${ROTATED_TOKEN}\n`);
    server = await startAuthTestServer({ VIEWER_TOKEN_FILE: file, AUTH_FAILURE_LIMIT: '5' });
    const posted = await server.post('/alerts', ALERT);
    alertId = posted.headers.get('x-alert-id')!;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 401 problem+json with WWW-Authenticate: Bearer on every read route without credentials', async () => {
    for (const route of [...readRoutes(), '/alerts/stream']) {
      const response = await server.get(route, { Accept: 'application/json' });

      expect(response.status, route).toBe(401);
      expect(response.headers.get('content-type'), route).toBe('application/problem+json; charset=utf-8');
      expect(response.headers.get('www-authenticate'), route).toMatch(/^Bearer realm=/);
      const problem = (await response.json()) as { status: number; detail: string };
      expect(problem.status).toBe(401);
      expect(problem.detail).toContain('VIEWER_TOKEN');
    }
  });

  it('serves the sign-in page, with status 401, to a browser that opens / without credentials', async () => {
    const response = await server.get('/', { Accept: 'text/html,application/xhtml+xml' });

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await response.text();
    expect(html).toContain('<form id="login-form"');
    expect(html).not.toContain('alert-rows');
  });

  it('serves every read route with either viewer token of the file, and with the trigger token', async () => {
    for (const token of [VIEWER_TOKEN, ROTATED_TOKEN, TRIGGER_TOKEN]) {
      for (const route of readRoutes()) {
        const response = await server.get(route, bearer(token));
        expect(response.status, `${route} with ${token.slice(0, 4)}`).toBe(
          route.includes('no-such') ? 404 : 200,
        );
      }
    }
    const one = (await (await server.get(`/alerts/${alertId}`, bearer(VIEWER_TOKEN))).json()) as {
      id: string;
    };
    expect(one.id).toBe(alertId);
  });

  it('streams to a bearer token holder', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.baseUrl}/alerts/stream`, {
      headers: bearer(VIEWER_TOKEN),
      signal: controller.signal,
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    controller.abort();
  });

  it('leaves ingest, health, readiness, the page code and (without METRICS_TOKEN) /metrics open', async () => {
    expect((await server.post('/alerts', ALERT)).status).toBe(202);
    expect((await server.post('/', ALERT)).status).toBe(202);
    for (const route of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/ui/js/main.js',
      '/ui/js/login.js',
      '/ui/dashboard.css',
    ])
      expect((await server.get(route)).status, route).toBe(200);
  });

  it('refuses a wrong token, counts it per route group and never logs a token', async () => {
    const before = await server.metric('falco_auth_failures_total', { route_group: 'alerts' });
    const beforeStream = await server.metric('falco_auth_failures_total', { route_group: 'stream' });

    const wrong = await server.get('/alerts', bearer('wrong-token-attempt-000000'));
    await server.get('/alerts/stream');

    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { detail: string }).detail).toBe('The bearer token is not valid.');
    expect(await server.metric('falco_auth_failures_total', { route_group: 'alerts' })).toBe(before + 1);
    expect(await server.metric('falco_auth_failures_total', { route_group: 'stream' })).toBe(
      beforeStream + 1,
    );
    // Each kind's first refusal is logged at once, its repeats summed later (refusal-lines.ts).
    const refused = server.logLines.filter((line) => line.event === 'auth_refused');
    expect(refused).toContainEqual(
      expect.objectContaining({
        routeGroup: 'alerts',
        reason: 'The bearer token is not valid.',
        caller: '127.0.0.1',
      }),
    );
    expect(refused).toContainEqual(expect.objectContaining({ routeGroup: 'stream', caller: '127.0.0.1' }));
    for (const secret of ['wrong-token-attempt', VIEWER_TOKEN, ROTATED_TOKEN, TRIGGER_TOKEN])
      expect(server.rawLog()).not.toContain(secret);
  });

  it('does not take a token from the query string or a Basic header', async () => {
    expect((await server.get(`/alerts?token=${VIEWER_TOKEN}`)).status).toBe(401);
    const basic = Buffer.from(`x:${VIEWER_TOKEN}`).toString('base64');
    expect((await server.get('/alerts', { Authorization: `Basic ${basic}` })).status).toBe(401);
  });
});

describe('alert and run reads', () => {
  it('are never cached, and a trigger path in another case is guarded and counted as one', async () => {
    await withAuthTestServer({ VIEWER_TOKEN }, async (server) => {
      const posted = await server.post('/alerts', ALERT);
      const id = posted.headers.get('x-alert-id')!;
      for (const route of ['/alerts', `/alerts/${id}`, '/triggers'])
        expect((await server.get(route, bearer(VIEWER_TOKEN))).headers.get('cache-control'), route).toBe(
          'no-store',
        );

      const before = await server.metric('falco_auth_failures_total', { route_group: 'triggers' });
      const wrong = await server.post('/TRIGGERS/shell', '{}', bearer('wrong-token-0123456789abcdef'));
      expect(wrong.status).toBe(401);
      expect(await server.metric('falco_auth_failures_total', { route_group: 'triggers' })).toBe(before + 1);
    });
  });
});

describe('trigger runs read with VIEWER_TOKEN', () => {
  it("never show a viewer the run's nonce, which the trigger token still reads", async () => {
    await withAuthTestServer({ VIEWER_TOKEN }, async (server) => {
      const started = await server.post('/triggers/shell', '{}', bearer(TRIGGER_TOKEN));
      expect(started.status).toBe(202);
      const run = (await started.json()) as { id: string; nonce: string };
      expect(run.nonce).toMatch(/^[0-9a-f]{16}$/);
      // Let the run record its command (docker, with the nonce in its argv).
      await new Promise((resolve) => setTimeout(resolve, 300));

      for (const route of [`/triggers/${run.id}`, '/triggers']) {
        const asViewer = await (await server.get(route, bearer(VIEWER_TOKEN))).text();
        expect(asViewer, route).toContain(run.id);
        expect(asViewer, route).not.toContain(run.nonce);
        expect(asViewer, route).toContain('[nonce hidden]');
        expect(await (await server.get(route, bearer(TRIGGER_TOKEN))).text(), route).toContain(run.nonce);
      }
    });
  });

  // Regression (review): a viewer's cancel was told 'Starting a trigger needs TRIGGER_TOKEN'.
  it("refuse a viewer's cancel with 403 saying that cancelling needs TRIGGER_TOKEN", async () => {
    await withAuthTestServer({ VIEWER_TOKEN }, async (server) => {
      const response = await server.post('/triggers/no-such-run/cancel', '{}', bearer(VIEWER_TOKEN));

      expect(response.status).toBe(403);
      expect(((await response.json()) as { detail: string }).detail).toBe(
        'Starting or cancelling a trigger run needs TRIGGER_TOKEN; these credentials only read.',
      );
    });
  });

  // README's OPTIONS row: only GET and HEAD are reads, so OPTIONS on a trigger route is checked as a start.
  it.each(['/triggers', '/triggers/no-such-run'])(
    'answer OPTIONS %s with Allow to the trigger token only: 401 without credentials, 403 to a viewer',
    async (route) => {
      await withAuthTestServer({ VIEWER_TOKEN }, async (server) => {
        const options = (headers: Record<string, string>) =>
          fetch(server.baseUrl + route, { method: 'OPTIONS', headers });

        const anonymous = await options({});
        const viewer = await options(bearer(VIEWER_TOKEN));
        const trigger = await options(bearer(TRIGGER_TOKEN));

        expect(anonymous.status).toBe(401);
        expect(viewer.status).toBe(403);
        expect(trigger.status).toBe(200);
        expect(trigger.headers.get('allow')).toContain('GET');
      });
    },
  );
});

describe('rate limit of failed authentications per client address', () => {
  let server: AuthTestServer;

  beforeAll(async () => {
    server = await startAuthTestServer({
      VIEWER_TOKEN,
      AUTH_FAILURE_LIMIT: '3',
      AUTH_FAILURE_WINDOW_SECONDS: '60',
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 429 with Retry-After after repeated wrong tokens, even to the right one, until the window ends', async () => {
    const limitedBefore = await server.metric('falco_auth_rate_limited_total', { route_group: 'alerts' });
    for (let attempt = 0; attempt < 3; attempt += 1)
      expect((await server.get('/alerts', bearer(`guess-${attempt}-0123456789abcdef`))).status).toBe(401);

    const limited = await server.get('/alerts', bearer(VIEWER_TOKEN));
    const login = await server.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN }));

    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(login.status).toBe(429);
    expect((await server.get('/ui/session', bearer(VIEWER_TOKEN))).status).toBe(429);
    expect((await server.get('/alerts/stream', bearer(VIEWER_TOKEN))).status).toBe(429);
    expect(await server.metric('falco_auth_rate_limited_total', { route_group: 'alerts' })).toBe(
      limitedBefore + 1,
    );
    // Falco's ingest and the probes are never limited.
    expect((await server.post('/alerts', ALERT)).status).toBe(202);
    expect((await server.get('/healthz')).status).toBe(200);

    server.advance(61_000);
    expect((await server.get('/alerts', bearer(VIEWER_TOKEN))).status).toBe(200);
  });

  it('does not count requests that sent no credentials towards the limit (a browser opening the page)', async () => {
    for (let visit = 0; visit < 10; visit += 1) await server.get('/', { Accept: 'text/html' });

    expect((await server.get('/alerts', bearer(VIEWER_TOKEN))).status).toBe(200);
  });
});

describe('METRICS_TOKEN', () => {
  let server: AuthTestServer;
  const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

  beforeAll(async () => {
    server = await startAuthTestServer({ METRICS_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('guards /metrics only, with its own token; reading stays open without VIEWER_TOKEN', async () => {
    const open = await server.get('/metrics');
    const viewer = await server.get('/metrics', bearer(TRIGGER_TOKEN));
    const scraped = await server.get('/metrics', bearer(METRICS_TOKEN));

    expect(open.status).toBe(401);
    expect(viewer.status).toBe(401);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/falco_auth_failures_total\{route_group="metrics"\} 2/);
    expect((await server.get('/alerts')).status).toBe(200);
    expect(await (await server.get('/ui/session')).json()).toEqual({ readAuth: false });
  });
});

describe('without any auth setting', () => {
  it('keeps every read route open, and counts failures only of the trigger token', async () => {
    await withAuthTestServer({}, async (server) => {
      for (const route of ['/', '/alerts', '/ui/config.json', '/metrics'])
        expect((await server.get(route)).status, route).toBe(200);
      expect(await (await server.get('/ui/session')).json()).toEqual({ readAuth: false });
      const metrics = await (await server.get('/metrics')).text();
      expect(metrics).not.toMatch(/falco_auth_failures_total\{route_group="(?!triggers)[^"]*"\} [1-9]/);
    });
  });
});

describe('trigger routes with VIEWER_TOKEN set and triggers off', () => {
  // Regression (found by review): a viewer's POST was a 403 naming TRIGGER_TOKEN, which no token helps.
  it('answer a viewer 404 as to a caller without read auth, and 401 first without credentials', async () => {
    await withAuthTestServer({ VIEWER_TOKEN, TRIGGERS_ENABLED: 'false' }, async (server) => {
      const signedIn = await server.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN }));
      const session = { Cookie: cookieOf(signedIn) };
      const before = await server.metric('falco_auth_failures_total', { route_group: 'triggers' });

      for (const headers of [bearer(VIEWER_TOKEN), session])
        for (const path of ['/triggers/shell', '/triggers/event-generator', '/triggers/some-id/cancel']) {
          const response = await server.post(path, '{}', headers);
          expect(response.status, path).toBe(404);
          expect(response.headers.get('content-type'), path).toBe('application/problem+json; charset=utf-8');
          expect(await response.json(), path).toMatchObject({
            status: 404,
            detail: `No route for POST ${path}`,
          });
        }
      expect((await server.get('/triggers', bearer(VIEWER_TOKEN))).status).toBe(404);
      const anonymous = await server.post('/triggers/shell', '{}');

      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as { detail: string }).detail).toContain('VIEWER_TOKEN');
      expect(await server.metric('falco_auth_failures_total', { route_group: 'triggers' })).toBe(before + 1);
      const refused = server.logLines.filter((line) => line.event === 'auth_refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ routeGroup: 'triggers', caller: '127.0.0.1' });
      // No trigger API is served, so none of these calls is one of its audited calls.
      expect(server.logLines.filter((line) => line.event === 'trigger_audit')).toEqual([]);
    });
  });
});

describe('a trigger router mounted in place of the trigger API, with TRIGGERS_ENABLED unset', () => {
  // Regression (found by review): the guard read TRIGGERS_ENABLED, not what is mounted, so a viewer's
  // POST reached the router.
  it("is guarded as the trigger API: the viewer's token and session get 403 naming TRIGGER_TOKEN", async () => {
    const standIn = express.Router().post('/triggers/shell', (_req, res) => void res.status(202).end());
    await withAuthTestServer(
      { VIEWER_TOKEN, TRIGGERS_ENABLED: 'false' },
      async (server) => {
        const signedIn = await server.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN }));

        for (const headers of [bearer(VIEWER_TOKEN), { Cookie: cookieOf(signedIn) }]) {
          const response = await server.post('/triggers/shell', '{}', headers);
          expect(response.status).toBe(403);
          expect(((await response.json()) as { detail: string }).detail).toContain('TRIGGER_TOKEN');
        }
      },
      standIn,
    );
  });
});
