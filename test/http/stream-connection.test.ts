import express from 'express';
import { describe, expect, it } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';
import { VIEWER_TOKEN, cookieOf, withAuthTestServer } from './auth/auth-test-server.js';

const ALERT = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json');

/**
 * A stand-in trigger API whose `GET /triggers/runs` is answered only once released: an answer
 * still being made, which a stream pipelined behind it on the same connection waits for.
 */
function holdingRouter() {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const router = express
    .Router()
    .get('/triggers/runs', (_req, res) => void released.then(() => res.json([])));
  return { router, release };
}

/** One write of three requests: the held answer, the stream behind it, and one behind the stream. */
function pipelineBehindHeld(connection: RawConnection, headers = ''): void {
  const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;
  connection.write(request('/triggers/runs') + request('/alerts/stream') + request('/healthz'));
}

/** When the connection closed, or undefined if it is still open `ms` from now. */
async function closedWithin(connection: RawConnection, ms: number): Promise<number | undefined> {
  const closedAt = connection.closed.then(() => Date.now());
  return Promise.race([
    closedAt,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms)),
  ]);
}

// Regression: node:http (Node 24) leaves an answer destroyed while it waits behind another on its
// connection in the connection's queue, unended: once the answer ahead was written, the cut-off
// stream's buffered bytes went out and the request pipelined behind it waited for an end that never
// came (still open 12 s on with the request, header and keep-alive timeouts at 1 to 2 s).
describe('a stream pipelined behind an answer still being made', () => {
  it('closes its connection when it is cut off for not reading, instead of hanging the request behind it', async () => {
    const held = holdingRouter();
    const built = buildTestApp({
      env: { STREAM_CLIENT_MAX_BUFFERED_BYTES: '8192', STREAM_MAX_CLIENTS_PER_ADDRESS: '1' },
      triggerRouter: held.router,
    });
    const base = await serveForTest(built.app);
    const connection = await openRaw(Number(new URL(base).port));
    pipelineBehindHeld(connection);
    await expect.poll(() => built.feed.listenerCount()).toBe(1);

    // Its events wait unwritten behind the held answer, past its bound.
    const dropped = () =>
      metricValue(built.metrics.registry, 'falco_stream_clients_dropped_total', { reason: 'client_buffer' });
    for (let i = 0; i < 20 && (await dropped()) === 0; i++) {
      await fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: ALERT,
      });
    }
    held.release();

    expect(await closedWithin(connection, 2_000)).toBeDefined();
    // Cut before the answer ahead was written: nothing of it, nor of the stream, went out.
    expect(connection.received()).toBe('');
    expect(await dropped()).toBe(1);
    expect(built.logLines.filter((line) => line['event'] === 'stream_client_dropped')).toHaveLength(1);
    // Its slot is free again: the address's one stream opens.
    expect(built.feed.listenerCount()).toBe(0);
    const again = await fetch(`${base}/alerts/stream`);
    expect(again.status).toBe(200);
    await again.body?.cancel();
  });

  it('closes its connection when its session ends, instead of hanging the request behind it', async () => {
    const held = holdingRouter();
    await withAuthTestServer(
      {
        VIEWER_TOKEN,
        SESSION_SECRET: 'session-secret-0123456789abcdef-0123456789',
        SESSION_TTL_SECONDS: '1',
        STREAM_MAX_CLIENTS_PER_ADDRESS: '1',
        TRIGGERS_ENABLED: 'false',
      },
      async (server) => {
        const signIn = () => server.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN }));
        const signedIn = await signIn();
        const expiresAt = Date.parse(((await signedIn.json()) as { expiresAt: string }).expiresAt);
        const connection = await openRaw(Number(new URL(server.baseUrl).port));
        pipelineBehindHeld(connection, `Cookie: ${cookieOf(signedIn)}\r\n`);

        // The answer ahead is let go once the session has ended (or the connection with it).
        const untilExpired = new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 500));
        await Promise.race([connection.closed, untilExpired]);
        held.release();

        const closedAt = await closedWithin(connection, 2_000);
        expect(closedAt).toBeDefined();
        expect(closedAt! - expiresAt).toBeLessThan(2_000);
        expect(connection.received()).toBe('');
        // Its slot is free again: a new session opens the address's one stream.
        const again = await server.get('/alerts/stream', { Cookie: cookieOf(await signIn()) });
        expect(again.status).toBe(200);
        await again.body?.cancel();
      },
      held.router,
    );
  }, 10_000);
});
