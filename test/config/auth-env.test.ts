import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';

const TOKEN = 'viewer-token-0123456789';
const problemsOf = (env: Record<string, string>) => {
  const loaded = loadConfig(env);
  return loaded.ok ? [] : loaded.problems;
};
const fileWith = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'auth-env-')), 'secret');
  writeFileSync(file, text);
  return file;
};

describe('auth settings in loadConfig', () => {
  it('leaves reading, metrics and the admin port open and off by default', () => {
    const loaded = loadConfig({});

    expect(loaded.ok && loaded.config.auth).toMatchObject({
      viewerTokens: [],
      metricsTokens: [],
      sessionSecrets: [],
      sessionTtlMs: 8 * 3600 * 1000,
      failures: { limit: 10, windowMs: 60_000, maxClients: 10_000 },
      proxy: undefined,
      adminPort: undefined,
    });
  });

  it('reads several viewer tokens from a file, one a line, skipping blanks and comments', () => {
    const file = fileWith(`${TOKEN}\n\n# next\n  second-token-0123456789  \n`);

    const loaded = loadConfig({ VIEWER_TOKEN_FILE: file });

    expect(loaded.ok && loaded.config.auth.viewerTokens).toEqual([TOKEN, 'second-token-0123456789']);
  });

  it.each([
    [{ VIEWER_TOKEN: 'short' }, 'VIEWER_TOKEN: must be at least 16 characters'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN: must be at least 16 characters'],
    [
      { VIEWER_TOKEN: TOKEN, VIEWER_TOKEN_FILE: '/nonexistent' },
      'VIEWER_TOKEN and VIEWER_TOKEN_FILE: set only one',
    ],
    [
      { VIEWER_TOKEN_FILE: '/nonexistent/tokens' },
      'VIEWER_TOKEN_FILE: cannot read /nonexistent/tokens (ENOENT)',
    ],
    [{ SESSION_SECRET: 'too-short' }, 'SESSION_SECRET: must be at least 32 characters'],
    [
      { VIEWER_TOKEN: TOKEN, WORKERS: '2' },
      'SESSION_SECRET: required with VIEWER_TOKEN when WORKERS is not 1',
    ],
    [
      { VIEWER_TOKEN: TOKEN, STORE_URL: 'redis://127.0.0.1:6379' },
      'SESSION_SECRET: required with VIEWER_TOKEN when WORKERS is not 1 or replicas share a store',
    ],
    [{ AUTH_PROXY_USER_HEADER: 'X-Forwarded-User' }, 'AUTH_PROXY_USER_HEADER and AUTH_PROXY_CIDRS: set both'],
    [
      { AUTH_PROXY_USER_HEADER: 'X-User', AUTH_PROXY_CIDRS: '10.0.0.0/33' },
      'AUTH_PROXY_CIDRS: "10.0.0.0/33" is not an address or CIDR',
    ],
    [
      { AUTH_PROXY_USER_HEADER: 'bad header', AUTH_PROXY_CIDRS: '10.0.0.0/8' },
      'AUTH_PROXY_USER_HEADER: must be an HTTP header name',
    ],
    [{ PORT: '9000', ADMIN_PORT: '9000' }, 'ADMIN_PORT: must differ from PORT'],
  ])('refuses %j: %s', (env, problem) => {
    expect(problemsOf(env).join('\n')).toContain(problem);
  });

  it('refuses a token file with a short line or no token at all', () => {
    expect(problemsOf({ VIEWER_TOKEN_FILE: fileWith(`${TOKEN}\nshort\n`) })).toEqual([
      'VIEWER_TOKEN_FILE: every line must be at least 16 characters',
    ]);
    expect(problemsOf({ VIEWER_TOKEN_FILE: fileWith('\n# nothing\n') })[0]).toMatch(/holds no token$/);
  });

  it('reads a keyring from SESSION_SECRET_FILE, one key a line (the first signs), each at least 32 characters', () => {
    const first = 'next-session-key-0123456789abcdef-0123';
    const second = 'old-session-key-0123456789abcdef-01234';
    const file = fileWith(`${first}\n# until the sessions it signed expire\n${second}\n`);

    const loaded = loadConfig({ SESSION_SECRET_FILE: file });

    expect(loaded.ok && loaded.config.auth.sessionSecrets).toEqual([first, second]);
    expect(loaded.ok && loaded.config.auth.tokenFiles.session).toBe(file);
    expect(problemsOf({ SESSION_SECRET_FILE: fileWith(`${first}\nshort-session-key\n`) })).toEqual([
      'SESSION_SECRET_FILE: every line must be at least 32 characters',
    ]);
    // The variable is one key, whole, as before there were several.
    const value = `${first}\n${second}`;
    const single = loadConfig({ SESSION_SECRET: value });
    expect(single.ok && single.config.auth.sessionSecrets).toEqual([value]);
    // Regression: the newline a Secret made with --from-file ends in was part of the key, so a
    // replica reading the same Secret as SESSION_SECRET_FILE (lines trimmed) refused its cookies.
    const fromFile = loadConfig({ SESSION_SECRET: `${first}\n` });
    expect(fromFile.ok && fromFile.config.auth.sessionSecrets).toEqual([first]);
    expect(problemsOf({ SESSION_SECRET: `  ${'s'.repeat(31)}\n` })).toEqual([
      'SESSION_SECRET: must be at least 32 characters',
    ]);
  });

  // Regression: the keyring had no cap, and each request with a well-formed session cookie costs an
  // HMAC per key (the cookie does not say which key signed it): a file of 1,000 keys made each one
  // cost about 20 ms.
  it('takes up to 16 keys in SESSION_SECRET_FILE and refuses a 17th', () => {
    const keys = Array.from(
      { length: 17 },
      (_, i) => `session-key-${String(i).padStart(2, '0')}-0123456789abcdef-0123`,
    );
    const sixteen = loadConfig({ SESSION_SECRET_FILE: fileWith(`${keys.slice(0, 16).join('\n')}\n`) });

    expect(sixteen.ok && sixteen.config.auth.sessionSecrets).toEqual(keys.slice(0, 16));
    expect(problemsOf({ SESSION_SECRET_FILE: fileWith(`# rotation\n${keys.join('\n')}\n`) })).toEqual([
      'SESSION_SECRET_FILE: holds 17 keys, at most 16 (each session cookie is checked against every key): keep the one that signs and those taken out of signing less than SESSION_TTL_SECONDS ago',
    ]);
  });

  // Regression: token files had no cap, and each request with a bearer token is compared with every
  // line (a SHA-256 each, anyone can send one).
  it.each(['VIEWER_TOKEN_FILE', 'METRICS_TOKEN_FILE'])(
    'takes up to 64 tokens in %s and refuses a 65th',
    (name) => {
      const tokens = Array.from(
        { length: 65 },
        (_, i) => `reader-token-${String(i).padStart(2, '0')}-0123456789`,
      );
      const sixtyFour = loadConfig({ [name]: fileWith(`${tokens.slice(0, 64).join('\n')}\n`) });

      expect(sixtyFour.ok).toBe(true);
      expect(problemsOf({ [name]: fileWith(`${tokens.join('\n')}\n`) })).toEqual([
        `${name}: holds 65 lines, at most 64 (a request presenting one is checked against every line): keep those in use`,
      ]);
    },
  );

  // Regression: the trigger token wins over a viewer's (credentials.ts), so a TRIGGER_TOKEN that was
  // also in the viewer tokens file let every reader start and cancel trigger runs, silently.
  it('refuses a trigger token that is also a viewer or /metrics token', () => {
    const triggers = { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: `${TOKEN}\n` };
    expect(
      problemsOf({ ...triggers, VIEWER_TOKEN_FILE: fileWith(`other-token-0123456789\n${TOKEN}\n`) }),
    ).toEqual([
      'TRIGGER_TOKEN: must differ from every viewer token (VIEWER_TOKEN, VIEWER_TOKEN_FILE): it also starts trigger runs, so every reader could',
    ]);
    expect(problemsOf({ ...triggers, METRICS_TOKEN: TOKEN })).toEqual([
      'TRIGGER_TOKEN: must differ from every /metrics token (METRICS_TOKEN, METRICS_TOKEN_FILE): it also starts trigger runs, so whatever scrapes could',
    ]);
    // Triggers off, the token opens nothing.
    expect(problemsOf({ TRIGGER_TOKEN: TOKEN, VIEWER_TOKEN: TOKEN })).toEqual([]);
  });

  it('lists every auth problem at once', () => {
    const problems = problemsOf({
      VIEWER_TOKEN_FILE: '/nonexistent/a',
      METRICS_TOKEN_FILE: '/nonexistent/b',
      AUTH_PROXY_CIDRS: '10.0.0.0/8',
    });

    expect(problems).toHaveLength(3);
  });

  it('parses the proxy settings into a lower-case header and a block list of the CIDRs', () => {
    const loaded = loadConfig({
      AUTH_PROXY_USER_HEADER: 'X-Forwarded-User',
      AUTH_PROXY_CIDRS: '10.0.0.0/8, fd00::/8, 192.0.2.7',
    });

    const proxy = loaded.ok ? loaded.config.auth.proxy : undefined;
    expect(proxy?.userHeader).toBe('x-forwarded-user');
    expect(proxy?.cidrs).toEqual(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    expect(proxy?.trusted.check('10.9.8.7', 'ipv4')).toBe(true);
    expect(proxy?.trusted.check('192.0.2.8', 'ipv4')).toBe(false);
  });
});
