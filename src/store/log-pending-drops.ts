import type { Logger } from 'pino';
import type { StoreMetrics } from './store-metrics.js';

/** Counts and logs the alerts the pending queue dropped (STORE_PENDING_MAX) while Redis is away. */
export interface PendingDrops {
  /** `count` oldest queued alerts were dropped, the oldest of them `id`. */
  dropped(count: number, id: string): void;
  /** Written up: the next drop starts a new outage. */
  writtenUp(): void;
}

export function logPendingDrops(metrics: StoreMetrics, logger: Logger): PendingDrops {
  // Drops not yet in a log line, and whether this outage's first drop was logged.
  let droppedSinceLog = 0;
  let outageLogged = false;
  return {
    dropped(count, id) {
      if (count === 0) return;
      metrics.pendingDropped(count);
      // The first drop of an outage is logged, then one line per 1000 (the metric counts each).
      if (!outageLogged || droppedSinceLog + count >= 1000) {
        logger.warn(
          { event: 'store_pending_dropped', count: droppedSinceLog + count, oldestAlertId: id },
          'STORE_PENDING_MAX reached: dropped the oldest queued alerts (they were logged when accepted)',
        );
        droppedSinceLog = 0;
        outageLogged = true;
      } else droppedSinceLog += count;
    },
    writtenUp() {
      outageLogged = false;
    },
  };
}
