import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createRedisLinkOpener, type RedisLinkOpener } from '../../src/store/redis-link.js';
import { sentinelAvailable, startSentinel } from '../helpers/redis-sentinel.js';
import { redisAvailable, startRedis } from '../helpers/redis-server.js';

const hasSentinel = redisAvailable() && sentinelAvailable();
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

describe.runIf(hasSentinel)('createRedisLinkOpener through Sentinel', () => {
  // Regression: each attempt made a new node-redis Sentinel, which builds its class of every Redis
  // and module command anew: 40-110 ms of blocked event loop per attempt while the master was down,
  // for each of the store's two links in turn. One Sentinel per link, connected again: 2-3 ms.
  it('attempts against a dead master hold the loop a few ms at most, the two names in turn', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel('falco', master.port);
    const config = {
      target: {
        kind: 'sentinel' as const,
        sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
        master: 'falco',
      },
      keyPrefix: 'x',
      retentionMs: 60_000,
      pendingMax: 10,
    };
    const openers = ['falco-alert-receiver', 'falco-alert-receiver-reader'].map((name) =>
      createRedisLinkOpener(config, name, () => undefined),
    );
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
});
