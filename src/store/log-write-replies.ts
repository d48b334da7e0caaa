import type { Logger } from 'pino';
import type { StoreMetrics } from './store-metrics.js';
import type { WriteReply } from './redis-write-batch.js';

/** At most one `store_full_shed` line per this many milliseconds (the first shed at once). */
export const SHED_LOG_EVERY_MS = 10_000;

/**
 * Counts and logs what a write script did besides writing: duplicates it dropped, stored alerts it
 * shed for room.
 */
export function logWriteReplies(metrics: StoreMetrics, logger: Logger): (reply: WriteReply) => void {
  // Sheds not yet in a log line, and when the last line was written.
  let shedSinceLog = 0;
  let shedLoggedAt = -Infinity;
  return ([duplicates, shed]) => {
    metrics.duplicatesDropped(duplicates.length);
    if (shed === 0) return;
    metrics.shed(shed);
    // Far over maxmemory every write sheds: the first is logged, then a line per SHED_LOG_EVERY_MS
    // with the count since the last (the metric counts each), not hundreds of lines a second.
    shedSinceLog += shed;
    const now = Date.now();
    if (now - shedLoggedAt < SHED_LOG_EVERY_MS) return;
    logger.warn(
      { event: 'store_full_shed', count: shedSinceLog },
      'Redis is at maxmemory: dropped the oldest stored alerts to make room for new ones',
    );
    shedSinceLog = 0;
    shedLoggedAt = now;
  };
}
