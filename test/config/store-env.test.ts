import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { parseDuration } from '../../src/config/store-env.js';

describe('the STORE_ variables', () => {
  it('keep the in-memory store when STORE_URL is unset or memory', () => {
    for (const env of [{}, { STORE_URL: 'memory' }]) {
      const result = loadConfig(env);
      expect(result.ok && result.config.store.redis).toBeUndefined();
    }
  });

  it('select Redis by URL with the prefix, retention and queue bound', () => {
    const result = loadConfig({
      STORE_URL: 'redis://user:pw@redis.falco.svc:6379/2',
      STORE_KEY_PREFIX: 'team-a',
      STORE_RETENTION: '6h',
      STORE_PENDING_MAX: '500',
    });
    expect(result.ok && result.config.store.redis).toEqual({
      target: { kind: 'url', url: 'redis://user:pw@redis.falco.svc:6379/2' },
      password: undefined,
      keyPrefix: 'team-a',
      retentionMs: 6 * 3_600_000,
      pendingMax: 500,
    });
  });

  it('select Sentinel and read the password from a mounted file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'store-env-')), 'password');
    writeFileSync(file, 's3cret\n');
    const result = loadConfig({
      STORE_SENTINELS: '10.0.0.1:26379, sentinel-1:26379',
      STORE_SENTINEL_MASTER: 'mymaster',
      STORE_PASSWORD_FILE: file,
    });
    expect(result.ok && result.config.store.redis).toMatchObject({
      target: {
        kind: 'sentinel',
        master: 'mymaster',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: 'sentinel-1', port: 26379 },
        ],
      },
      password: 's3cret',
      keyPrefix: 'falco-alert-receiver',
      retentionMs: 86_400_000,
    });
  });

  // Regression: through Sentinel no user could be named for the data nodes (the password alone, as
  // the `default` user) and the Sentinels were asked with no credentials, so Sentinels that require a
  // password (the Bitnami chart's default) or a receiver user of its own could not be used at all.
  it("select Sentinel with the data nodes' user and the Sentinels' own user and password file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-env-'));
    writeFileSync(join(dir, 'password'), 's3cret\n');
    writeFileSync(join(dir, 'sentinel-password'), 'sentinel-s3cret\n');
    const result = loadConfig({
      STORE_SENTINELS: 'sentinel-0:26379',
      STORE_SENTINEL_MASTER: 'mymaster',
      STORE_USERNAME: 'falco-alert-receiver',
      STORE_PASSWORD_FILE: join(dir, 'password'),
      STORE_SENTINEL_USERNAME: 'falco-watch',
      STORE_SENTINEL_PASSWORD_FILE: join(dir, 'sentinel-password'),
    });
    expect(result.ok && result.config.store.redis).toMatchObject({
      username: 'falco-alert-receiver',
      password: 's3cret',
      sentinelAuth: {
        username: 'falco-watch',
        password: 'sentinel-s3cret',
        passwordFile: join(dir, 'sentinel-password'),
      },
    });
    const passwordOnly = loadConfig({
      STORE_SENTINELS: 'sentinel-0:26379',
      STORE_SENTINEL_MASTER: 'mymaster',
      STORE_SENTINEL_PASSWORD_FILE: join(dir, 'sentinel-password'),
    });
    expect(passwordOnly.ok && passwordOnly.config.store.redis?.sentinelAuth).toEqual({
      username: undefined,
      password: 'sentinel-s3cret',
      passwordFile: join(dir, 'sentinel-password'),
    });
    const none = loadConfig({ STORE_SENTINELS: 'sentinel-0:26379', STORE_SENTINEL_MASTER: 'mymaster' });
    expect(none.ok && none.config.store.redis).toMatchObject({
      username: undefined,
      sentinelAuth: undefined,
    });
  });

  it("refuse the Sentinel's sign-in variables without STORE_SENTINELS, and a user beside STORE_URL", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'store-env-')), 'password');
    writeFileSync(file, 'pw\n');
    const sentinelOnly = { STORE_SENTINEL_USERNAME: 'watch', STORE_SENTINEL_PASSWORD_FILE: file };
    for (const store of [{}, { STORE_URL: 'redis://redis:6379' }]) {
      const result = loadConfig({ ...store, ...sentinelOnly, STORE_USERNAME: 'falco' });
      expect(result.ok ? [] : result.problems, JSON.stringify(store)).toEqual([
        'STORE_USERNAME: is for STORE_SENTINELS only (with STORE_URL the URL names the user: redis://USER@host:6379)',
        'STORE_SENTINEL_USERNAME: needs STORE_SENTINELS (it signs in to the Sentinels)',
        'STORE_SENTINEL_PASSWORD_FILE: needs STORE_SENTINELS (it signs in to the Sentinels)',
      ]);
    }
  });

  it('refuse an empty or unreadable STORE_SENTINEL_PASSWORD_FILE and a user that is not one word', () => {
    const empty = join(mkdtempSync(join(tmpdir(), 'store-env-')), 'password');
    writeFileSync(empty, '\n');
    const sentinel = { STORE_SENTINELS: 'sentinel-0:26379', STORE_SENTINEL_MASTER: 'mymaster' };
    expect(loadConfig({ ...sentinel, STORE_SENTINEL_PASSWORD_FILE: empty })).toEqual({
      ok: false,
      problems: [`STORE_SENTINEL_PASSWORD_FILE: ${empty} is empty`],
    });
    const missing = loadConfig({ ...sentinel, STORE_SENTINEL_PASSWORD_FILE: '/no/such/file' });
    expect(missing.ok ? [] : missing.problems).toEqual([
      expect.stringMatching(/^STORE_SENTINEL_PASSWORD_FILE: cannot read \/no\/such\/file \(ENOENT/),
    ]);
    for (const name of ['STORE_USERNAME', 'STORE_SENTINEL_USERNAME']) {
      const result = loadConfig({ ...sentinel, [name]: 'falco alert receiver' });
      expect(result.ok ? [] : result.problems).toEqual([
        `${name}: must be one word of visible ASCII, at most 256 characters`,
      ]);
    }
  });

  // Regression: an IPv6 Sentinel written without brackets was split at its last colon, so
  // `fd00::5` (no port) was taken as host `fd00:`, port 5, and failed only at connect time.
  it('take IPv6 Sentinels in brackets, and refuse them without (the port cannot be told apart)', () => {
    const bracketed = loadConfig({
      STORE_SENTINELS: '[fd00::5]:26379, [::1]:26380, [::ffff:10.0.0.1]:26381',
      STORE_SENTINEL_MASTER: 'mymaster',
    });
    expect(bracketed.ok && bracketed.config.store.redis?.target).toEqual({
      kind: 'sentinel',
      master: 'mymaster',
      sentinels: [
        { host: 'fd00::5', port: 26379 },
        { host: '::1', port: 26380 },
        { host: '::ffff:10.0.0.1', port: 26381 },
      ],
    });
    for (const node of ['fd00::5', 'fd00::5:26379', '::1:26379'])
      expect(loadConfig({ STORE_SENTINELS: node, STORE_SENTINEL_MASTER: 'm' }), node).toEqual({
        ok: false,
        problems: [
          `STORE_SENTINELS: ${node} is not host:port: write an IPv6 address in brackets, [fd00::5]:26379`,
        ],
      });
    for (const node of ['[fd00::5]', '[not-an-address]:26379', 'a[b]c:26379', '[fd00::5]:0'])
      expect(loadConfig({ STORE_SENTINELS: node, STORE_SENTINEL_MASTER: 'm' }).ok, node).toBe(false);
  });

  it('refuses a retention under a minute, naming the variable', () => {
    for (const value of ['0s', '59s', '1s']) {
      const result = loadConfig({ STORE_URL: 'redis://127.0.0.1:6379', STORE_RETENTION: value });
      expect(!result.ok && result.problems.join('\n')).toMatch(/^STORE_RETENTION: .*at least 1m/m);
    }
    const minute = loadConfig({ STORE_URL: 'redis://127.0.0.1:6379', STORE_RETENTION: '60s' });
    expect(minute.ok).toBe(true);
  });

  it('list every invalid store value at once, with the other problems', () => {
    const result = loadConfig({
      PORT: 'x',
      STORE_URL: 'http://redis:6379',
      STORE_RETENTION: 'forever',
      STORE_KEY_PREFIX: 'a b',
      STORE_PENDING_MAX: '0',
      STORE_SENTINELS: 'nohost',
    });
    expect(result.ok).toBe(false);
    const text = result.ok ? '' : result.problems.join('\n');
    for (const name of [
      'PORT',
      'STORE_URL',
      'STORE_RETENTION',
      'STORE_KEY_PREFIX',
      'STORE_PENDING_MAX',
      'STORE_SENTINELS',
    ])
      expect(text).toContain(name);
  });

  it('refuse half a Sentinel setting, Sentinel with a URL, and an unreadable password file', () => {
    const result = loadConfig({
      STORE_SENTINELS: 'a:26379',
      STORE_URL: 'redis://x:6379',
      STORE_PASSWORD_FILE: '/no/such/file',
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^STORE_SENTINELS and STORE_SENTINEL_MASTER/),
      expect.stringMatching(/^STORE_URL and STORE_SENTINELS/),
      expect.stringMatching(/^STORE_PASSWORD_FILE: cannot read/),
    ]);
  });

  it('parse durations in s, m, h and d', () => {
    expect([parseDuration('90s'), parseDuration('30m'), parseDuration('24h'), parseDuration('7d')]).toEqual([
      90_000, 1_800_000, 86_400_000, 604_800_000,
    ]);
    expect(parseDuration('1y')).toBeUndefined();
  });
});

describe('TRIGGERS_ENABLED with WORKERS > 1', () => {
  it('is refused with the in-memory store and allowed with Redis, where workers share runs', () => {
    const env = { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: 'a-token-of-sixteen-chars', WORKERS: '2' };
    const memory = loadConfig(env);
    expect(memory.ok ? [] : memory.problems).toEqual([
      expect.stringMatching(/^TRIGGERS_ENABLED: .*Redis store/),
    ]);
    expect(loadConfig({ ...env, STORE_URL: 'redis://127.0.0.1:6379' }).ok).toBe(true);
  });
});
