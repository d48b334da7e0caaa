import type { Logger } from 'pino';
import type { StoreMetrics } from './store-metrics.js';

/** Counts and logs the alerts the pending queue dropped (STORE_PENDING_MAX, STORE_MAX_BYTES) while Redis is away. */
export interface PendingDrops {
  /** `count` oldest queued alerts were dropped, the oldest of them `id`. */
  dropped(count: number, id: string): void;
  /** Written up: the drops not in a line yet are logged, and the next drop starts a new outage. */
  writtenUp(): void;
  /** Logs the drops not in a line yet (the store closes). */
  flush(): void;
}

export function logPendingDrops(metrics: StoreMetrics, logger: Logger): PendingDrops {
  // Drops not yet in a log line and the oldest of them, and whether this outage's first drop was logged.
  let droppedSinceLog = 0;
  let oldestSinceLog = '';
  let outageLogged = false;
  const log = () => {
    if (droppedSinceLog === 0) return;
    logger.warn(
      { event: 'store_pending_dropped', count: droppedSinceLog, oldestAlertId: oldestSinceLog },
      'STORE_PENDING_MAX or STORE_MAX_BYTES reached: dropped the oldest queued alerts (they were logged when accepted)',
    );
    droppedSinceLog = 0;
  };
  return {
    dropped(count, id) {
      if (count === 0) return;
      metrics.pendingDropped(count);
      if (droppedSinceLog === 0) oldestSinceLog = id;
      droppedSinceLog += count;
      // The first drop of an outage is logged, then one line per 1000, and the rest once the queue
      // is written up (or the store closes): the lines add up to the metric.
      if (!outageLogged || droppedSinceLog >= 1000) {
        log();
        outageLogged = true;
      }
    },
    writtenUp() {
      log();
      outageLogged = false;
    },
    flush: log,
  };
}
