import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createAlertStore } from '../../src/store/create-alert-store.js';
import { bigText, heapUsedAfterGc } from '../helpers/heap.js';
import { sentinelAvailable, startSentinel, type TestSentinel } from '../helpers/redis-sentinel.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

const haveSentinel = redisAvailable() && sentinelAvailable();
const MIB = 1024 * 1024;

describe.runIf(haveSentinel)('alerts kept until a replica confirms them', () => {
  let master: TestRedis | undefined;
  let sentinel: TestSentinel | undefined;
  afterAll(async () => {
    sentinel?.stop();
    await master?.stop();
  });

  // Regression: with no replica confirming (a master without replicas, or its replica down) the
  // kept alerts were bounded by STORE_PENDING_MAX alone: 10 000 alerts of up to BODY_LIMIT_BYTES,
  // gigabytes of heap beside a queue STORE_MAX_BYTES bounds.
  it('keeps at most STORE_MAX_BYTES of them', async () => {
    master = await startRedis();
    sentinel = await startSentinel('falco', master.port);
    const target = {
      kind: 'sentinel' as const,
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      master: 'falco',
    };
    const parts = createAlertStore({
      config: {
        maxAlerts: 10,
        maxBytes: 4 * MIB,
        redis: { target, keyPrefix: 'kept', retentionMs: 3_600_000, pendingMax: 10_000 },
      },
      dedupWindowMs: 0,
      feed: createAlertFeed(() => undefined),
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
    });
    const { store } = parts;
    for (let i = 0; i < 100 && !store.available(); i++) await new Promise((r) => setTimeout(r, 20));
    const before = heapUsedAfterGc();

    // One alert per round, each left unconfirmed (WAIT finds no replica).
    for (let i = 0; i < 32; i++) {
      store.add(makeStoredAlert({}, { json: bigText(`alert-${i}`), bytes: MIB }));
      await store.flush();
    }
    const kept = heapUsedAfterGc() - before;
    await parts.close();

    expect(await master.cli('XLEN', 'kept:alerts')).toBe('10');
    expect(kept).toBeLessThan(12 * MIB);
  }, 60_000);
});
