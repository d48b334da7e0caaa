import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import {
  connectTo,
  redisAvailable,
  startRedis,
  untilUp,
  useRedisConnection,
} from '../helpers/redis-server.js';

const hasRedis = redisAvailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasRedis)('createRedisConnection', () => {
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

/** The share of `ms` this process spent on the CPU (the event loop's thread, mostly). */
async function cpuShare(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const started = performance.now();
  await sleep(ms);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000 / (performance.now() - started);
}

describe.skipIf(!hasRedis)('createRedisConnection while Redis refuses connections', () => {
  // Regression: each attempt built a new node-redis client, and the library keeps the client class
  // of one set of options only, so the store's two links (two names) rebuilt it in turn: 40-80 ms
  // of blocked event loop per attempt (80% of an outage with this backoff), ingest waiting behind.
  it('retries both links at a small CPU cost, and both come back under their names', async () => {
    const redis = await startRedis();
    // Short backoff: many attempts in the outage.
    const timings = { commandTimeoutMs: 2_000, minBackoffMs: 20, maxBackoffMs: 40 };
    const links = ['falco-alert-receiver', 'falco-alert-receiver-reader'].map((name) =>
      connectTo(redis, name, timings),
    );
    try {
      await untilUp(...links);
      await redis.kill();
      await Promise.all(links.map((link) => link.send(['PING']).catch(() => undefined)));

      const share = await cpuShare(2_000);
      await redis.restart();
      await untilUp(...links);

      expect(share).toBeLessThan(0.25);
      expect(links.map((link) => link.isUp())).toEqual([true, true]);
      const clients = await redis.cli('CLIENT', 'LIST');
      expect(clients).toMatch(/ name=falco-alert-receiver /);
      expect(clients).toMatch(/ name=falco-alert-receiver-reader /);
    } finally {
      await Promise.all(links.map((link) => link.close()));
      await redis.stop();
    }
  });

  it('reconnects after a hang that outlasts the handshake deadline, with one connection', async () => {
    const redis = await startRedis();
    const link = connectTo(redis, 'hung', { commandTimeoutMs: 200, minBackoffMs: 20, maxBackoffMs: 40 });
    try {
      await untilUp(link);
      redis.child().kill('SIGSTOP');
      // The PING times out: the link is dropped, and the next handshake hangs past its 3 s deadline.
      await expect(link.send(['PING'])).rejects.toBeInstanceOf(StoreUnavailableError);
      await sleep(4_000);
      expect(link.isUp()).toBe(false);
      redis.child().kill('SIGCONT');
      await untilUp(link);

      expect(await link.send(['PING'])).toBe('PONG');
      const named = async () =>
        (await redis.cli('CLIENT', 'LIST')).split('\n').filter((c) => / name=hung /.test(c));
      for (let i = 0; i < 50 && (await named()).length > 1; i++) await sleep(20);
      expect(await named()).toHaveLength(1);
    } finally {
      await link.close();
      await redis.stop();
    }
  });
});
