import { describe, expect, it } from 'vitest';
import { ourBearerOf } from '../../../src/http/auth/proxy-bearer.js';
import { TRIGGER_TOKEN, VIEWER_TOKEN, cookieOf, withAuthTestServer } from './auth-test-server.js';

// The shape of the ID token oauth2-proxy sends (--pass-authorization-header, --set-authorization-header).
const ID_TOKEN =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwic3ViIjoiYWxpY2UifQ.c2lnbmF0dXJl';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const SHELL_BODY = JSON.stringify({ backend: 'docker', image: 'not-an-allowed-image:1' });
const PROXY = { AUTH_PROXY_USER_HEADER: 'X-Forwarded-User', AUTH_PROXY_CIDRS: '127.0.0.1/32, ::1' };
const BEHIND_PROXY = {
  ...PROXY,
  VIEWER_TOKEN,
  SESSION_SECRET: 'session-secret-0123456789abcdef-0123456789',
  AUTH_FAILURE_LIMIT: '3',
};

/** What the proxy adds to every request of alice: her name and her ID token. */
const fromProxy = (extra: Record<string, string> = {}) => ({
  'X-Forwarded-User': 'alice@example.org',
  Authorization: `Bearer ${ID_TOKEN}`,
  ...extra,
});
const refusedLines = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => line.event === 'auth_refused');

describe("a trusted proxy's own bearer token (oauth2-proxy --pass-authorization-header)", () => {
  // Regression: the ID token was judged as a wrong token of ours: 401 for every user behind the
  // proxy, and 429 once AUTH_FAILURE_LIMIT of them were counted.
  it('reads as the vouched user, more often than AUTH_FAILURE_LIMIT, and counts no failure', async () => {
    await withAuthTestServer(BEHIND_PROXY, async (server) => {
      const failuresBefore = await server.metric('falco_auth_failures_total', { route_group: 'alerts' });

      const reads = [];
      for (let attempt = 0; attempt < 5; attempt += 1)
        reads.push((await server.get('/alerts', fromProxy())).status);
      const who = await server.get('/ui/session', fromProxy());
      const controller = new AbortController();
      const stream = await fetch(`${server.baseUrl}/alerts/stream`, {
        headers: fromProxy(),
        signal: controller.signal,
      });
      controller.abort();

      expect(reads).toEqual([200, 200, 200, 200, 200]);
      expect(stream.status).toBe(200);
      expect(await who.json()).toEqual({ role: 'viewer', via: 'proxy', user: 'alice@example.org' });
      expect(await server.metric('falco_auth_failures_total', { route_group: 'alerts' })).toBe(
        failuresBefore,
      );
      expect(refusedLines(server.logLines)).toEqual([]);
    });
  });

  it('lets a dashboard session signed in behind the proxy start a trigger with its CSRF token', async () => {
    await withAuthTestServer(BEHIND_PROXY, async (server) => {
      const signedIn = await server.post(
        '/ui/session',
        JSON.stringify({ token: TRIGGER_TOKEN }),
        fromProxy(),
      );
      const { csrfToken } = (await signedIn.json()) as { csrfToken: string };
      const session = fromProxy({ Cookie: cookieOf(signedIn) });

      const who = await server.get('/ui/session', session);
      const started = await server.post('/triggers/shell', SHELL_BODY, {
        ...session,
        'X-CSRF-Token': csrfToken,
      });

      expect(await who.json()).toMatchObject({ role: 'trigger', via: 'session' });
      expect([401, 403, 429]).not.toContain(started.status);
      expect(server.logLines.filter((line) => line.event === 'trigger_audit').at(-1)).toMatchObject({
        user: 'alice@example.org',
        via: 'session',
        trigger: 'shell',
      });
    });
  });

  it('still needs the trigger token to start a run, and still grants what one of our tokens grants', async () => {
    await withAuthTestServer(BEHIND_PROXY, async (server) => {
      const starts = [];
      for (let attempt = 0; attempt < 4; attempt += 1)
        starts.push((await server.post('/triggers/shell', SHELL_BODY, fromProxy())).status);
      const asViewer = await server.get(
        '/ui/session',
        fromProxy({ Authorization: `Bearer ${VIEWER_TOKEN}` }),
      );
      const asTrigger = await server.get(
        '/ui/session',
        fromProxy({ Authorization: `Bearer ${TRIGGER_TOKEN}` }),
      );

      expect(starts).toEqual([403, 403, 403, 403]);
      expect(await asViewer.json()).toEqual({ role: 'viewer', via: 'bearer', user: 'alice@example.org' });
      expect(await asTrigger.json()).toEqual({ role: 'trigger', via: 'bearer', user: 'alice@example.org' });
    });
  });

  it('judges any other bearer of a vouched request: a guess is refused, counted and limited', async () => {
    let logLines: Record<string, unknown>[] = [];
    await withAuthTestServer(BEHIND_PROXY, async (server) => {
      logLines = server.logLines;
      const guesses = [];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const guess = fromProxy({ Authorization: `Bearer guess-${attempt}-0123456789abcdef` });
        guesses.push((await server.get('/alerts', guess)).status);
      }

      expect(guesses).toEqual([401, 401, 401]);
      expect((await server.get('/alerts', fromProxy())).status).toBe(429);
      // Counted under alice, so her lines name her (her proxy's address is every user's): the first
      // at once, the repeats of its kind summed later (refusal-lines.ts).
      expect(refusedLines(logLines)).toEqual([
        expect.objectContaining({ caller: '127.0.0.1', user: 'alice@example.org', count: 1 }),
      ]);
    });
    // The listener's close wrote the rest of the count.
    const lines = refusedLines(logLines);
    expect(lines.reduce((sum, line) => sum + Number(line.count), 0)).toBe(3);
    for (const line of lines) expect(line).toMatchObject({ caller: '127.0.0.1', user: 'alice@example.org' });
  });

  it('judges a JWT when one of our tokens is shaped like one, since a guess at it would be too', async () => {
    const jwtShapedToken = 'aaaaaaaaaaaa.bbbbbbbbbbbb.cccccccccccc';
    await withAuthTestServer({ ...BEHIND_PROXY, VIEWER_TOKEN: jwtShapedToken }, async (server) => {
      const statuses = [];
      for (let attempt = 0; attempt < 4; attempt += 1)
        statuses.push((await server.get('/alerts', fromProxy())).status);

      expect(statuses).toEqual([401, 401, 401, 429]);
    });
  });

  it('keeps refusing and counting the JWT of a request no trusted proxy vouches for', async () => {
    await withAuthTestServer({ ...BEHIND_PROXY, AUTH_PROXY_CIDRS: '192.0.2.0/24' }, async (server) => {
      const statuses = [];
      for (let attempt = 0; attempt < 4; attempt += 1)
        statuses.push((await server.get('/alerts', fromProxy())).status);

      expect(statuses).toEqual([401, 401, 401, 429]);
    });
    // From the trusted address, but naming nobody.
    await withAuthTestServer(BEHIND_PROXY, async (server) => {
      const statuses = [];
      for (let attempt = 0; attempt < 4; attempt += 1)
        statuses.push((await server.get('/alerts', { Authorization: `Bearer ${ID_TOKEN}` })).status);

      expect(statuses).toEqual([401, 401, 401, 429]);
    });
  });

  it('does not count it against the /metrics token, nor (reading open) the trigger token', async () => {
    await withAuthTestServer({ ...PROXY, METRICS_TOKEN, AUTH_FAILURE_LIMIT: '3' }, async (server) => {
      const refused = [];
      for (let attempt = 0; attempt < 2; attempt += 1) {
        refused.push((await server.get('/metrics', fromProxy())).status);
        refused.push((await server.post('/triggers/shell', SHELL_BODY, fromProxy())).status);
      }
      const scraped = await server.get('/metrics', fromProxy({ Authorization: `Bearer ${METRICS_TOKEN}` }));

      expect(refused).toEqual([401, 401, 401, 401]);
      expect(scraped.status).toBe(200);
    });
  });
});

