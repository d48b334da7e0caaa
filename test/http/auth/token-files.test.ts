import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mountedTokens } from '../../helpers/mounted-tokens.js';
import { until } from '../../helpers/until.js';
import {
  ALERT,
  cookieOf,
  startAuthTestServer,
  TRIGGER_TOKEN,
  type AuthTestServer,
} from './auth-test-server.js';
import { startWithTriggerFile } from './token-files-server.js';

const FIRST = 'first-viewer-token-0123456789';
const NEXT = 'next-viewer-token-9876543210';
const SCRAPER = 'scraper-token-0123456789abcdef';
const NEXT_SCRAPER = 'next-scraper-token-abcdef0123';
const NEXT_TRIGGER = 'next-trigger-token-abcdef01234';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}`, Accept: 'application/json' });

describe('token files read again once changed (VIEWER_TOKEN_FILE, METRICS_TOKEN_FILE)', () => {
  let server: AuthTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const status = async (token: string, route = '/alerts') => (await server!.get(route, bearer(token))).status;
  const events = (event: string) => server!.logLines.filter((line) => line.event === event);

  it('lets a token added to the Secret read, and ends a removed one and its sessions, without a restart', async () => {
    const viewer = mountedTokens(`${FIRST}\n`);
    server = await startAuthTestServer({ VIEWER_TOKEN_FILE: viewer.file, TOKEN_RELOAD_CHECK_MS: '100' });
    const login = await server.post('/ui/session', JSON.stringify({ token: FIRST }));
    expect(login.status).toBe(200);
    const cookie = cookieOf(login);
    expect(await status(NEXT)).toBe(401);

    // A rotation: the next token added beside the first, then the first taken out.
    viewer.update(`${FIRST}\n# the next one\n${NEXT}\n`);
    await until(async () => (await status(NEXT)) === 200, 5_000, 'the added token to read');
    expect(await status(FIRST)).toBe(200);
    viewer.update(`${NEXT}\n`);
    await until(async () => (await status(FIRST)) === 401, 5_000, 'the removed token to be refused');
    expect(await status(NEXT)).toBe(200);
    const withCookie = await server.get('/alerts', { Cookie: cookie, Accept: 'application/json' });
    expect(withCookie.status).toBe(401);

    expect(events('token_reloaded').map(({ file, tokens }) => ({ file, tokens }))).toEqual([
      { file: 'VIEWER_TOKEN_FILE', tokens: 2 },
      { file: 'VIEWER_TOKEN_FILE', tokens: 1 },
    ]);
    expect(
      await server.metric('falco_token_reloads_total', { file: 'VIEWER_TOKEN_FILE', result: 'reloaded' }),
    ).toBe(2);
    expect(server.rawLog()).not.toContain(NEXT);
  });

  it('keeps the tokens in force when the changed file is refused, says so once, and takes the next good one', async () => {
    const viewer = mountedTokens(`${FIRST}\n`);
    server = await startAuthTestServer({ VIEWER_TOKEN_FILE: viewer.file, TOKEN_RELOAD_CHECK_MS: '100' });

    // The trigger token pasted into the viewer tokens: every reader could start runs.
    viewer.update(`${NEXT}\n${TRIGGER_TOKEN}\n`);
    await until(async () => events('token_reload_failed').length > 0, 5_000, 'the refusal');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(events('token_reload_failed')).toHaveLength(1);
    expect(events('token_reload_failed')[0]?.error).toContain(
      'TRIGGER_TOKEN: must differ from every viewer token',
    );
    expect(await status(FIRST)).toBe(200);
    expect(await status(NEXT)).toBe(401);
    expect(
      await server.metric('falco_token_reloads_total', { file: 'VIEWER_TOKEN_FILE', result: 'failed' }),
    ).toBe(1);
    expect(await server.metric('falco_token_reload_failing', { file: 'VIEWER_TOKEN_FILE' })).toBe(1);

    // Emptied (reading would be open to nobody, not to everybody): refused too.
    viewer.update('# nothing yet\n');
    await until(async () => events('token_reload_failed').length > 1, 5_000, 'the second refusal');
    expect(events('token_reload_failed')[1]?.error).toContain('holds no token');
    expect(await status(FIRST)).toBe(200);

    viewer.update(`${NEXT}\n`);
    await until(async () => (await status(NEXT)) === 200, 5_000, 'the good file');
    expect(await status(FIRST)).toBe(401);
    expect(await server.metric('falco_token_reload_failing', { file: 'VIEWER_TOKEN_FILE' })).toBe(0);
    expect(server.rawLog()).not.toContain(TRIGGER_TOKEN);
  });

  it('keeps the tokens in force while the file cannot be read, and reads it once it is back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'token-plain-'));
    const file = path.join(dir, 'tokens');
    writeFileSync(file, `${FIRST}\n`);
    server = await startAuthTestServer({ VIEWER_TOKEN_FILE: file, TOKEN_RELOAD_CHECK_MS: '100' });
    rmSync(file);
    await until(async () => events('token_reload_failed').length > 0, 5_000, 'the refusal');
    expect(events('token_reload_failed')[0]?.error).toContain('cannot read');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(events('token_reload_failed')).toHaveLength(1);
    expect(await status(FIRST)).toBe(200);
    writeFileSync(file, `${NEXT}\n`);
    await until(async () => (await status(NEXT)) === 200, 5_000, 'the file back');
    expect(await status(FIRST)).toBe(401);
  });

  it('reads a METRICS_TOKEN_FILE again: the scraper switches tokens without a restart', async () => {
    const viewer = mountedTokens(`${FIRST}\n`);
    const metrics = mountedTokens(`${SCRAPER}\n`);
    server = await startAuthTestServer({
      VIEWER_TOKEN_FILE: viewer.file,
      METRICS_TOKEN_FILE: metrics.file,
      TOKEN_RELOAD_CHECK_MS: '100',
    });
    expect(await status(SCRAPER, '/metrics')).toBe(200);
    metrics.update(`${NEXT_SCRAPER}\n`);
    await until(async () => (await status(NEXT_SCRAPER, '/metrics')) === 200, 5_000, 'the new scraper token');
    expect(await status(SCRAPER, '/metrics')).toBe(401);
    // The viewer tokens are the viewer file's alone.
    expect(await status(FIRST)).toBe(200);
    expect(await status(NEXT_SCRAPER)).toBe(401);
  });

  it('reads TRIGGER_TOKEN_FILE again: the new token triggers, the old one and its sessions are refused', async () => {
    const started = await startWithTriggerFile(FIRST);
    const { trigger, role } = started;
    server = started.server;
    expect(await role(TRIGGER_TOKEN)).toBe('trigger');
    const login = await server.post('/ui/session', JSON.stringify({ token: TRIGGER_TOKEN }));
    const cookie = cookieOf(login);

    // A viewer token as the new trigger token: every reader could start runs. Refused, the old one stays.
    trigger.update(`${FIRST}\n`);
    await until(async () => events('token_reload_failed').length > 0, 5_000, 'the refusal');
    expect(events('token_reload_failed')[0]).toMatchObject({ file: 'TRIGGER_TOKEN_FILE' });
    expect(await role(TRIGGER_TOKEN)).toBe('trigger');
    expect(await role(FIRST)).toBe('viewer');

    trigger.update(`${NEXT_TRIGGER}\n`);
    await until(async () => (await role(NEXT_TRIGGER)) === 'trigger', 5_000, 'the new trigger token');
    expect(await role(TRIGGER_TOKEN)).toBe(401);
    const withCookie = await server.get('/ui/session', { Cookie: cookie, Accept: 'application/json' });
    expect(withCookie.status).toBe(401);
    expect(server.rawLog()).not.toContain(NEXT_TRIGGER);
  });

  it('reads TRIGGER_TOKEN_FILE again with reading open: the trigger API takes the new token only', async () => {
    const trigger = mountedTokens(`${TRIGGER_TOKEN}\n`);
    server = await startAuthTestServer({
      TRIGGER_TOKEN: '',
      TRIGGER_TOKEN_FILE: trigger.file,
      TOKEN_RELOAD_CHECK_MS: '100',
    });
    expect(await status(TRIGGER_TOKEN, '/triggers')).toBe(200);
    trigger.update(`${NEXT_TRIGGER}\n`);
    await until(
      async () => (await status(NEXT_TRIGGER, '/triggers')) === 200,
      5_000,
      'the new trigger token',
    );
    expect(await status(TRIGGER_TOKEN, '/triggers')).toBe(401);
  });

  it('reads INGEST_PATH_SECRET_FILE again: a rotation takes the new secret beside the old, then drops the old', async () => {
    const OLD = 'old-path-secret-0123456789';
    const NEW = 'new-path-secret-9876543210';
    const secret = mountedTokens(`${OLD}\n`);
    server = await startAuthTestServer({
      INGEST_PATH_SECRET_FILE: secret.file,
      TOKEN_RELOAD_CHECK_MS: '100',
    });
    const post = async (path: string) => (await server!.post(path, ALERT)).status;
    expect(await post(`/alerts/${OLD}`)).toBe(202);
    expect(await post(`/alerts/${NEW}`)).toBe(401);

    // The new one first (the one sensors are given), the old one kept until every sensor has the new URL.
    secret.update(`${NEW}\n# until every sensor has the new URL\n${OLD}\n`);
    await until(async () => (await post(`/alerts/${NEW}`)) === 202, 5_000, 'the new secret');
    expect(await post(`/alerts/${OLD}`)).toBe(202);
    secret.update(`${NEW}\n`);
    await until(async () => (await post(`/alerts/${OLD}`)) === 401, 5_000, 'the old secret refused');
    expect(await post(`/alerts/${NEW}`)).toBe(202);

    // A wrong URL holding the new secret is logged without it.
    expect(await post(`//alerts/${NEW}`)).toBe(404);
    expect(server.logLines.some((line) => line.path === '//alerts/[redacted]')).toBe(true);
    expect(server.rawLog()).not.toContain(NEW);
    expect(events('token_reloaded').map(({ file, tokens }) => ({ file, tokens }))).toEqual([
      { file: 'INGEST_PATH_SECRET_FILE', tokens: 2 },
      { file: 'INGEST_PATH_SECRET_FILE', tokens: 1 },
    ]);
  });
});
