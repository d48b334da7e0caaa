import { afterEach, describe, expect, it } from 'vitest';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';

describe('start-up warnings', () => {
  afterEach(killSpawned);

  // Regression: REDIS_URL (the name many tools read) was ignored without a word, so replicas given
  // it each kept their own in-memory store and answered differently.
  it('says REDIS_URL is not read, and which store is used', async () => {
    const service = await spawnService({ REDIS_URL: 'redis://127.0.0.1:1' });

    expect(service.lines.filter((line) => line.event === 'config_ignored')).toEqual([
      expect.objectContaining({ level: 'warn', variable: 'REDIS_URL', store: 'memory' }),
    ]);
    // The value is never logged (it may hold a password).
    expect(service.rawLines.some((line) => line.includes('redis://127.0.0.1:1'))).toBe(false);
  });

  // Regression: a misspelt variable was ignored without a word: VIEWER_TOKENS_FILE left reading open.
  it('names a variable like its own that it does not read, and the one probably meant', async () => {
    const service = await spawnService({
      VIEWER_TOKENS_FILE: '/etc/falco-alert-receiver/viewer/tokens',
      STORE_REDIS_SERVICE_HOST: '10.96.0.7',
    });
    expect(service.lines.filter((line) => line.event === 'config_ignored')).toEqual([
      expect.objectContaining({
        level: 'warn',
        variable: 'VIEWER_TOKENS_FILE',
        suggestion: 'VIEWER_TOKEN_FILE',
        msg: 'VIEWER_TOKENS_FILE is not a variable this service reads: did you mean VIEWER_TOKEN_FILE?',
      }),
    ]);
    expect(service.rawLines.some((line) => line.includes('/etc/falco-alert-receiver'))).toBe(false);
  });

  // Regression: an empty VIEWER_TOKEN counted as unset without a word, and reading stayed open.
  it('says a viewer token set empty leaves reading open', async () => {
    const service = await spawnService({ VIEWER_TOKEN: '' });
    expect(service.lines.filter((line) => line.event === 'config_ignored')).toEqual([
      expect.objectContaining({
        level: 'warn',
        variable: 'VIEWER_TOKEN',
        msg: 'VIEWER_TOKEN is set but empty, so it counts as unset: reading stays open to anyone who reaches the port',
      }),
    ]);
  });

  it('says a proxy trusted from every address lets any client read', async () => {
    const service = await spawnService({
      VIEWER_TOKEN: 'viewer-token-0123456789',
      AUTH_PROXY_USER_HEADER: 'X-Forwarded-User',
      AUTH_PROXY_CIDRS: '0.0.0.0/0',
    });
    expect(service.lines.filter((line) => line.event === 'config_open')).toEqual([
      expect.objectContaining({ level: 'warn', variable: 'AUTH_PROXY_CIDRS' }),
    ]);
  });

  it('says a canary schedule is not read while triggers are off', async () => {
    const off = await spawnService({ TRIGGER_CANARY_INTERVAL_MINUTES: '5' });
    expect(off.lines.filter((line) => line.event === 'config_ignored')).toEqual([
      expect.objectContaining({ level: 'warn', variable: 'TRIGGER_CANARY_INTERVAL_MINUTES' }),
    ]);
  });

  it('reads TRIGGERS_ENABLED=1 as on, as every on/off variable is read', async () => {
    const on = await spawnService({ TRIGGERS_ENABLED: '1', TRIGGER_TOKEN: 'a-token-of-16-chars-or-more' });
    expect(on.lines.filter((line) => line.event === 'config_ignored')).toEqual([]);
    const runs = await fetch(`http://127.0.0.1:${on.port}/triggers`, {
      headers: { authorization: 'Bearer a-token-of-16-chars-or-more' },
    });
    expect(runs.status).toBe(200);
  });

  it('says nothing without it', async () => {
    const service = await spawnService({});

    expect(service.lines.filter((line) => line.event === 'config_ignored')).toEqual([]);
  });
});
