import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createAlertStore } from '../../src/store/create-alert-store.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

const hasRedis = redisAvailable();

// What both stores do is in test/alerts/alert-store-contract.test.ts; this is Redis's own.
describe.skipIf(!hasRedis)('the Redis alert store', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('drops alerts older than STORE_RETENTION from the stream and from the id index', async () => {
    const parts = createAlertStore({
      config: {
        maxAlerts: 100,
        maxBytes: 1e9,
        redis: {
          target: { kind: 'url', url: redis.url },
          keyPrefix: 'age',
          retentionMs: 1_000,
          pendingMax: 100,
        },
      },
      dedupWindowMs: 0,
      feed: createAlertFeed(() => undefined),
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
    });
    const { store } = parts;
    for (let i = 0; i < 100 && !store.available(); i++) await new Promise((r) => setTimeout(r, 20));
    const old = makeStoredAlert();
    store.add(old);
    await store.flush();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const fresh = makeStoredAlert();
    store.add(fresh);
    await store.flush();

    expect((await store.query({ limit: 10 })).map((e) => e.id)).toEqual([fresh.id]);
    expect(await store.get(old.id)).toBeUndefined();
    expect(await redis.cli('HLEN', 'age:alert-ids')).toBe('1');
    expect(await redis.cli('XLEN', 'age:alerts')).toBe('1');
    await parts.close();
  });
});
