import { afterEach, describe, expect, it } from 'vitest';
import { mountedTokens } from '../../helpers/mounted-tokens.js';
import { until } from '../../helpers/until.js';
import { cookieOf, startAuthTestServer, type AuthTestServer } from './auth-test-server.js';
import { endsWithin } from './token-files-server.js';

const FIRST = 'first-viewer-token-0123456789';
const NEXT = 'next-viewer-token-9876543210';

describe('a live stream opened with a token taken out of VIEWER_TOKEN_FILE', () => {
  let server: AuthTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('ends, whether it was opened with the token or with a session it opened; others stay open', async () => {
    const viewer = mountedTokens(`${FIRST}\n${NEXT}\n`);
    server = await startAuthTestServer({ VIEWER_TOKEN_FILE: viewer.file, TOKEN_RELOAD_CHECK_MS: '100' });
    const cookie = cookieOf(await server.post('/ui/session', JSON.stringify({ token: FIRST })));
    const byBearer = await server.get('/alerts/stream', { Authorization: `Bearer ${FIRST}` });
    const bySession = await server.get('/alerts/stream', { Cookie: cookie });
    const kept = await server.get('/alerts/stream', { Authorization: `Bearer ${NEXT}` });
    expect([byBearer.status, bySession.status, kept.status]).toEqual([200, 200, 200]);

    viewer.update(`${NEXT}\n`);
    const refused = async () =>
      (await server!.get('/alerts', { Authorization: `Bearer ${FIRST}`, Accept: 'application/json' }))
        .status === 401;
    await until(refused, 5_000, 'the removed token to be refused');
    const [bearerEnded, sessionEnded, keptEnded] = await Promise.all([
      endsWithin(byBearer, 2_000),
      endsWithin(bySession, 2_000),
      endsWithin(kept, 1_000),
    ]);
    expect({ bearerEnded, sessionEnded, keptEnded }).toEqual({
      bearerEnded: true,
      sessionEnded: true,
      keptEnded: false,
    });
  }, 15_000);
});
