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

  it('says nothing without it', async () => {
    const service = await spawnService({});

    expect(service.lines.filter((line) => line.event === 'config_ignored')).toEqual([]);
  });
});
