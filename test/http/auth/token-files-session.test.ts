import { afterEach, describe, expect, it } from 'vitest';
import { mountedTokens } from '../../helpers/mounted-tokens.js';
import { until } from '../../helpers/until.js';
import {
  cookieOf,
  startAuthTestServer,
  TRIGGER_TOKEN,
  VIEWER_TOKEN,
  type AuthTestServer,
} from './auth-test-server.js';
import { endsWithin } from './token-files-server.js';

const OLD_KEY = 'old-session-key-0123456789abcdef-0123456789';
const NEW_KEY = 'new-session-key-9876543210fedcba-9876543210';
const SHELL_BODY = JSON.stringify({ backend: 'docker', image: 'not-an-allowed-image:1' });

describe('SESSION_SECRET_FILE read again once changed (a session key rotation)', () => {
  const servers: AuthTestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const start = async (env: Record<string, string>) => {
    const server = await startAuthTestServer({ VIEWER_TOKEN, TOKEN_RELOAD_CHECK_MS: '100', ...env });
    servers.push(server);
    return server;
  };
  /** The receiver with SESSION_SECRET_FILE holding `text`, and a way to change the file. */
  const startWithKeys = async (text: string) => {
    const keys = mountedTokens(text);
    const server = await start({ SESSION_SECRET_FILE: keys.file });
    const events = (event: string) =>
      server.logLines.filter((line) => line.event === event && line.file === 'SESSION_SECRET_FILE');
    const signIn = async (token = VIEWER_TOKEN) => {
      const response = await server.post('/ui/session', JSON.stringify({ token }));
      expect(response.status).toBe(200);
      return { cookie: cookieOf(response), ...((await response.json()) as { csrfToken: string }) };
    };
    return { server, keys, events, signIn };
  };
  const read = async (server: AuthTestServer, cookie: string) =>
    (await server.get('/alerts', { Cookie: cookie, Accept: 'application/json' })).status;

  it('keeps the sessions signed before a new key is put first, and signs the next ones with the new key', async () => {
    const { server, keys, events, signIn } = await startWithKeys(`${OLD_KEY}\n`);
    const before = await signIn();
    const trigger = await signIn(TRIGGER_TOKEN);

    keys.update(`${NEW_KEY}\n# until every session signed with the old key has expired\n${OLD_KEY}\n`);
    await until(async () => events('token_reloaded').length === 1, 5_000, 'the new key read');
    expect(await read(server, before.cookie)).toBe(200);
    // The page's CSRF token, derived with the old key, still goes with the cookie that key signed.
    const described = await server.get('/ui/session', { Cookie: trigger.cookie });
    expect(((await described.json()) as { csrfToken: string }).csrfToken).toBe(trigger.csrfToken);
    const started = await server.post('/triggers/shell', SHELL_BODY, {
      Cookie: trigger.cookie,
      'X-CSRF-Token': trigger.csrfToken,
    });
    expect(started.status).toBe(400);

    // A replica given only the new key accepts what is signed now, not what was signed before.
    const after = await signIn(TRIGGER_TOKEN);
    const onlyNew = await start({ SESSION_SECRET: NEW_KEY });
    expect(await read(onlyNew, after.cookie)).toBe(200);
    expect(await read(onlyNew, before.cookie)).toBe(401);
    const startedThere = await onlyNew.post('/triggers/shell', SHELL_BODY, {
      Cookie: after.cookie,
      'X-CSRF-Token': after.csrfToken,
    });
    expect(startedThere.status).toBe(400);
    expect(events('token_reloaded')[0]).toMatchObject({ tokens: 2 });
    expect(server.rawLog()).not.toContain(NEW_KEY);
    expect(server.rawLog()).not.toContain(OLD_KEY);
  });

  it('refuses the sessions of a key taken out of the file, and ends the live streams they hold', async () => {
    const { server, keys, signIn } = await startWithKeys(`${NEW_KEY}\n${OLD_KEY}\n`);
    const onlyOld = await start({ SESSION_SECRET: OLD_KEY });
    const oldCookie = cookieOf(await onlyOld.post('/ui/session', JSON.stringify({ token: VIEWER_TOKEN })));
    const newCookie = (await signIn()).cookie;
    const oldStream = await server.get('/alerts/stream', { Cookie: oldCookie });
    const newStream = await server.get('/alerts/stream', { Cookie: newCookie });
    expect([oldStream.status, newStream.status]).toEqual([200, 200]);

    keys.update(`${NEW_KEY}\n`);
    await until(async () => (await read(server, oldCookie)) === 401, 5_000, 'the old key refused');
    expect(await read(server, newCookie)).toBe(200);
    const [oldEnded, newEnded] = await Promise.all([
      endsWithin(oldStream, 2_000),
      endsWithin(newStream, 1_000),
    ]);
    expect({ oldEnded, newEnded }).toEqual({ oldEnded: true, newEnded: false });
  }, 15_000);

  it('keeps the keys in force when the changed file is refused, and says so', async () => {
    const { server, keys, events, signIn } = await startWithKeys(`${OLD_KEY}\n`);
    const before = await signIn();

    keys.update(`${NEW_KEY}\nshort-session-key\n`);
    await until(async () => events('token_reload_failed').length === 1, 5_000, 'the refusal');
    expect(events('token_reload_failed')[0]?.error).toBe(
      'SESSION_SECRET_FILE: every line must be at least 32 characters',
    );
    expect(await server.metric('falco_token_reload_failing', { file: 'SESSION_SECRET_FILE' })).toBe(1);
    expect(
      await server.metric('falco_token_reloads_total', { file: 'SESSION_SECRET_FILE', result: 'failed' }),
    ).toBe(1);
    expect(await read(server, before.cookie)).toBe(200);
    // Still signed with the old key: the new one was never taken.
    const during = await signIn();
    const onlyOld = await start({ SESSION_SECRET: OLD_KEY });
    expect(await read(onlyOld, during.cookie)).toBe(200);

    keys.update(`${NEW_KEY}\n${OLD_KEY}\n`);
    await until(async () => events('token_reloaded').length === 1, 5_000, 'the good file');
    expect(await server.metric('falco_token_reload_failing', { file: 'SESSION_SECRET_FILE' })).toBe(0);
    expect(server.rawLog()).not.toContain(NEW_KEY);
  });

  // Regression: a reload took a keyring of any size, and each request with a well-formed session
  // cookie costs an HMAC per key.
  it('keeps the keys in force when the changed file holds more than 16 keys, and says so', async () => {
    const { server, keys, events, signIn } = await startWithKeys(`${OLD_KEY}\n`);
    const before = await signIn();
    const many = Array.from({ length: 16 }, (_, i) => `${NEW_KEY}-${i}`);

    keys.update(`${[...many, OLD_KEY].join('\n')}\n`);
    await until(async () => events('token_reload_failed').length === 1, 5_000, 'the refusal');
    expect(events('token_reload_failed')[0]).toMatchObject({
      level: 'warn',
      error:
        'SESSION_SECRET_FILE: holds 17 keys, at most 16 (each session cookie is checked against every key): keep the one that signs and those taken out of signing less than SESSION_TTL_SECONDS ago',
    });
    expect(await server.metric('falco_token_reload_failing', { file: 'SESSION_SECRET_FILE' })).toBe(1);
    expect(await read(server, before.cookie)).toBe(200);
    // Still signed with the old key, the one in force: the first of the refused file was never taken.
    const during = await signIn();
    const onlyOld = await start({ SESSION_SECRET: OLD_KEY });
    expect(await read(onlyOld, during.cookie)).toBe(200);

    keys.update(`${[...many.slice(0, 15), OLD_KEY].join('\n')}\n`);
    await until(async () => events('token_reloaded').length === 1, 5_000, 'the file of 16 keys');
    expect(await server.metric('falco_token_reload_failing', { file: 'SESSION_SECRET_FILE' })).toBe(0);
    expect(await read(server, before.cookie)).toBe(200);
  });
});
