import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AlertFeed } from '../alerts/alert-feed.js';
import type { AlertStore } from '../alerts/alert-store.js';
import { createMemoryAlertStore } from '../alerts/memory-alert-store.js';
import type { RedisStoreConfig } from '../config/store-env.js';
import { checkEvictionPolicy } from './check-eviction-policy.js';
import { startAlertReader } from './redis-alert-reader.js';
import { skipUnreadableEntries } from './skip-unreadable-entries.js';
import { createRedisAlertStore } from './redis-alert-store.js';
import { redisKeys } from './redis-alert-entry.js';
import type { SharedRuns } from '../triggers/shared-runs.js';
import { createRedisConnection, DEFAULT_TIMINGS, type ConnectionTimings } from './redis-connection.js';
import { createRedisTriggerRuns } from './redis-trigger-runs.js';
import { createStoreMetrics } from './store-metrics.js';

export interface AlertStoreDeps {
  config: { maxAlerts: number; maxBytes: number; redis?: RedisStoreConfig };
  dedupWindowMs: number;
  feed: AlertFeed;
  registry: Registry;
  logger: Logger;
  timings?: ConnectionTimings;
}

/** The chosen store, and whether its own reader publishes every alert to the feed. */
export interface AlertStoreParts {
  store: AlertStore;
  /** True for Redis: the sink must not publish (the stream reader does, for every replica's alerts). */
  feedsItself: boolean;
  /** Trigger runs shared through the same Redis (absent for the memory store). */
  sharedRuns?: (maxRuns: number) => SharedRuns;
  /**
   * Stops the store; the Redis one first waits up to `flushWithinMs` (default: the command
   * timeout) for its queue to be written, and logs the alerts it never wrote.
   */
  close(flushWithinMs?: number): Promise<void>;
  /**
   * Resolves once each Redis link has tried to connect once (up or failed, within the connect
   * deadline): a replica that listened before could answer alerts it had only queued.
   */
  tried(): Promise<void>;
}

/** The in-memory store (default), or the Redis store with its connections, metrics and live reader. */
export function createAlertStore(deps: AlertStoreDeps): AlertStoreParts {
  const redis = deps.config.redis;
  if (!redis)
    return {
      store: createMemoryAlertStore(deps.config),
      feedsItself: false,
      close: async () => {},
      tried: async () => {},
    };
  const timings = deps.timings ?? DEFAULT_TIMINGS;
  const logger = deps.logger.child({ component: 'store' });
  const connection = createRedisConnection({ config: redis, name: 'falco-alert-receiver', logger, timings });
  const readerConnection = createRedisConnection({
    config: redis,
    name: 'falco-alert-receiver-reader',
    logger,
    timings,
  });
  const sentinel = redis.target.kind === 'sentinel';
  // Writes get a link of their own: on the reads' one, an answer waited behind every list and
  // summary being read (8 lists at once took ingest's median from 2.9 to 20 ms), and through
  // Sentinel a round's WAIT holds its link up to 250 ms, which reads must not wait behind either.
  const writeConnection = createRedisConnection({
    config: redis,
    name: 'falco-alert-receiver-writer',
    logger,
    timings,
  });
  const links = [connection, readerConnection, writeConnection];
  const keys = redisKeys(redis.keyPrefix);
  const closing = new AbortController();
  void checkEvictionPolicy(connection, logger, undefined, closing.signal);
  let pending = () => 0;
  let replicaOnline = () => true;
  const metrics = createStoreMetrics(deps.registry, {
    // Every link: the writing one sends nothing on a replica that gets no alerts, while the reader's
    // blocking read, always waiting, sees a hung Redis within its block time and deadline.
    isUp: () => connection.isUp() && readerConnection.isUp() && writeConnection.isUp(),
    pending: () => pending(),
    replicaOnline: sentinel ? () => replicaOnline() : undefined,
  });
  const unreadable = skipUnreadableEntries(metrics, logger);
  const store = createRedisAlertStore({
    connection,
    keys,
    metrics,
    logger,
    unreadable,
    maxAlerts: deps.config.maxAlerts,
    retentionMs: redis.retentionMs,
    pendingMax: redis.pendingMax,
    maxBytes: deps.config.maxBytes,
    dedupWindowMs: deps.dedupWindowMs,
    confirmReplicated: sentinel,
    writeConnection,
    // The reader tells this replica's live streams, unless it had published the alert.
    onWrittenLost: (write) => reader.writtenLost(write),
  });
  pending = store.pending;
  replicaOnline = store.replicaOnline;
  const reader = startAlertReader({
    connection: readerConnection,
    keys,
    feed: deps.feed,
    metrics,
    logger,
    unreadable,
    commandTimeoutMs: timings.commandTimeoutMs,
    lostWritesResent: sentinel,
  });
  return {
    store,
    feedsItself: true,
    sharedRuns: (maxRuns) =>
      createRedisTriggerRuns({ connection, prefix: keys.triggers, maxRuns, ttlMs: redis.retentionMs }),
    async close(flushWithinMs = timings.commandTimeoutMs) {
      reader.stop();
      unreadable.stop();
      closing.abort();
      // Give queued alerts a last chance to be written before the links close (Redis may be back
      // from a failover meanwhile).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        store.flush(),
        new Promise((resolve) => (timer = setTimeout(resolve, flushWithinMs))),
      ]);
      clearTimeout(timer);
      store.close();
      const unwritten = store.unwritten();
      if (unwritten.length > 0)
        logger.warn(
          {
            event: 'store_unwritten_at_exit',
            count: unwritten.length,
            oldestAlertId: unwritten[0],
            newestAlertId: unwritten.at(-1),
          },
          'stopping with accepted alerts the shared store did not take (each was logged when accepted)',
        );
      // Each link closed once.
      await Promise.all(links.map((link) => link.close()));
    },
    async tried() {
      await Promise.all(links.map((link) => link.tried()));
    },
  };
}
