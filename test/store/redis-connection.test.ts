import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import { redisAvailable, useRedisConnection } from '../helpers/redis-server.js';

describe.skipIf(!redisAvailable())('createRedisConnection', () => {
  const { redis, connection } = useRedisConnection();

  it('passes on the error Redis answers with, and keeps the link', async () => {
    expect(connection().isUp()).toBe(true);

    const refused = await connection()
      .send(['NO-SUCH-COMMAND', 'x'])
      .catch((error: unknown) => error);

    expect(refused).not.toBeInstanceOf(StoreUnavailableError);
    expect(String(refused)).toMatch(/unknown command/i);
    expect(connection().isUp()).toBe(true);
    expect(await connection().send(['PING'])).toBe('PONG');
  });

  it('answers StoreUnavailableError once Redis is gone, and drops the link', async () => {
    await redis().stop();

    const failed = await connection()
      .send(['PING'])
      .catch((error: unknown) => error);

    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect(connection().isUp()).toBe(false);
  });
});
