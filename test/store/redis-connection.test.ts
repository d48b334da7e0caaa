import { describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import { connectThroughSentinel, sentinelAvailable, startSentinel } from '../helpers/redis-sentinel.js';
import {
  connectTo,
  redisAvailable,
  startRedis,
  type TestRedis,
  untilUp,
  useRedisConnection,
} from '../helpers/redis-server.js';

const hasRedis = redisAvailable();
const hasSentinel = hasRedis && sentinelAvailable();
const NAMES = ['falco-alert-receiver', 'falco-alert-receiver-reader'];
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

describe.skipIf(!hasRedis)('the first attempt of createRedisConnection', () => {
  it('settles once the link is up, or once the first attempt failed', async () => {
    const redis = await startRedis();
    const up = connectTo(redis, 'first-up');
    await up.tried();
    expect(up.isUp()).toBe(true);
    await up.close();
    await redis.stop();

    // Nothing listens there now: refused at once.
    const refused = connectTo(redis, 'first-refused');
    await refused.tried();
    expect(refused.isUp()).toBe(false);
    await refused.close();
  });
});

/** How many connections Redis lists under `name`, once a leftover one has had up to 5 s to go. */
async function connectionsNamed(redis: TestRedis, name: string): Promise<number> {
  const count = async () =>
    (await redis.cli('CLIENT', 'LIST')).split('\n').filter((c) => c.includes(` name=${name} `)).length;
  for (let i = 0; i < 100 && (await count()) > 1; i++) await sleep(50);
  return count();
}

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
    const links = NAMES.map((name) => connectTo(redis, name, timings));
    try {
      await untilUp(...links);
      await redis.kill();
      await Promise.all(links.map((link) => link.send(['PING']).catch(() => undefined)));

      const share = await cpuShare(2_000);
      await redis.restart();
      await untilUp(...links);

      expect(share).toBeLessThan(0.25);
      expect(links.map((link) => link.isUp())).toEqual([true, true]);
      expect(await Promise.all(NAMES.map((name) => connectionsNamed(redis, name)))).toEqual([1, 1]);
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
      expect(await connectionsNamed(redis, 'hung')).toBe(1);
    } finally {
      await link.close();
      await redis.stop();
    }
  });
});

// Regression: close() waited for a handshake in progress to a hung Redis (its 3 s deadline), so a
// shutdown ran that long past SHUTDOWN_TIMEOUT_MS, into the pod's termination grace.
describe.skipIf(!hasRedis)('closing a connection whose handshake hangs', () => {
  it('returns at once, and the handshake that ends later leaves no link behind', async () => {
    const redis = await startRedis();
    const link = connectTo(redis, 'closing', { commandTimeoutMs: 200, minBackoffMs: 20, maxBackoffMs: 40 });
    try {
      await untilUp(link);
      redis.child().kill('SIGSTOP');
      await expect(link.send(['PING'])).rejects.toBeInstanceOf(StoreUnavailableError);
      await sleep(100);

      const started = Date.now();
      await link.close();

      expect(Date.now() - started).toBeLessThan(1_000);
      redis.child().kill('SIGCONT');
      await sleep(500);
      expect(link.isUp()).toBe(false);
      expect(await connectionsNamed(redis, 'closing')).toBe(0);
    } finally {
      redis.child().kill('SIGCONT');
      await redis.stop();
    }
  });
});

/** Waits up to `ms` for every connection to be up (Sentinel first has to see the master again). */
async function untilUpWithin(ms: number, ...connections: RedisConnection[]): Promise<void> {
  const deadline = Date.now() + ms;
  while (!connections.every((connection) => connection.isUp()) && Date.now() < deadline) await sleep(50);
}

describe.skipIf(!hasSentinel)('createRedisConnection through Sentinel', () => {
  // Each link keeps one node-redis Sentinel and connects it again (redis-link.test.ts has the cost).
  it('retries both links while the master is down, and both come back under their names', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel('falco', master.port);
    const timings = { commandTimeoutMs: 2_000, minBackoffMs: 20, maxBackoffMs: 40 };
    const links = NAMES.map((name) => connectThroughSentinel(sentinel, 'falco', name, timings));
    try {
      await untilUpWithin(10_000, ...links);
      await master.kill();
      await Promise.all(links.map((link) => link.send(['PING']).catch(() => undefined)));
      // Long enough for two attempts of each link, each given up at the 3 s deadline.
      await sleep(7_000);
      expect(links.map((link) => link.isUp())).toEqual([false, false]);

      await master.restart();
      await untilUpWithin(15_000, ...links);

      expect(links.map((link) => link.isUp())).toEqual([true, true]);
      expect(await Promise.all(NAMES.map((name) => connectionsNamed(master, name)))).toEqual([1, 1]);
    } finally {
      await Promise.all(links.map((link) => link.close()));
      sentinel.stop();
      await master.stop();
    }
  }, 60_000);

  it('reconnects after a master handshake hangs past its deadline, with one connection', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel('falco', master.port);
    const link = connectThroughSentinel(sentinel, 'falco', 'hung', {
      commandTimeoutMs: 200,
      minBackoffMs: 20,
      maxBackoffMs: 40,
    });
    try {
      await untilUpWithin(10_000, link);
      master.child().kill('SIGSTOP');
      // The PING times out and the link is dropped; the next attempt reaches the master before Sentinel
      // calls it down, and its handshake hangs past the 3 s deadline: the link's destroy ends that
      // handshake, and the attempts after it connect the same Sentinel object again.
      await expect(link.send(['PING'])).rejects.toBeInstanceOf(StoreUnavailableError);
      await sleep(7_500);
      expect(link.isUp()).toBe(false);
      master.child().kill('SIGCONT');
      await untilUpWithin(15_000, link);

      expect(await link.send(['PING'])).toBe('PONG');
      expect(await connectionsNamed(master, 'hung')).toBe(1);
    } finally {
      await link.close();
      sentinel.stop();
      await master.stop();
    }
  }, 60_000);
});
