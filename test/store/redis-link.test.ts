import { setImmediate as nextTurn } from 'node:timers/promises';
import type * as Redis from 'redis';
import { describe, expect, it, vi } from 'vitest';
import { createRedisLinkOpener, type RedisLink, type RedisLinkOpener } from '../../src/store/redis-link.js';
import {
  connectThroughSentinel,
  sentinelAvailable,
  sentinelStoreConfig,
  startSentinel,
} from '../helpers/redis-sentinel.js';
import { heapUsedAfterGc } from '../helpers/heap.js';
import { redisAvailable, startRedis } from '../helpers/redis-server.js';

// The real node-redis, counting the Sentinel objects the links make.
const made = vi.hoisted(() => ({ sentinels: 0 }));
vi.mock('redis', async (importOriginal) => {
  const redis = await importOriginal<typeof Redis>();
  const createSentinel: typeof redis.createSentinel = (options) => {
    made.sentinels += 1;
    return redis.createSentinel(options);
  };
  return { ...redis, createSentinel };
});

const hasSentinel = redisAvailable() && sentinelAvailable();
const NAMES = ['falco-alert-receiver', 'falco-alert-receiver-reader'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The CPU time, in ms, of an attempt's first turn: what runs before it first waits for the network,
 * the event loop held all along.
 */
async function firstTurnMs(open: RedisLinkOpener): Promise<{ ms: number; attempt: Promise<unknown> }> {
  const before = process.cpuUsage();
  const attempt = open().then(
    () => 'connected',
    () => 'given up',
  );
  await nextTurn();
  const { user, system } = process.cpuUsage(before);
  return { ms: (user + system) / 1000, attempt };
}

/** A master, its replica and a Sentinel that knows both, so that SENTINEL FAILOVER has one to promote. */
async function startFailoverPair() {
  const master = await startRedis();
  const replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
  const sentinel = await startSentinel('falco', master.port);
  for (let i = 0; i < 100 && !(await sentinel.ask('replicas', 'falco')).includes(String(replica.port)); i++)
    await sleep(100);
  const stop = async () => {
    sentinel.stop();
    await replica.stop();
    await master.stop();
  };
  return { master, replica, sentinel, stop };
}

describe.runIf(hasSentinel)('createRedisLinkOpener through Sentinel', () => {
  // Regression: each attempt made a new node-redis Sentinel, which builds its class of every Redis
  // and module command anew: 40-110 ms of blocked event loop per attempt while the master was down,
  // for each of the store's two links in turn. One Sentinel per link, connected again: 2-3 ms.
  it('attempts against a dead master hold the loop a few ms at most, the two names in turn', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel('falco', master.port);
    const config = sentinelStoreConfig(sentinel, 'falco');
    const openers = NAMES.map((name) => createRedisLinkOpener(config, name, () => undefined));
    try {
      await master.kill();
      // Sentinel calls it down: no attempt gets as far as connecting to it (and hanging there).
      for (let i = 0; i < 100 && !/s_down/.test(await sentinel.ask('master', 'falco')); i++) await sleep(50);
      // The first attempt of each name loads node-redis and builds what any first connect needs.
      await Promise.all(openers.map((open) => open().catch(() => undefined)));

      const turns: number[] = [];
      for (const open of openers) {
        // The attempt given up on has ended (its teardown waits for node-redis's 1 s retry loop).
        await sleep(1_200);
        const { ms, attempt } = await firstTurnMs(open);
        turns.push(ms);
        expect(await attempt).toBe('given up');
      }

      expect(
        Math.max(...turns),
        `first turns: ${turns.map((ms) => ms.toFixed(1)).join(', ')} ms`,
      ).toBeLessThan(10);
    } finally {
      sentinel.stop();
      await master.stop();
    }
  }, 60_000);

  // Regression: a master that stopped before Sentinel called it down held each Sentinel's destroy
  // (node-redis waited for its handshake), so every attempt after the first made a new object and
  // left the old one retrying: 4 objects, 6 MB of heap and 18 sockets more in 30 s for two links.
  it('keeps one Sentinel object per name while a stopped master is still its master, and comes back', async () => {
    const master = await startRedis();
    // Sentinel's default is 30 s: all along the outage it names the stopped master.
    const sentinel = await startSentinel('falco', master.port, { downAfterMs: 60_000 });
    const timings = { commandTimeoutMs: 500, minBackoffMs: 100, maxBackoffMs: 1_000 };
    const links = NAMES.map((name) => connectThroughSentinel(sentinel, 'falco', name, timings));
    const allUp = async (ms: number) => {
      for (let i = 0; i < ms / 50 && !links.every((link) => link.isUp()); i++) await sleep(50);
      return links.map((link) => link.isUp());
    };
    try {
      expect(await allUp(10_000)).toEqual([true, true]);
      const before = made.sentinels;
      master.child().kill('SIGSTOP');
      await Promise.all(links.map((link) => link.send(['PING']).catch(() => undefined)));
      // Three or more attempts of each link, each given up at its 3 s deadline.
      await sleep(15_000);
      const during = made.sentinels - before;
      master.child().kill('SIGCONT');

      expect(during).toBe(0);
      expect(await allUp(15_000)).toEqual([true, true]);
      expect(await Promise.all(links.map((link) => link.send(['PING'])))).toEqual(['PONG', 'PONG']);
    } finally {
      await Promise.all(links.map((link) => link.close()));
      sentinel.stop();
      await master.stop();
    }
  }, 60_000);

  // Regression: node-redis retries a master command that failed on a client no longer ready, and a
  // destroyed Sentinel has no master client left, so a command in flight when its link was replaced
  // (every failover: node-redis moves, the link ends) failed with node-redis's own "TypeError: Cannot
  // read properties of undefined (reading 'isReady')", which store_write_failed then printed as why
  // the write failed.
  it('fails a command in flight when its link is destroyed as the link ending, not as a TypeError', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel('falco', master.port);
    const open = createRedisLinkOpener(sentinelStoreConfig(sentinel, 'falco'), NAMES[0]!, () => undefined);
    try {
      const link = await open();
      const blocked = link.send(['BLPOP', 'nothing', '5']).catch((error: unknown) => error);
      // The command on the wire, its client waiting for the reply.
      for (let i = 0; i < 100 && !(await master.cli('CLIENT', 'LIST')).includes('cmd=blpop'); i++)
        await sleep(20);
      await link.destroy();

      const error = await blocked;
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe('redis link destroyed');
    } finally {
      sentinel.stop();
      await master.stop();
    }
  }, 30_000);

  // Regression: each command raced its reply with one promise per link, rejected when the link
  // ends; a link lives for days, and every race left a reaction on that promise until then (about
  // 150 bytes a command: 100,000 alerts' writes held some 15 MB, growing without bound).
  it('holds nothing per command answered while its link lives', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel('falco', master.port);
    const open = createRedisLinkOpener(sentinelStoreConfig(sentinel, 'falco'), NAMES[0]!, () => undefined);
    let link: RedisLink | undefined;
    const pings = async (count: number) => {
      for (let sent = 0; sent < count; sent += 1_000)
        await Promise.all(Array.from({ length: 1_000 }, () => link!.send(['PING'])));
    };
    try {
      link = await open();
      await pings(10_000);
      const before = heapUsedAfterGc();
      await pings(100_000);
      const grown = heapUsedAfterGc() - before;

      expect(grown, `${(grown / 1e6).toFixed(1)} MB more after 100,000 commands`).toBeLessThan(3e6);
    } finally {
      await link?.destroy();
      sentinel.stop();
      await master.stop();
    }
  }, 60_000);

  // Regression: at a failover node-redis holds a command whose client it closed until its own
  // rediscovery has ended (a second or more), though the link ended at once: every read in flight
  // then answered 503 only at the link's 2 s deadline, and the write in flight held its queue as long.
  it('fails a command in flight when Sentinel names another master at once, not at its deadline', async () => {
    const { sentinel, stop } = await startFailoverPair();
    let movedAt: number | undefined;
    const open = createRedisLinkOpener(sentinelStoreConfig(sentinel, 'falco'), NAMES[0]!, (error) => {
      if (/master moved/.test(String(error))) movedAt ??= performance.now();
    });
    let link: RedisLink | undefined;
    try {
      link = await open();
      const blocked = link.send(['BLPOP', 'nothing', '10']).then(
        () => ({ outcome: 'answered', at: performance.now() }),
        (error: unknown) => ({ outcome: String(error), at: performance.now() }),
      );
      await sentinel.ask('failover', 'falco');

      const { outcome, at } = await blocked;
      expect(outcome).toBe('Error: redis link destroyed');
      expect(movedAt).toBeDefined();
      expect(at - movedAt!).toBeLessThan(200);
    } finally {
      await link?.destroy();
      await stop();
    }
  }, 60_000);

  // Regression: at a graceful failover (the old master still up) node-redis moved to the promoted
  // replica by itself and said so only in an event nobody heard: the link went on, its writes before
  // the move on the old master, its WAITs after it on the new one, which confirmed the writes of
  // another server (and the old master, demoted, dropped them).
  it('ends a link when Sentinel names another master, and the next link is to that master', async () => {
    const { master, replica, sentinel, stop } = await startFailoverPair();
    const config = sentinelStoreConfig(sentinel, 'falco');
    const errors: string[] = [];
    const open = createRedisLinkOpener(config, NAMES[0]!, (error) => errors.push(String(error)));
    const port = async (link: RedisLink) =>
      /tcp_port:(\d+)/.exec(String(await link.send(['INFO', 'server'])))?.[1];
    let link: RedisLink | undefined;
    try {
      link = await open();
      expect(await port(link)).toBe(String(master.port));

      // In flight at the move: answered by no other master than the link's.
      const blocked = link.send(['BLPOP', 'nothing', '3']).then(
        () => 'answered',
        () => 'failed',
      );
      await sentinel.ask('failover', 'falco');
      for (let i = 0; i < 200 && !errors.some((error) => /master moved/.test(error)); i++) await sleep(50);

      expect(errors.filter((error) => /master moved/.test(error))).toEqual([
        `Error: the Redis master moved to 127.0.0.1:${replica.port}`,
      ]);
      await expect(link.send(['PING'])).rejects.toThrow('redis link destroyed');
      expect(await blocked).toBe('failed');
      link = await open();
      expect(await port(link)).toBe(String(replica.port));
    } finally {
      await link?.destroy();
      await stop();
    }
  }, 60_000);
});