describe('ourBearerOf', () => {
  const ours = [VIEWER_TOKEN, TRIGGER_TOKEN];

  it("drops a vouched request's JWT, and keeps every other bearer", () => {
    expect(ourBearerOf(`Bearer ${ID_TOKEN}`, 'alice', ours)).toBeUndefined();
    expect(ourBearerOf(`Bearer ${ID_TOKEN}`, undefined, ours)).toBe(ID_TOKEN);
    expect(ourBearerOf('Bearer guess-0123456789abcdef', 'alice', ours)).toBe('guess-0123456789abcdef');
    expect(ourBearerOf(`Bearer ${VIEWER_TOKEN}`, 'alice', ours)).toBe(VIEWER_TOKEN);
    expect(ourBearerOf(undefined, 'alice', ours)).toBeUndefined();
  });

  it('keeps a JWT while one of ours is shaped like one, and takes JWE (five parts) as a JWT', () => {
    expect(ourBearerOf(`Bearer ${ID_TOKEN}`, 'alice', [...ours, 'a.b.c'])).toBe(ID_TOKEN);
    expect(ourBearerOf('Bearer aaaa.bbbb.cccc.dddd.eeee', 'alice', ours)).toBeUndefined();
    expect(ourBearerOf('Bearer aaaa.bbbb.cccc.dddd', 'alice', ours)).toBe('aaaa.bbbb.cccc.dddd');
    expect(ourBearerOf('Bearer aaaa.bb/b.cccc', 'alice', ours)).toBe('aaaa.bb/b.cccc');
  });
});
