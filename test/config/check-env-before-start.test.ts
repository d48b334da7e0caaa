import { describe, expect, it } from 'vitest';
import { checkEnvBeforeStart } from '../../src/config/check-env-before-start.js';
import { loadConfig } from '../../src/config/load-config.js';

const TOKEN = 'a-token-to-start-runs-0123';
const CLASH = {
  viewer:
    'TRIGGER_TOKEN: must differ from every viewer token (VIEWER_TOKEN, VIEWER_TOKEN_FILE): it also starts trigger runs, so every reader could',
  metrics:
    'TRIGGER_TOKEN: must differ from every /metrics token (METRICS_TOKEN, METRICS_TOKEN_FILE): it also starts trigger runs, so whatever scrapes could',
};

describe('checkEnvBeforeStart', () => {
  // One piece of code says both: npm run deploy quotes the receiver word for word.
  it.each([
    { STORE_USERNAME: 'falco', STORE_SENTINEL_USERNAME: 'watch' },
    { STORE_URL: 'redis://redis:6379', STORE_SENTINELS: 'sentinel-0:26379' },
    { TRIGGERS_ENABLED: 'true', WORKERS: '2', VIEWER_TOKEN: 'a-viewer-token-0123456789' },
    { TLS_PORT: '8080', INGEST_REQUIRE_CLIENT_CERT: '1', SERVER_HEADERS_TIMEOUT_MS: '60000' },
    { AUTH_PROXY_CIDRS: '10.0.0.0/8, nowhere', ADMIN_PORT: '8080', LOG_LEVEL: 'loud' },
    { STORE_SENTINELS: 'no-port', STORE_SENTINEL_USERNAME: 'watch', INGEST_MAX_INFLIGHT_BYTES: '9' },
  ])('says what loadConfig says of %j, where no file is read', (env) => {
    const loaded = loadConfig(env);

    expect(checkEnvBeforeStart(env)).toEqual(loaded.ok ? [] : loaded.problems);
  });

  it('takes an undefined value as set, to any value, and leaves to the start what that could clear', () => {
    expect(
      checkEnvBeforeStart({ STORE_SENTINELS: 'sentinel-0:26379', STORE_SENTINEL_MASTER: undefined }),
    ).toEqual([]);
    expect(
      checkEnvBeforeStart({ TRIGGER_TOKEN: undefined, TRIGGER_TOKEN_FILE: '/token', TRIGGERS_ENABLED: '1' }),
    ).toEqual(['TRIGGER_TOKEN and TRIGGER_TOKEN_FILE: set only one']);
    expect(checkEnvBeforeStart({ STORE_SENTINELS: 'sentinel-0:26379' }, { othersMayBeSet: true })).toEqual(
      [],
    );
  });

  // Regression: npm run deploy passed a TRIGGER_TOKEN equal to VIEWER_TOKEN or METRICS_TOKEN, which
  // the receiver refuses at start (exit 2): the rule was loadConfig's alone (found in a read-through).
  it('refuses a trigger token that is also a viewer or /metrics token, as loadConfig does', () => {
    const env = {
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      VIEWER_TOKEN: TOKEN,
      METRICS_TOKEN: `${TOKEN}\n`,
    };

    const problems = checkEnvBeforeStart(env);

    expect(problems).toEqual([CLASH.viewer, CLASH.metrics]);
    expect(loadConfig(env)).toEqual({ ok: false, problems });
  });

  it('claims no clash with a token it cannot see', () => {
    const triggers = { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN };
    // TRIGGER_TOKEN from a Secret, or a file not read before the start.
    expect(checkEnvBeforeStart({ ...triggers, TRIGGER_TOKEN: undefined, VIEWER_TOKEN: TOKEN })).toEqual([]);
    expect(
      checkEnvBeforeStart({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN_FILE: '/token', METRICS_TOKEN: TOKEN }),
    ).toEqual([]);
    expect(checkEnvBeforeStart({ ...triggers, VIEWER_TOKEN_FILE: '/tokens' })).toEqual([]);
    // Triggers may be off, and with them the trigger token.
    expect(checkEnvBeforeStart({ ...triggers, TRIGGERS_ENABLED: undefined, VIEWER_TOKEN: TOKEN })).toEqual(
      [],
    );
    // A Secret's keys taken whole may set VIEWER_TOKEN_FILE too, and then neither list is read.
    expect(checkEnvBeforeStart({ ...triggers, VIEWER_TOKEN: TOKEN }, { othersMayBeSet: true })).toEqual([]);
    expect(
      checkEnvBeforeStart({ ...triggers, VIEWER_TOKEN: TOKEN }, { mayBeSet: new Set(['VIEWER_TOKEN_FILE']) }),
    ).toEqual([]);
    // Set beside its file, TRIGGER_TOKEN is the token all the same (and both are refused).
    expect(checkEnvBeforeStart({ ...triggers, TRIGGER_TOKEN_FILE: undefined, VIEWER_TOKEN: TOKEN })).toEqual([
      'TRIGGER_TOKEN and TRIGGER_TOKEN_FILE: set only one',
      CLASH.viewer,
    ]);
  });

  // Regression: npm run deploy said a variable's problems on one line ('TRIGGER_TOKEN: must be at
  // least 16 characters; must be one word ...'), where the receiver says each on its own.
  it('says each problem of one variable on its own line, as loadConfig does', () => {
    const env = { TRIGGER_TOKEN: 'a b', TRIGGER_ALLOWED_IMAGES: '--privileged,busybox:1.36,a b' };

    const problems = checkEnvBeforeStart(env);

    expect(problems).toEqual([
      'TRIGGER_TOKEN: must be at least 16 characters',
      'TRIGGER_TOKEN: must be one word (no spaces inside): it is sent as Authorization: Bearer <token>',
      'TRIGGER_ALLOWED_IMAGES: "--privileged" is not an image reference',
      'TRIGGER_ALLOWED_IMAGES: "a b" is not an image reference',
    ]);
    expect(loadConfig(env)).toEqual({ ok: false, problems });
  });
});
