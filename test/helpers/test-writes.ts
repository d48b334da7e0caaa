import pino from 'pino';
import { Registry } from 'prom-client';
import { redisKeys } from '../../src/store/redis-alert-entry.js';
import {
  createRedisAlertWrites,
  type RedisAlertWrites,
  type RedisAlertWritesOptions,
} from '../../src/store/redis-alert-writes.js';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { createStoreMetrics } from '../../src/store/store-metrics.js';

const HOUR_MS = 3_600_000;

/**
 * A receiver's writes to the stream under `prefix` over `writer`, with room for every alert of a test
 * (1,000 kept for an hour, or `retentionMs`) and no dedup window; `options` replace any of these
 * (`confirmReplicated` writes as through Sentinel).
 */
export function createTestWrites(
  writer: RedisConnection,
  prefix: string,
  options: Partial<RedisAlertWritesOptions> = {},
): RedisAlertWrites {
  const retentionMs = options.retentionMs ?? HOUR_MS;
  return createRedisAlertWrites({
    writer,
    keys: redisKeys(prefix),
    metrics: createStoreMetrics(new Registry(), { isUp: () => true, pending: () => 0 }),
    logger: pino({ level: 'silent' }),
    pendingMax: 1000,
    maxBytes: 1e9,
    maxAlerts: 1000,
    retentionMs,
    dedupWindowMs: 0,
    retainedFromMs: async () => Date.now() - retentionMs,
    ...options,
  });
}
