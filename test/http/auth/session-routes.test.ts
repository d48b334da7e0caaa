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

// Read auth with a fixed session key: what every sign-in test here starts from.
const SIGN_IN_ENV = { VIEWER_TOKEN, SESSION_SECRET: 'session-secret-0123456789abcdef-0123456789' };
const SHELL_BODY = JSON.stringify({ backend: 'docker', image: 'not-an-allowed-image:1' });

describe('dashboard sessions (POST /ui/session, HMAC-signed cookie)', () => {
  let server: AuthTestServer;

  const signIn = async (token: string) => {
    const response = await server.post('/ui/session', JSON.stringify({ token }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { role: string; csrfToken: string; expiresAt: string };
    return { cookie: cookieOf(response), setCookie: response.headers.get('set-cookie') ?? '', ...body };
  };

  beforeAll(async () => {
    server = await startAuthTestServer({
      ...SIGN_IN_ENV,
      SESSION_TTL_SECONDS: '600',
    });
    await server.post('/alerts', ALERT);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sets an HttpOnly, SameSite=Strict cookie with an expiry (no Secure on plain HTTP) for a viewer token', async () => {
    const session = await signIn(VIEWER_TOKEN);

    expect(session.role).toBe('viewer');
    expect(session.setCookie).toMatch(
      /^falco_session=v1\.viewer\.[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Strict$/,
    );
    expect(Date.parse(session.expiresAt) - Date.now()).toBeGreaterThan(590_000);
    expect(session.setCookie).not.toContain(VIEWER_TOKEN);
  });

  it('reads every route, streams and describes itself with the cookie alone', async () => {
    const { cookie, csrfToken } = await signIn(VIEWER_TOKEN);

    for (const route of ['/', '/alerts', '/ui/config.json', '/ui/summary', '/triggers'])
      expect((await server.get(route, { Cookie: cookie })).status, route).toBe(200);
    const controller = new AbortController();
    const stream = await fetch(`${server.baseUrl}/alerts/stream`, {
      headers: { Cookie: cookie },
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    controller.abort();
    const who = (await (await server.get('/ui/session', { Cookie: cookie })).json()) as Record<
      string,
      string
    >;
    expect(who).toMatchObject({ role: 'viewer', via: 'session', csrfToken });
  });

  it('refuses a wrong token with 401, counted under the session group', async () => {
    const before = await server.metric('falco_auth_failures_total', { route_group: 'session' });

    const response = await server.post('/ui/session', JSON.stringify({ token: 'not-the-token-0123456789' }));

    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await server.metric('falco_auth_failures_total', { route_group: 'session' })).toBe(before + 1);
  });

  it('names the field when the body has no token, and refuses a body that is not JSON', async () => {
    const missing = await server.post('/ui/session', '{}');
    const notJson = await server.post('/ui/session', 'token=x', { 'Content-Type': 'application/json' });

    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe('/token');
    expect(notJson.status).toBe(400);
  });

  // Regression (review of f9332de): ingest takes a Content-Encoding list naming identity alone,
  // but express.json compared it whole: the same sign-in was 415. Any other coding still is.
  it('signs in with a Content-Encoding naming identity alone, repeated, and refuses gzip', async () => {
    const body = JSON.stringify({ token: VIEWER_TOKEN });
    const repeated = await server.post('/ui/session', body, { 'Content-Encoding': 'identity, Identity' });
    const gzip = await server.post('/ui/session', body, { 'Content-Encoding': 'gzip' });

    expect(repeated.status).toBe(200);
    expect(gzip.status).toBe(415);
  });

  it('bounds what a sign-in attempt can make it read: a 64 KiB body and a 4 KiB cookie are refused, nothing else breaks', async () => {
    const bigBody = await server.post('/ui/session', JSON.stringify({ token: 'x'.repeat(64 * 1024) }));
    const bigCookie = await server.get('/alerts', { Cookie: `falco_session=v1.viewer.${'A'.repeat(4096)}` });

    expect(bigBody.status).toBe(413);
    expect(bigBody.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(bigCookie.status).toBe(401);
    expect((await server.get('/healthz')).status).toBe(200);
  });

  it('refuses a forged, tampered or expired cookie', async () => {
    const { cookie } = await signIn(VIEWER_TOKEN);
    const tampered = cookie.replace('v1.viewer.', 'v1.trigger.');
    const forged = `${cookie.slice(0, -4)}AAAA`;

    expect((await server.get('/alerts', { Cookie: tampered })).status).toBe(401);
    expect((await server.get('/alerts', { Cookie: forged })).status).toBe(401);
    expect((await server.get('/alerts', { Cookie: 'falco_session=garbage' })).status).toBe(401);
    server.advance(601_000);
    expect((await server.get('/alerts', { Cookie: cookie })).status).toBe(401);
  });

  it('clears the cookie on sign-out (DELETE /ui/session and POST /ui/logout)', async () => {
    const { cookie } = await signIn(VIEWER_TOKEN);

    for (const response of [
      await fetch(`${server.baseUrl}/ui/session`, { method: 'DELETE', headers: { Cookie: cookie } }),
      await server.post('/ui/logout', '', { Cookie: cookie }),
    ]) {
      expect(response.status).toBe(204);
      expect(response.headers.get('set-cookie')).toMatch(
        /^falco_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/,
      );
    }
  });

  it('starts a trigger from a trigger-token session only with its CSRF token', async () => {
    const { cookie, csrfToken, role } = await signIn(TRIGGER_TOKEN);
    const before = await server.metric('falco_auth_failures_total', { route_group: 'triggers' });

    const without = await server.post('/triggers/shell', SHELL_BODY, { Cookie: cookie });
    const wrong = await server.post('/triggers/shell', SHELL_BODY, {
      Cookie: cookie,
      'X-CSRF-Token': 'x'.repeat(43),
    });
    // Past the guard the trigger API validates the body: the image is not allowed, so nothing runs.
    const withToken = await server.post('/triggers/shell', SHELL_BODY, {
      Cookie: cookie,
      'X-CSRF-Token': csrfToken,
    });

    expect(role).toBe('trigger');
    expect(without.status).toBe(403);
    expect(((await without.json()) as { detail: string }).detail).toContain('X-CSRF-Token');
    expect(wrong.status).toBe(403);
    expect(withToken.status).toBe(400);
    expect(await server.metric('falco_auth_failures_total', { route_group: 'triggers' })).toBe(before + 2);
  });

  it('never lets a viewer start a trigger, by cookie or bearer token', async () => {
    const { cookie, csrfToken } = await signIn(VIEWER_TOKEN);

    const bySession = await server.post('/triggers/shell', SHELL_BODY, {
      Cookie: cookie,
      'X-CSRF-Token': csrfToken,
    });
    const byBearer = await server.post('/triggers/shell', SHELL_BODY, {
      Authorization: `Bearer ${VIEWER_TOKEN}`,
    });
    const byTrigger = await server.post('/triggers/shell', SHELL_BODY, {
      Authorization: `Bearer ${TRIGGER_TOKEN}`,
    });

    expect(bySession.status).toBe(403);
    expect(byBearer.status).toBe(403);
    expect(((await byBearer.json()) as { detail: string }).detail).toContain('TRIGGER_TOKEN');
    expect(byTrigger.status).toBe(400);
  });
});

describe('sessions across processes', () => {
  it('accepts a cookie signed by another replica with the same SESSION_SECRET, and not by one with another', async () => {
    const secret = { VIEWER_TOKEN, SESSION_SECRET: 'shared-secret-0123456789abcdef-0123456789' };
    const [first, second, other] = await Promise.all([
      startAuthTestServer(secret),
      startAuthTestServer(secret),
      startAuthTestServer({ VIEWER_TOKEN }),
    ]);
    try {
      const cookie = cookieOf(await first.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN })));

      expect((await second.get('/alerts', { Cookie: cookie })).status).toBe(200);
      expect((await other.get('/alerts', { Cookie: cookie })).status).toBe(401);
    } finally {
      await Promise.all([first.close(), second.close(), other.close()]);
    }
  });
});

describe('sign-in bodies refused', () => {
  it.each([
    ['a body above 2 KB', 'application/json', JSON.stringify({ token: 'x'.repeat(3000) }), 413],
    ['a body in a charset it cannot read', 'application/json; charset=klingon', '{}', 415],
    // Regression: express.json decoded it as UTF-16, and answered 400 "not a JSON object".
    [
      'a body declared UTF-16',
      'application/json; charset=utf-16',
      JSON.stringify({ token: VIEWER_TOKEN }),
      415,
    ],
    ['malformed JSON', 'application/json', '{"token":', 400],
  ])('answers %s with %s problem+json', async (_, type, body, status) => {
    await withAuthTestServer({ VIEWER_TOKEN }, async (server) => {
      const response = await server.post('/ui/session', body, { 'Content-Type': type });
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      // A 415 names the header at fault.
      expect(((await response.json()) as { header?: string }).header).toBe(
        status === 415 ? 'Content-Type' : undefined,
      );
    });
  });
});

// Regression: express.json took a repeated key silently (the last won), while ingest refuses it:
// `{"token":"a","token":"b"}` signed in with b, whichever copy a proxy or WAF in front had checked.
describe('a sign-in body that repeats a key', () => {
  it('is refused with 400 problem+json naming the key, and sets no cookie', async () => {
    await withAuthTestServer({ VIEWER_TOKEN }, async (server) => {
      const body = `{"token":"wrong","token":${JSON.stringify(VIEWER_TOKEN)}}`;

      const response = await server.post('/ui/session', body, { 'Content-Type': 'application/json' });

      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(await response.json()).toMatchObject({
        type: 'urn:falco-alert-receiver:problem:malformed-json',
        errors: [{ pointer: '/token', detail: 'Duplicate key: an object repeats a key' }],
      });
    });
  });
});

describe('SESSION_COOKIE_SECURE=true (TLS ends at a proxy in front)', () => {
  it('marks the session cookie Secure on a plain HTTP request', async () => {
    await withAuthTestServer(
      {
        ...SIGN_IN_ENV,
        SESSION_COOKIE_SECURE: 'true',
      },
      async (server) => {
        const response = await server.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN }));
        expect(response.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
      },
    );
  });
});

describe('a live stream opened with a session', () => {
  it('ends when the session does (SESSION_TTL_SECONDS), so no alert reaches it after', async () => {
    await withAuthTestServer(
      {
        ...SIGN_IN_ENV,
        SESSION_TTL_SECONDS: '1',
      },
      async (server) => {
        const response = await server.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN }));
        const cookie = cookieOf(response);
        const stream = await server.get('/alerts/stream', { Cookie: cookie });
        expect(stream.status).toBe(200);
        const started = Date.now();
        // The stream is closed by the server once the session has expired.
        let text = '';
        let cut = false;
        const reader = stream.body!.getReader();
        try {
          for (let part = await reader.read(); !part.done; part = await reader.read())
            text += new TextDecoder().decode(part.value);
        } catch {
          // The server closed the connection without ending the stream: its slot is free at once.
          cut = true;
        }
        expect(cut).toBe(true);
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(text).toContain(': connected');
        // And the same cookie no longer opens one.
        expect((await server.get('/alerts/stream', { Cookie: cookie })).status).toBe(401);
      },
    );
  }, 15_000);
});
