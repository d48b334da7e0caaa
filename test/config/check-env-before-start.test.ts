import { describe, expect, it } from 'vitest';
import { checkEnvBeforeStart } from '../../src/config/check-env-before-start.js';
import { loadConfig } from '../../src/config/load-config.js';

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
});
