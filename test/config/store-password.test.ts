import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createRedisConnection } from '../../src/store/redis-connection.js';
import { redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';

const PASSWORD = 'redis-password-0123456789';
const passwordFile = () => {
  const file = join(mkdtempSync(join(tmpdir(), 'store-password-')), 'password');
  writeFileSync(file, `${PASSWORD}\n`);
  return file;
};

describe.skipIf(!redisAvailable())('STORE_PASSWORD_FILE with a user in STORE_URL', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
    await redis.cli('CONFIG', 'SET', 'requirepass', PASSWORD);
  });
  afterAll(async () => {
    await redis.kill();
  });

  // Regression: node-redis takes a URL's credentials whole, so with redis://default@host the file's
  // password was dropped: WRONGPASS on every link, /readyz still ready and every alert queued.
  it("signs in as the URL's user with the file's password", async () => {
    const loaded = loadConfig({
      STORE_URL: `redis://default@127.0.0.1:${redis.port}`,
      STORE_PASSWORD_FILE: passwordFile(),
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const connection = createRedisConnection({
      config: loaded.config.store.redis!,
      name: 'store-password-test',
      logger: pino({ level: 'silent' }),
    });
    try {
      await untilUp(connection);
      expect(connection.isUp()).toBe(true);
    } finally {
      await connection.close();
    }
  });

  it('refuses a URL with another password than the file', () => {
    const loaded = loadConfig({
      STORE_URL: `redis://default:other-password@127.0.0.1:${redis.port}`,
      STORE_PASSWORD_FILE: passwordFile(),
    });
    expect(!loaded.ok && loaded.problems).toEqual([
      "STORE_URL and STORE_PASSWORD_FILE: each gives a different password (the URL's would be used): give it in one place",
    ]);
  });
});
