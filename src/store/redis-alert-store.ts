import type { Logger } from 'pino';
import type { AlertStore } from '../alerts/alert-store.js';
import type { RedisKeys } from './redis-alert-entry.js';
import { createRedisAlertReads } from './redis-alert-reads.js';
import { createRedisAlertWrites, type RedisAlertWrites } from './redis-alert-writes.js';
import type { RedisConnection } from './redis-connection.js';
import { createRedisClock, type RedisClock } from './redis-clock.js';
import type { WrittenAlert } from './settled-writes.js';
import type { StoreMetrics } from './store-metrics.js';
import type { UnreadableEntries } from './skip-unreadable-entries.js';

export interface RedisAlertStoreOptions {
  connection: RedisConnection;
  keys: RedisKeys;
  metrics: StoreMetrics;
  logger: Logger;
  /** Skips the entries reads cannot decode (one per process, shared with the live reader). */
  unreadable: UnreadableEntries;
  maxAlerts: number;
  retentionMs: number;
  pendingMax: number;
  /**
   * STORE_MAX_BYTES: the most received bytes one read keeps (a list, a replay) and the pending
   * queue holds, as the memory store holds at most that much.
   */
  maxBytes: number;
  /** DEDUP_WINDOW_MS: > 0 drops an alert another replica stored inside the window. */
  dedupWindowMs: number;
  /** Through Sentinel: alerts are kept until every replica online holds them, and written again after a failover. */
  confirmReplicated?: boolean;
  /**
   * The link writes go through, when not `connection` (create-alert-store.ts always gives one):
   * answers to ingest must not queue behind reads, nor reads behind a `confirmReplicated` round's
   * WAIT, which holds its link up to 250 ms.
   */
  writeConnection?: RedisConnection;
  /** Called with an alert written before the write link dropped that Redis lost since (settled-writes.ts). */
  onWrittenLost?: (write: WrittenAlert) => void;
}

/** The store a `RedisAlertStore` is, plus what the owner needs to wait for and stop it. */
export type RedisAlertStore = AlertStore & RedisAlertWrites;

/**
 * Alerts in one Redis Stream shared by every replica. `add` never waits: alerts are queued and
 * written in order, retried while Redis is down or hung (redis-alert-writes.ts), through
 * `writeConnection`; reads go through `connection` (redis-alert-reads.ts).
 */
export function createRedisAlertStore(options: RedisAlertStoreOptions): RedisAlertStore {
  const { connection: conn } = options;
  const writer = options.writeConnection ?? conn;
  // Writes trim what is older than STORE_RETENTION; reads skip it too, so an alert leaves every
  // answer on time even when no alert has been written since. On Redis's clock, as the write
  // script's trim and the stream ids: a replica whose node's clock ran two hours ahead (1h
  // retention) listed nothing, and one behind listed what every other replica left out.
  // Each link asks its own node: the writer's checks after a relink (settled-writes.ts) waited on
  // a hung reads' link, maybe still on the old master after a failover.
  const retainedFromMs = (clock: RedisClock) => async () =>
    Math.max(0, (await clock.nowMs()) - options.retentionMs);
  const writes = createRedisAlertWrites({
    ...options,
    writer,
    retainedFromMs: retainedFromMs(createRedisClock(writer)),
  });
  const clock = createRedisClock(conn);
  const reads = createRedisAlertReads({ ...options, clock, retainedFromMs: retainedFromMs(clock) });
  return {
    ...reads,
    ...writes,
    available: () => conn.isUp() && writer.isUp(),
  };
}
